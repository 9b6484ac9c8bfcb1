/**
 * Flow sidecars written by greentic-flow / greentic-pack next to a `.ygtc` file:
 * `<flow>.ygtc.resolve.json` (`greentic.flow.resolve.v1`: where each node's component comes from) and
 * `<flow>.ygtc.resolve.summary.json` (`greentic.flow.resolve-summary.v1`: the resolved component id
 * and digest per node).
 */
import { z } from 'zod';
import type { Diagnostic } from './errors.js';
import { dottedPath, escapePointerSegment } from './errors.js';

const digest = z.string().min(1);

export const componentSourceSchema = z.discriminatedUnion('kind', [
  z.looseObject({ kind: z.literal('local'), path: z.string().min(1), digest: digest.optional() }),
  z.looseObject({ kind: z.literal('oci'), ref: z.string().min(1), digest: digest.optional() }),
  z.looseObject({ kind: z.literal('repo'), ref: z.string().min(1), digest: digest.optional() }),
  z.looseObject({
    kind: z.literal('store'),
    ref: z.string().min(1),
    digest: digest.optional(),
    license_hint: z.string().optional(),
    meter: z.unknown().optional(),
  }),
  z.looseObject({ kind: z.literal('ext'), ref: z.string().min(1), digest: digest.optional() }),
]);
export type ComponentSource = z.infer<typeof componentSourceSchema>;

export const resolveSidecarSchema = z.looseObject({
  schema_version: z.literal(1),
  flow: z.string(),
  nodes: z.record(
    z.string(),
    z.looseObject({
      source: componentSourceSchema,
      mode: z.enum(['tracked', 'pinned']).optional(),
    }),
  ),
});
export type ResolveSidecar = z.infer<typeof resolveSidecarSchema>;

export const summarySourceSchema = z.discriminatedUnion('kind', [
  z.looseObject({ kind: z.literal('local'), path: z.string().min(1) }),
  z.looseObject({ kind: z.literal('oci'), ref: z.string().min(1) }),
  z.looseObject({ kind: z.literal('repo'), ref: z.string().min(1) }),
  z.looseObject({ kind: z.literal('store'), ref: z.string().min(1) }),
  z.looseObject({ kind: z.literal('ext'), ref: z.string().min(1) }),
]);

export const resolveSummarySchema = z.looseObject({
  schema_version: z.literal(1),
  flow: z.string(),
  nodes: z.record(
    z.string(),
    z.looseObject({
      component_id: z.string().regex(/^[A-Za-z0-9._-]+$/, 'component_id may only contain ASCII letters, digits, ".", "_" and "-"'),
      source: summarySourceSchema,
      digest: z.string().regex(/^sha256:[0-9a-fA-F]{64}$/, 'digest must be sha256:<64 hex digits>'),
      manifest: z.looseObject({ world: z.string(), version: z.string() }).optional(),
    }),
  ),
});
export type ResolveSummary = z.infer<typeof resolveSummarySchema>;
export type NodeResolveSummary = ResolveSummary['nodes'][string];

export interface SidecarResult<T> {
  value?: T;
  diagnostics: Diagnostic[];
}

function parseSidecar<T>(text: string, file: string, schema: z.ZodType<T>): SidecarResult<T> {
  const at = (pointer: string, message: string): Diagnostic => ({
    code: 'Sidecar',
    severity: 'error',
    message,
    file,
    line: 1,
    col: 1,
    pointer,
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { diagnostics: [at('', `not valid JSON: ${(e as Error).message}`)] };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { value: parsed.data, diagnostics: [] };
  return {
    diagnostics: parsed.error.issues.map((issue) => {
      const pointer = issue.path.map((s) => `/${escapePointerSegment(String(s))}`).join('');
      return at(pointer, `${dottedPath(pointer)}: ${issue.message}`);
    }),
  };
}

export function parseResolveSidecar(text: string, file: string): SidecarResult<ResolveSidecar> {
  return parseSidecar(text, file, resolveSidecarSchema);
}

export function parseResolveSummary(text: string, file: string): SidecarResult<ResolveSummary> {
  return parseSidecar(text, file, resolveSummarySchema);
}

export function resolveSidecarPath(flowPath: string): string {
  return `${flowPath}.resolve.json`;
}

export function resolveSummaryPath(flowPath: string): string {
  return `${flowPath}.resolve.summary.json`;
}
