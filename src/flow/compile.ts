/**
 * `FlowDoc` → compiled `Flow` (greentic-flow `compile_flow`): flow kind, entrypoints, per-node
 * component mapping, input/output mappings and the routing table of reference §1.3. Optionally
 * applies a resolve summary the way greentic-pack does when it packages a flow.
 */
import { isObject } from '../core/is-object.js';
import { compareBytes, compileRouting } from './compile-routing.js';
import { DiagnosticSink } from './diagnostic-sink.js';
import type { Diagnostic } from './errors.js';
import { escapePointerSegment } from './errors.js';
import { COMPONENT_EXEC, isBuiltinNode, isCompileBuiltinOp, isGreenticId, MCP_OP, mapFlowType, RESERVED_NODE_KEYS } from './identifiers.js';
import type { FlowDoc } from './loader.js';
import type { CompiledNode, Flow, JsonObject, JsonValue, Telemetry } from './model.js';
import type { ResolveSummary } from './sidecar.js';
import { checkSlotSchema } from './slot-schema.js';

export const COMPILED_FLOW_SCHEMA_VERSION = 'flow-v1';
export const SLOT_SCHEMA_METADATA_KEY = 'greentic.slot_schema';

export interface CompileOptions {
  /**
   * Resolve summary of the flow (greentic-pack build): `component.exec` nodes take the summary's
   * `component_id`; other non-builtin nodes must match it; every non-builtin node needs an entry.
   */
  resolveSummary?: ResolveSummary;
}

export interface CompileResult {
  flow?: Flow;
  diagnostics: Diagnostic[];
}

export function compileFlow(doc: FlowDoc, opts: CompileOptions = {}): CompileResult {
  const sink = new DiagnosticSink(doc.file, doc.sourceMap);
  const kind = mapFlowType(doc.type);
  if (kind === undefined) {
    sink.error(
      'UnknownFlowType',
      '/type',
      `type "${doc.type}" is not a known flow type (messaging, event, events, component-config, job, http)`,
    );
  }
  if (!isGreenticId(doc.id)) {
    sink.error('InvalidIdentifier', '/id', `flow id "${doc.id}" may only contain ASCII letters, digits, ".", "_" and "-"`);
  }

  const nodeIds = Object.keys(doc.nodes);
  const known = new Set(nodeIds);
  const entrypoints: Record<string, JsonValue> = { ...doc.entrypoints };
  const entry = doc.start ?? (known.has('in') ? 'in' : nodeIds[0]);
  if (entry !== undefined && !Object.hasOwn(entrypoints, 'default')) entrypoints.default = entry;

  const legacy = doc.schema_version < 2;
  const nodes: Record<string, CompiledNode> = {};
  for (const nodeId of nodeIds) {
    const nodeDoc = doc.nodes[nodeId];
    if (!nodeDoc) continue;
    const nodePointer = `/nodes/${escapePointerSegment(nodeId)}`;
    if (!isGreenticId(nodeId)) {
      sink.error('InvalidIdentifier', nodePointer, `node id "${nodeId}" may only contain ASCII letters, digits, ".", "_" and "-"`, 'key');
    }
    const routing = compileRouting(nodeDoc.raw.routing, known, nodeId, sink, { legacy });
    const node = compileNode(nodeId, nodeDoc.raw, legacy, sink);
    if (routing && node) {
      // Field order follows greentic-types `Node` so the JSON matches upstream's serialisation.
      const { telemetry, conversational, ...head } = node;
      nodes[nodeId] = { ...head, routing, telemetry, ...(conversational ? { conversational } : {}) };
    }
  }
  checkSlotSchema(doc.slot_schema, sink);

  if (opts.resolveSummary) applyResolveSummary(nodes, opts.resolveSummary, sink);

  if (sink.diagnostics.some((d) => d.severity === 'error') || kind === undefined) {
    return { diagnostics: sink.diagnostics };
  }

  const extra: JsonObject = isObject(doc.parameters) ? { ...doc.parameters } : {};
  if (doc.slot_schema !== undefined) extra[SLOT_SCHEMA_METADATA_KEY] = doc.slot_schema;
  const sortedEntrypoints: Record<string, JsonValue> = {};
  for (const key of Object.keys(entrypoints).sort(compareBytes)) sortedEntrypoints[key] = entrypoints[key] as JsonValue;

  const flow: Flow = {
    schema_version: COMPILED_FLOW_SCHEMA_VERSION,
    id: doc.id,
    kind,
    entrypoints: sortedEntrypoints,
    nodes,
    metadata: {
      ...(doc.title !== undefined ? { title: doc.title } : {}),
      ...(doc.description !== undefined ? { description: doc.description } : {}),
      tags: [...new Set(doc.tags)].sort(compareBytes),
      extra,
    },
  };
  return { flow, diagnostics: sink.diagnostics };
}

function compileNode(nodeId: string, raw: JsonObject, legacy: boolean, sink: DiagnosticSink): Omit<CompiledNode, 'routing'> | undefined {
  let opKey: string | undefined;
  let payload: JsonValue | undefined;
  let opSibling: string | undefined;
  let packAlias: string | undefined;
  let inMap: JsonValue | undefined;
  let outMap: JsonValue | undefined;
  let errMap: JsonValue | undefined;
  let conversational = false;
  const hasExec = Object.hasOwn(raw, COMPONENT_EXEC);
  for (const [key, value] of Object.entries(raw)) {
    switch (key) {
      case 'in_map':
        inMap = value;
        continue;
      case 'out_map':
      case 'output':
        outMap = value;
        continue;
      case 'err_map':
        errMap = value;
        continue;
      case 'operation':
        if (typeof value === 'string') opSibling = value;
        continue;
      case 'conversational':
        conversational = value === true;
        continue;
      default:
        break;
    }
    if (RESERVED_NODE_KEYS.has(key)) continue;
    // The legacy exec shape names the component in `component.exec`; its extra key is not the op.
    if (hasExec && key !== COMPONENT_EXEC) {
      if (key === 'pack_alias' && typeof value === 'string') packAlias = value;
      continue;
    }
    // Upstream keeps the last non-reserved key; v2 documents only ever have one (or the exec pair).
    opKey = key;
    payload = value;
  }
  const pointer = `/nodes/${escapePointerSegment(nodeId)}`;
  if (opKey === undefined) {
    sink.error('NodeComponentShape', pointer, `node "${nodeId}" has no operation key`, 'key');
    return undefined;
  }

  let componentId: string;
  let operation: string | undefined;
  if (opKey === MCP_OP || legacy || isCompileBuiltinOp(opKey)) {
    componentId = opKey;
    operation = opSibling;
  } else {
    componentId = COMPONENT_EXEC;
    operation = opSibling ?? opKey;
  }

  const telemetryRaw = raw.telemetry;
  const telemetry: Telemetry = { attributes: {} };
  if (isObject(telemetryRaw)) {
    if (typeof telemetryRaw.span_name === 'string') telemetry.span_name = telemetryRaw.span_name;
    if (isObject(telemetryRaw.attributes)) {
      for (const [k, v] of Object.entries(telemetryRaw.attributes)) if (typeof v === 'string') telemetry.attributes[k] = v;
    }
    if (typeof telemetryRaw.sampling === 'string') telemetry.sampling = telemetryRaw.sampling;
  }
  const orderedTelemetry: Telemetry = {
    ...(telemetry.span_name !== undefined ? { span_name: telemetry.span_name } : {}),
    attributes: telemetry.attributes,
    ...(telemetry.sampling !== undefined ? { sampling: telemetry.sampling } : {}),
  };

  const node: Omit<CompiledNode, 'routing'> = {
    id: nodeId,
    component: {
      id: componentId,
      ...(packAlias !== undefined ? { pack_alias: packAlias } : {}),
      ...(operation !== undefined ? { operation } : {}),
    },
    input: { mapping: inMap ?? payload ?? {} },
    output: { mapping: outMap ?? {} },
    ...(errMap !== undefined ? { err_map: { mapping: errMap } } : {}),
    telemetry: orderedTelemetry,
    ...(conversational ? { conversational: true } : {}),
  };
  return node;
}

/** greentic-pack `apply_summary_component_ids`, with the newer builtin exemption. */
function applyResolveSummary(nodes: Record<string, CompiledNode>, summary: ResolveSummary, sink: DiagnosticSink): void {
  for (const [nodeId, node] of Object.entries(nodes)) {
    const pointer = `/nodes/${escapePointerSegment(nodeId)}`;
    const entry = Object.hasOwn(summary.nodes, nodeId) ? summary.nodes[nodeId] : undefined;
    if (isBuiltinNode(node)) continue;
    if (!entry) {
      sink.error(
        'ResolveSummary',
        pointer,
        `node "${nodeId}" has no entry in the resolve summary (run the resolve step for this flow)`,
        'key',
      );
      continue;
    }
    if (node.component.id === '' || node.component.id === COMPONENT_EXEC) {
      node.component = { ...node.component, id: entry.component_id };
    } else if (node.component.id !== entry.component_id) {
      sink.error(
        'ResolveSummary',
        pointer,
        `node "${nodeId}" component id "${node.component.id}" does not match the resolve summary's "${entry.component_id}"`,
        'key',
      );
    }
  }
}
