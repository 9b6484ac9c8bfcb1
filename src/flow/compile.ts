/**
 * `FlowDoc` → compiled `Flow` (greentic-flow `compile_flow`): flow kind, entrypoints, per-node
 * component mapping, input/output mappings and the routing table of reference §1.3. Optionally
 * applies a resolve summary the way greentic-pack does when it packages a flow.
 */
import { isObject } from '../core/is-object.js';
import type { Diagnostic } from './errors.js';
import { dottedPath, escapePointerSegment } from './errors.js';
import { COMPONENT_EXEC, isBuiltinNode, isCompileBuiltinOp, isGreenticId, MCP_OP, RESERVED_NODE_KEYS } from './identifiers.js';
import type { FlowDoc } from './loader.js';
import type { CompiledNode, Flow, FlowKind, JsonObject, JsonValue, Routing, Telemetry } from './model.js';
import { legacyRouteSchema, type RouteDoc, routeSchema } from './schema.js';
import type { ResolveSummary } from './sidecar.js';
import type { SourceMap } from './yaml-source.js';

export const COMPILED_FLOW_SCHEMA_VERSION = 'flow-v1';
export const SLOT_SCHEMA_METADATA_KEY = 'greentic.slot_schema';

const FLOW_KINDS: Readonly<Record<string, FlowKind>> = {
  messaging: 'messaging',
  event: 'event',
  events: 'event',
  'component-config': 'component_config',
  job: 'job',
  http: 'http',
};

export function mapFlowType(type: string): FlowKind | undefined {
  return Object.hasOwn(FLOW_KINDS, type) ? FLOW_KINDS[type] : undefined;
}

/** Where a diagnostic points; documents built in code have no source map and report 1:1. */
export class DiagnosticSink {
  readonly diagnostics: Diagnostic[] = [];

  constructor(
    readonly file: string,
    readonly map?: SourceMap,
  ) {}

  error(code: string, pointer: string, message: string, prefer: 'key' | 'value' = 'value'): void {
    this.push('error', code, pointer, message, prefer);
  }

  warning(code: string, pointer: string, message: string, prefer: 'key' | 'value' = 'value'): void {
    this.push('warning', code, pointer, message, prefer);
  }

  private push(severity: Diagnostic['severity'], code: string, pointer: string, message: string, prefer: 'key' | 'value'): void {
    const pos = this.map ? this.map.locate(pointer, prefer) : { line: 1, col: 1 };
    this.diagnostics.push({ code, severity, message, file: this.file, line: pos.line, col: pos.col, pointer });
  }
}

/**
 * Compiles one node's `routing` value. Reports shape errors (`Routing`) and unknown targets
 * (`MissingNode`); `to: out` is accepted as the sole route only, like upstream.
 */
export function compileRouting(
  raw: JsonValue | undefined,
  nodeIds: ReadonlySet<string>,
  nodeId: string,
  sink: DiagnosticSink,
  opts: { legacy?: boolean } = {},
): Routing | undefined {
  const base = `/nodes/${escapePointerSegment(nodeId)}/routing`;
  if (raw === undefined || raw === null) return 'end';
  if (typeof raw === 'string') {
    if (raw === 'out') return 'end';
    if (raw === 'reply') return 'reply';
    sink.error('Routing', base, `${dottedPath(base)} has invalid routing shorthand "${raw}" (expected out, reply or a list of routes)`);
    return undefined;
  }
  if (!Array.isArray(raw)) {
    sink.error('Routing', base, `${dottedPath(base)} must be out, reply or a list of routes`);
    return undefined;
  }

  const routes: RouteDoc[] = [];
  let shapeOk = true;
  raw.forEach((item, index) => {
    const pointer = `${base}/${index}`;
    if (!isObject(item)) {
      sink.error('Routing', pointer, `${dottedPath(pointer)} must be a mapping with to/out/status/reply/condition`);
      shapeOk = false;
      return;
    }
    const parsed = (opts.legacy ? legacyRouteSchema : routeSchema).safeParse(item);
    if (!parsed.success) {
      shapeOk = false;
      for (const issue of parsed.error.issues) {
        if (issue.code === 'unrecognized_keys') {
          for (const key of issue.keys) {
            const keyPointer = `${pointer}/${escapePointerSegment(key)}`;
            sink.error(
              'Routing',
              keyPointer,
              `${dottedPath(pointer)} has unknown key "${key}" (allowed: to, out, status, reply, condition, on_message)`,
              'key',
            );
          }
        } else {
          const fieldPointer = `${pointer}${issue.path.map((s) => `/${escapePointerSegment(String(s))}`).join('')}`;
          const expected = issue.code === 'invalid_type' ? issue.expected : 'valid';
          sink.error('Routing', fieldPointer, `${dottedPath(fieldPointer)} must be a ${expected}`);
        }
      }
      return;
    }
    routes.push(parsed.data);
  });
  let targetsOk = shapeOk;
  const missing = (index: number, to: string, hint = ''): void => {
    const pointer = `${base}/${index}/to`;
    sink.error('MissingNode', pointer, `${dottedPath(pointer)} "${to}" does not exist${hint}`);
    targetsOk = false;
  };
  raw.forEach((item, index) => {
    // Targets of well-formed routes are checked even when a sibling route is malformed.
    const to = isObject(item) ? item.to : undefined;
    if (typeof to === 'string' && to !== 'out' && !nodeIds.has(to)) missing(index, to);
  });
  if (!shapeOk) return undefined;
  const outHint = ' (the target "out" ends the flow only as the sole route; use `out: true`)';
  const checkOut = (route: RouteDoc, index: number): void => {
    if (route.to === 'out' && !nodeIds.has('out')) missing(index, 'out', outHint);
  };

  if (routes.some((r) => r.condition !== undefined || r.on_message === true)) {
    routes.forEach(checkOut);
    return targetsOk ? { custom: raw } : undefined;
  }
  if (!targetsOk) return undefined;

  if (routes.length === 0) return 'end';
  if (routes.length === 1) {
    const route = routes[0] as RouteDoc;
    const isOut = route.out === true;
    if (route.reply === true) return 'reply';
    // A single status route is still conditional; upstream keeps it raw rather than a plain next-hop.
    if (route.status !== undefined) return { custom: raw };
    if (route.to !== undefined) {
      if (route.to === 'out' || isOut) return 'end';
      return { next: { node_id: route.to } };
    }
    if (isOut) return 'end';
    return { custom: raw };
  }

  const onStatus: Record<string, string> = {};
  let defaultTarget: string | null = null;
  let anyStatus = false;
  for (const [index, route] of routes.entries()) {
    if (route.reply === true || route.out === true) return { custom: raw };
    if (route.to === undefined) return { custom: raw };
    checkOut(route, index);
    if (!targetsOk) return undefined;
    if (route.status !== undefined) {
      anyStatus = true;
      onStatus[route.status] = route.to;
    } else {
      // Upstream keeps the LAST plain target: multi-`to` arrays do not fan out.
      defaultTarget = route.to;
    }
  }
  const sorted: Record<string, string> = {};
  for (const key of Object.keys(onStatus).sort(compareBytes)) sorted[key] = onStatus[key] as string;
  if (anyStatus || defaultTarget !== null) return { branch: { on_status: sorted, default: defaultTarget } };
  return { custom: raw };
}

/** Byte-wise string order (Rust `BTreeMap<String, _>`). */
export function compareBytes(a: string, b: string): number {
  const ea = new TextEncoder().encode(a);
  const eb = new TextEncoder().encode(b);
  const n = Math.min(ea.length, eb.length);
  for (let i = 0; i < n; i++) {
    const d = (ea[i] as number) - (eb[i] as number);
    if (d !== 0) return d;
  }
  return ea.length - eb.length;
}

/** Regexes in slot patterns use Rust `regex` syntax; a leading inline-flag group is not JS syntax. */
export function isValidSlotPattern(pattern: string): boolean {
  const stripped = pattern.replace(/^\(\?[imsxU]+\)/, '');
  try {
    new RegExp(stripped, 'u');
    return true;
  } catch {
    try {
      new RegExp(stripped);
      return true;
    } catch {
      return false;
    }
  }
}

/** Duplicate slot names and invalid patterns (compile-time checks upstream). */
export function checkSlotSchema(slots: JsonValue | undefined, sink: DiagnosticSink): void {
  if (!Array.isArray(slots)) return;
  const seen = new Set<string>();
  slots.forEach((slot, index) => {
    if (!isObject(slot) || typeof slot.name !== 'string') return;
    const pointer = `/slot_schema/${index}`;
    if (seen.has(slot.name)) {
      sink.error('Schema', `${pointer}/name`, `${dottedPath(pointer)}: duplicate slot name "${slot.name}"`);
    }
    seen.add(slot.name);
    if (typeof slot.pattern === 'string' && !isValidSlotPattern(slot.pattern)) {
      sink.error('Schema', `${pointer}/pattern`, `${dottedPath(pointer)}: invalid regex pattern for slot "${slot.name}"`);
    }
  });
}

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
