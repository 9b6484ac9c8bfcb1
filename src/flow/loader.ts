/**
 * `.ygtc` text → validated `FlowDoc` (greentic-flow `loader.rs` plus the checks its compiler makes),
 * reporting every problem of the file with its position instead of stopping at the first one.
 */
import { isObject } from '../core/is-object.js';
import { compileRouting } from './compile-routing.js';
import { DiagnosticSink } from './diagnostic-sink.js';
import type { Diagnostic } from './errors.js';
import { dottedPath, escapePointerSegment, hasErrors } from './errors.js';
import { COMPONENT_EXEC, isGreenticId, isNodeId, isOpKey, MCP_OP, mapFlowType, RESERVED_NODE_KEYS } from './identifiers.js';
import type { JsonObject, JsonValue } from './model.js';
import {
  issuesToDiagnostics,
  mcpPayloadSchema,
  OBJECT_NODE_KEYS,
  objectSchema,
  slotDefinitionSchema,
  telemetrySchema,
  topLevelSchema,
} from './schema.js';
import { checkSlotSchema } from './slot-schema.js';
import { webhookParametersSchema } from './webhook-parameters.js';
import { parseYamlSource, type SourceMap, type YamlLimits } from './yaml-source.js';

export interface NodeDoc {
  id: string;
  /** Every key of the node as authored, in order (operation key, payload, routing, mappings…). */
  raw: JsonObject;
}

export interface FlowDoc {
  /** Label used in diagnostics (a path, or `<inline>`). */
  file: string;
  id: string;
  type: string;
  title?: string;
  description?: string;
  tags: string[];
  /** Entry node; the loader fills in `in` when absent and such a node exists. */
  start?: string;
  parameters: JsonObject;
  /** 1 = legacy (no one-op-key rule, no schema), 2 = current (the default). */
  schema_version: number;
  entrypoints: Record<string, JsonValue>;
  meta?: JsonObject;
  slot_schema?: JsonValue[];
  /** Document order is significant: the first node is the fallback entry. */
  nodes: Record<string, NodeDoc>;
  sourceMap?: SourceMap;
}

export interface LoadOptions {
  file?: string;
  limits?: YamlLimits;
}

export interface LoadResult {
  /** Present only when the document has no error (warnings allowed). */
  doc?: FlowDoc;
  diagnostics: Diagnostic[];
}

export const INLINE_SOURCE = '<inline>';

export function loadFlow(source: string, opts: LoadOptions = {}): LoadResult {
  const file = opts.file ?? INLINE_SOURCE;
  const parsed = parseYamlSource(source, file, opts.limits);
  if (parsed.value === undefined || hasErrors(parsed.diagnostics)) return { diagnostics: parsed.diagnostics };
  return validateFlowValue(parsed.value, file, parsed.map);
}

/** Validates an already-parsed document (the JSON value of a `.ygtc` file). */
export function validateFlowValue(root: JsonValue, file: string, map: SourceMap): LoadResult {
  const sink = new DiagnosticSink(file, map);
  if (!isObject(root)) {
    sink.error('Schema', '', 'a flow document must be a mapping with id, type and nodes');
    return { diagnostics: sink.diagnostics };
  }

  const schemaVersion = typeof root.schema_version === 'number' && Number.isInteger(root.schema_version) ? root.schema_version : 2;
  const legacy = schemaVersion < 2;

  const top = topLevelSchema.safeParse(root);
  if (!top.success) sink.diagnostics.push(...issuesToDiagnostics(top.error.issues, '', map, 'Schema'));

  if (isObject(root.parameters) && root.parameters.webhook !== undefined) {
    const webhook = webhookParametersSchema.safeParse(root.parameters.webhook);
    if (!webhook.success) sink.diagnostics.push(...issuesToDiagnostics(webhook.error.issues, '/parameters/webhook', map, 'Schema'));
  }

  if (root.type === undefined) sink.error('Schema', '/type', "missing required property 'type'");
  else if (typeof root.type === 'string' && mapFlowType(root.type) === undefined) {
    sink.error(
      'UnknownFlowType',
      '/type',
      `type "${root.type}" is not a known flow type (messaging, event, events, component-config, job, http)`,
    );
  }
  if (root.id === undefined) sink.error('Schema', '/id', "missing required property 'id'");
  else if (typeof root.id === 'string' && root.id !== '' && !isGreenticId(root.id)) {
    sink.error('InvalidIdentifier', '/id', `flow id "${root.id}" may only contain ASCII letters, digits, ".", "_" and "-"`);
  }

  // Upstream normalises a missing or null `nodes` to an empty map (skeleton flows load).
  const nodesValue = root.nodes ?? {};
  const nodes: Record<string, NodeDoc> = {};
  if (!isObject(nodesValue)) {
    sink.error('Schema', '/nodes', 'nodes must be a mapping of node id to node');
  } else {
    for (const [nodeId, nodeValue] of Object.entries(nodesValue)) {
      const pointer = `/nodes/${escapePointerSegment(nodeId)}`;
      if (!(legacy ? isGreenticId(nodeId) : isNodeId(nodeId))) {
        sink.error(
          'InvalidIdentifier',
          pointer,
          legacy
            ? `node id "${nodeId}" may only contain ASCII letters, digits, ".", "_" and "-"`
            : `node id "${nodeId}" must start with a letter or "_" and contain only letters, digits, "_" and "-"`,
          'key',
        );
      }
      if (!isObject(nodeValue)) {
        sink.error('Schema', pointer, `${dottedPath(pointer)} must be a mapping with one operation key`);
        continue;
      }
      validateNode(nodeId, nodeValue, legacy, sink);
      nodes[nodeId] = { id: nodeId, raw: nodeValue };
    }
  }

  const nodeIds = new Set(Object.keys(nodes));
  for (const node of Object.values(nodes)) {
    compileRouting(node.raw.routing, nodeIds, node.id, sink, { legacy, reportNext: true });
  }

  let start = typeof root.start === 'string' ? root.start : undefined;
  if (start === undefined && nodeIds.has('in')) start = 'in';
  else if (start !== undefined && nodeIds.size > 0 && !nodeIds.has(start)) {
    sink.error('MissingNode', '/start', `start "${start}" does not exist`);
  }

  const entrypoints = isObject(root.entrypoints) ? root.entrypoints : {};
  for (const [name, target] of Object.entries(entrypoints)) {
    const pointer = `/entrypoints/${escapePointerSegment(name)}`;
    if (typeof target === 'string' && !nodeIds.has(target)) {
      sink.warning('MissingNode', pointer, `${dottedPath(pointer)} "${target}" does not exist`);
    }
  }

  if (Array.isArray(root.slot_schema)) {
    if (!legacy) {
      root.slot_schema.forEach((slot, index) => {
        const parsed = slotDefinitionSchema.safeParse(slot);
        if (!parsed.success) {
          sink.diagnostics.push(...issuesToDiagnostics(parsed.error.issues, `/slot_schema/${index}`, map, 'Schema'));
        }
      });
    }
    checkSlotSchema(root.slot_schema, sink);
  }

  sink.diagnostics.sort((a, b) => a.line - b.line || a.col - b.col);
  if (hasErrors(sink.diagnostics) || !top.success) return { diagnostics: sink.diagnostics };

  const doc: FlowDoc = {
    file,
    id: root.id as string,
    type: root.type as string,
    ...(typeof root.title === 'string' ? { title: root.title } : {}),
    ...(typeof root.description === 'string' ? { description: root.description } : {}),
    tags: Array.isArray(root.tags) ? (root.tags as string[]) : [],
    ...(start !== undefined ? { start } : {}),
    parameters: isObject(root.parameters) ? root.parameters : {},
    schema_version: schemaVersion,
    entrypoints,
    ...(isObject(root.meta) ? { meta: root.meta } : {}),
    ...(Array.isArray(root.slot_schema) ? { slot_schema: root.slot_schema } : {}),
    nodes,
    sourceMap: map,
  };
  return { doc, diagnostics: sink.diagnostics };
}

function validateNode(nodeId: string, node: JsonObject, legacy: boolean, sink: DiagnosticSink): void {
  const pointer = `/nodes/${escapePointerSegment(nodeId)}`;
  const opKeys = Object.keys(node).filter((k) => !RESERVED_NODE_KEYS.has(k));

  if (!legacy) {
    for (const key of opKeys) {
      if (!isOpKey(key)) {
        const keyPointer = `${pointer}/${escapePointerSegment(key)}`;
        sink.error(
          'BadComponentKey',
          keyPointer,
          `${dottedPath(pointer)} key "${key}" is not a valid operation key (letters, digits, "_", "." and "-", not starting with a digit)`,
          'key',
        );
      }
    }
    const execPair = opKeys.length === 2 && opKeys.includes(COMPONENT_EXEC);
    if (opKeys.length === 0) {
      sink.error('NodeComponentShape', pointer, `node "${nodeId}" has no operation key (exactly one is required)`, 'key');
    } else if (opKeys.length > 1 && !execPair) {
      sink.error(
        'NodeComponentShape',
        pointer,
        `node "${nodeId}" has ${opKeys.length} operation keys (${opKeys.join(', ')}); exactly one is allowed`,
        'key',
      );
    }

    if (node.telemetry !== undefined) {
      const parsed = telemetrySchema.safeParse(node.telemetry);
      if (!parsed.success) {
        sink.diagnostics.push(...issuesToDiagnostics(parsed.error.issues, `${pointer}/telemetry`, sink.map as SourceMap, 'Schema'));
      }
    }
    for (const key of OBJECT_NODE_KEYS) {
      if (node[key] !== undefined && !objectSchema.safeParse(node[key]).success) {
        const keyPointer = `${pointer}/${key}`;
        sink.error('Schema', keyPointer, `${dottedPath(keyPointer)} must be a mapping`);
      }
    }
    if (node.operation !== undefined && typeof node.operation !== 'string') {
      sink.error('Schema', `${pointer}/operation`, `${dottedPath(`${pointer}/operation`)} must be a string`);
    }
  } else if (opKeys.length === 0) {
    sink.error('NodeComponentShape', pointer, `node "${nodeId}" has no operation key`, 'key');
  }

  if (Object.hasOwn(node, MCP_OP)) {
    const payloadPointer = `${pointer}/${MCP_OP}`;
    const parsed = mcpPayloadSchema.safeParse(node[MCP_OP]);
    if (!parsed.success) {
      sink.diagnostics.push(
        ...issuesToDiagnostics(parsed.error.issues, payloadPointer, sink.map as SourceMap, 'McpConfig', (issue, path) => {
          if (issue.code === 'invalid_type' && issue.path.length === 0) {
            return `${path} must be a mapping {server, tool, arguments?, output?}`;
          }
          if (issue.code === 'invalid_type' && issue.input === undefined) return `${path} is required for an mcp node`;
          if (issue.code === 'too_small') return `${path} must not be empty`;
          return `${path} must be ${issue.code === 'invalid_type' ? `a ${issue.expected === 'record' ? 'mapping' : issue.expected}` : 'valid'}`;
        }),
      );
    }
  }
}

/** The document back as a plain value (for re-serialising a loaded flow). */
export function flowDocToValue(doc: FlowDoc): JsonObject {
  const out: JsonObject = { id: doc.id, type: doc.type };
  if (doc.title !== undefined) out.title = doc.title;
  if (doc.description !== undefined) out.description = doc.description;
  if (doc.tags.length > 0) out.tags = doc.tags;
  if (doc.start !== undefined) out.start = doc.start;
  if (Object.keys(doc.parameters).length > 0) out.parameters = doc.parameters;
  out.schema_version = doc.schema_version;
  if (Object.keys(doc.entrypoints).length > 0) out.entrypoints = doc.entrypoints;
  if (doc.meta !== undefined) out.meta = doc.meta;
  if (doc.slot_schema !== undefined) out.slot_schema = doc.slot_schema;
  const nodes: JsonObject = {};
  for (const [id, node] of Object.entries(doc.nodes)) nodes[id] = node.raw;
  out.nodes = nodes;
  return out;
}
