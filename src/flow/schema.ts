/**
 * zod schemas for the parts of a `.ygtc` document (greentic-flow `schemas/ygtc.flow.schema.json`,
 * schema_version 2) and for the MCP node payload. The node map itself is checked by hand in the
 * loader because its keys are pattern-based (reserved keys + exactly one operation key).
 */
import { z } from 'zod';
import type { Diagnostic } from './errors.js';
import { dottedPath, escapePointerSegment } from './errors.js';
import type { SourceMap } from './yaml-source.js';

const jsonObject = z.record(z.string(), z.unknown());

export const topLevelSchema = z.looseObject({
  id: z.string().min(1).optional(),
  title: z.string().optional(),
  description: z.string().optional(),
  tags: z.array(z.string()).optional(),
  type: z.string().optional(),
  start: z.string().optional(),
  parameters: jsonObject.optional(),
  meta: jsonObject.optional(),
  entrypoints: jsonObject.optional(),
  schema_version: z.int().min(1).optional(),
  slot_schema: z.array(z.unknown()).optional(),
});

export const SLOT_TYPES = ['string', 'enum', 'number', 'date', 'boolean'] as const;

export const slotDefinitionSchema = z
  .strictObject({
    name: z.string().min(1),
    slot_type: z.enum(SLOT_TYPES),
    pattern: z.string().optional(),
    required: z.boolean().optional(),
    enum_values: z.array(z.string()).optional(),
    default_value: z.string().optional(),
  })
  .superRefine((slot, ctx) => {
    if (slot.slot_type === 'string' && !slot.pattern) {
      ctx.addIssue({ code: 'custom', path: ['pattern'], message: 'string slots need a non-empty pattern' });
    }
    if (slot.slot_type === 'enum' && (!slot.enum_values || slot.enum_values.length === 0)) {
      ctx.addIssue({ code: 'custom', path: ['enum_values'], message: 'enum slots need at least one enum_values entry' });
    }
  });
export type SlotDefinition = z.infer<typeof slotDefinitionSchema>;

/** Keys a route object may carry (`on_message` is upstream's newest addition, a conditional route). */
export const ROUTE_KEYS = ['to', 'out', 'status', 'reply', 'condition', 'on_message'] as const;

export const routeSchema = z.strictObject({
  to: z.string().optional(),
  out: z.boolean().optional(),
  status: z.string().optional(),
  reply: z.boolean().optional(),
  condition: z.string().optional(),
  on_message: z.boolean().optional(),
});
export type RouteDoc = z.infer<typeof routeSchema>;

/** Lenient route decoding (schema_version 1 skips the schema; unknown keys are ignored like serde does). */
export const legacyRouteSchema = z.looseObject(routeSchema.shape);

export const telemetrySchema = z.strictObject({
  span_name: z.string().optional(),
  attributes: z.record(z.string(), z.string()).optional(),
  sampling: z.string().optional(),
});

/** Reserved node keys whose value the JSON Schema constrains to an object. */
export const OBJECT_NODE_KEYS = ['output', 'retry', 'timeout', 'when', 'annotations', 'meta'] as const;
export const objectSchema = jsonObject;

/** `operation` is upstream mcp-adapter's: `call` (the default) a tool, or `list` the server's tools (no `tool`). */
export const mcpPayloadSchema = z
  .looseObject({
    server: z.string().min(1),
    tool: z.string().min(1).optional(),
    operation: z.enum(['call', 'list']).optional(),
    arguments: jsonObject.optional(),
    output: z.string().optional(),
  })
  .superRefine((v, ctx) => {
    if (v.tool === undefined && v.operation !== 'list')
      ctx.addIssue({ code: 'invalid_type', expected: 'string', input: undefined, path: ['tool'] });
  });

/** One diagnostic per zod issue, located at the offending node (or the key, for unknown keys). */
export function issuesToDiagnostics(
  issues: readonly z.core.$ZodIssue[],
  basePointer: string,
  map: SourceMap,
  code: string,
  describe: (issue: z.core.$ZodIssue, path: string) => string = defaultIssueMessage,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const issue of issues) {
    const pointer = basePointer + issue.path.map((s) => `/${escapePointerSegment(String(s))}`).join('');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const keyPointer = `${pointer}/${escapePointerSegment(key)}`;
        out.push({
          code,
          severity: 'error',
          message: `${dottedPath(pointer)} has unknown key "${key}"`,
          file: map.file,
          ...map.locate(keyPointer, 'key'),
          pointer: keyPointer,
        });
      }
      continue;
    }
    out.push({
      code,
      severity: 'error',
      message: describe(issue, dottedPath(pointer)),
      file: map.file,
      ...map.locate(pointer),
      pointer,
    });
  }
  return out;
}

function defaultIssueMessage(issue: z.core.$ZodIssue, path: string): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? `${path} is required` : `${path} must be ${article(issue.expected)}`;
    case 'too_small':
      return issue.origin === 'string' ? `${path} must not be empty` : `${path}: ${issue.message}`;
    case 'invalid_value':
      return `${path} must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return `${path}: ${issue.message}`;
  }
}

function article(expected: string): string {
  if (expected === 'int') return 'an integer';
  if (expected === 'record') return 'a mapping';
  if (expected === 'object') return 'a mapping';
  if (expected === 'array') return 'a list';
  return `a ${expected}`;
}
