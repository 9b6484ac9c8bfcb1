/**
 * How the executor sees a compiled flow: each node classified once into the kind that runs it
 * (runner-native built-in, component call, or a remote-runtime kind this core cannot run), its
 * routing pre-digested, and its payload stripped of the engine's own keys. Preparation is cached
 * per `Flow` object, so a flow that is executed many times is analysed once.
 */

import { isObject } from '../core/is-object.js';
import { parseCondition } from './condition.js';
import { FlowRunError } from './execution-state.js';
import type { CompiledNode, Flow, JsonObject, JsonValue } from './model.js';

export type NodeKind =
  | 'emit'
  | 'session.wait'
  | 'state.get'
  | 'state.set'
  | 'var.set'
  | 'flow.call'
  | 'flow.goto'
  | 'provider.invoke'
  | 'mcp'
  | 'a2a'
  /** Agentic / remote-runtime dispatch (dw.agent*, sorla/operala/agentic/telco-x/approval.call). */
  | 'remote'
  /** `component.exec`: the target component is named in the payload. */
  | 'exec'
  /** A pack component named by the node's component id. */
  | 'component';

const REMOTE_KEYS = new Set(['sorla.call', 'operala.call', 'agentic.call', 'telco-x.call', 'approval.call']);

const NATIVE_KEYS = new Set([
  'flow.call',
  'flow.goto',
  'provider.invoke',
  'session.wait',
  'state.get',
  'state.set',
  'var.set',
  'mcp',
  'a2a',
  ...REMOTE_KEYS,
]);

function isRemoteKey(key: string): boolean {
  return (
    REMOTE_KEYS.has(key) ||
    key === 'dw.agent' ||
    key.startsWith('dw.agent.') ||
    key === 'dw.agent_graph' ||
    key.startsWith('dw.agent_graph.')
  );
}

function isNativeKey(key: string): boolean {
  return NATIVE_KEYS.has(key) || key.startsWith('emit.') || isRemoteKey(key) || key.startsWith('mcp:') || key.startsWith('a2a:');
}

/**
 * The op key that decides the node kind. The greentic-flow compiler wraps runner-native keys as
 * `component.exec` + operation, and packc later swaps in the key as the component id; both shapes
 * reach runners, so both are read here.
 */
export function nodeKey(node: CompiledNode): string {
  const op = node.component.operation;
  if (node.component.id === 'component.exec' && typeof op === 'string' && isNativeKey(op)) return op;
  // Upstream's `HostNode::from`: the operation `component.exec` makes any node a generic call.
  if (op === 'component.exec') return 'component.exec';
  return node.component.id;
}

export function classifyKey(key: string): NodeKind {
  if (key.startsWith('emit.')) return 'emit';
  if (key === 'mcp' || key.startsWith('mcp:')) return 'mcp';
  if (key === 'a2a' || key.startsWith('a2a:')) return 'a2a';
  if (isRemoteKey(key)) return 'remote';
  switch (key) {
    case 'session.wait':
    case 'state.get':
    case 'state.set':
    case 'var.set':
    case 'flow.call':
    case 'flow.goto':
    case 'provider.invoke':
      return key;
    case 'component.exec':
      return 'exec';
    default:
      return 'component';
  }
}

export interface PreparedRoute {
  /** null = the route ends the run (`to: out` with no node named `out`). */
  to: string | null;
  condition?: string;
  /** A route-level `event` field: the route only matches that outcome port. */
  event?: string;
}

export type PreparedRouting =
  | { t: 'end' }
  | { t: 'next'; to: string }
  | {
      t: 'custom';
      routes: PreparedRoute[];
      hasCondition: boolean;
      hasErrorRoute: boolean;
      successPort: string;
      failurePort: string;
    };

export interface PreparedNode {
  id: string;
  node: CompiledNode;
  key: string;
  kind: NodeKind;
  /** The input mapping without `vars_out` / `response_timeout_secs` (engine metadata, not payload). */
  mapping: JsonValue;
  /** False when no string in the mapping contains `{{`: rendering would return it unchanged. */
  needsRender: boolean;
  varsOut: Array<[string, JsonValue]> | null;
  answerFields: string[] | null;
  routing: PreparedRouting;
}

export interface PreparedFlow {
  flow: Flow;
  nodes: Map<string, PreparedNode>;
  start: string | undefined;
  warnings: string[];
}

export function containsTemplate(value: JsonValue): boolean {
  if (typeof value === 'string') return value.includes('{{');
  if (Array.isArray(value)) return value.some(containsTemplate);
  if (isObject(value)) {
    for (const k in value) if (containsTemplate(value[k] as JsonValue)) return true;
  }
  return false;
}

const SUCCESS_PORTS = ['on_success', 'on_complete', 'on_submit'];
const FAILURE_PORTS = ['on_error', 'on_cancel', 'on_timeout'];

function testedPorts(routes: PreparedRoute[]): Set<string> {
  const ports = new Set<string>();
  const re = /\bevent\s*==\s*"?([A-Za-z_][\w-]*)"?/g;
  for (const r of routes) {
    if (r.event !== undefined) ports.add(r.event);
    if (r.condition === undefined) continue;
    for (const m of r.condition.matchAll(re)) if (m[1] !== undefined) ports.add(m[1]);
  }
  return ports;
}

function prepareRouting(flow: Flow, node: CompiledNode, warnings: string[]): PreparedRouting {
  const routing = node.routing;
  if (routing === 'end' || routing === 'reply') return { t: 'end' };
  if ('next' in routing) return { t: 'next', to: routing.next.node_id };
  if ('branch' in routing) {
    // Upstream follows only the default target; on_status is never consulted at run time.
    const target = routing.branch.default;
    return target === null || target === undefined ? { t: 'end' } : { t: 'next', to: target };
  }
  const raw = routing.custom;
  if (!Array.isArray(raw)) {
    warnings.push(`node "${node.id}": custom routing is not a route array; the run ends after this node`);
    return { t: 'end' };
  }
  const routes: PreparedRoute[] = [];
  let hasCondition = false;
  let hasErrorRoute = false;
  for (const item of raw) {
    if (!isObject(item)) continue;
    const condition = typeof item.condition === 'string' ? item.condition : undefined;
    const event = typeof item.event === 'string' ? item.event : undefined;
    if (condition !== undefined) {
      hasCondition = true;
      const parsed = parseCondition(condition);
      if ('error' in parsed) warnings.push(`node "${node.id}": ${parsed.error}; the route never matches`);
    }
    if ((condition !== undefined && /on_error|on_cancel|on_timeout/.test(condition)) || 'event' in item) {
      hasErrorRoute = true;
    }
    // `- next: X` (greentic-demo's spelling) runs as `to: X`; upstream ignores the key and ends
    // the flow (docs/compat.md). Entries without either (`out: true`, `reply: true`) are skipped.
    const to = typeof item.to === 'string' ? item.to : item.next;
    if (typeof to !== 'string') continue;
    const route: PreparedRoute = { to: to === 'out' && !(to in flow.nodes) ? null : to };
    if (condition !== undefined) route.condition = condition;
    if (event !== undefined) route.event = event;
    routes.push(route);
  }
  const ports = testedPorts(routes);
  return {
    t: 'custom',
    routes,
    hasCondition,
    hasErrorRoute,
    successPort: SUCCESS_PORTS.find((p) => ports.has(p)) ?? 'on_success',
    failurePort: FAILURE_PORTS.find((p) => ports.has(p)) ?? 'on_error',
  };
}

function prepareNode(flow: Flow, id: string, node: CompiledNode, warnings: string[]): PreparedNode {
  const key = nodeKey(node);
  let mapping: JsonValue = node.input.mapping ?? null;
  let varsOut: Array<[string, JsonValue]> | null = null;
  let answerFields: string[] | null = null;
  if (isObject(mapping)) {
    const source = mapping;
    if ('vars_out' in source || 'response_timeout_secs' in source) {
      const stripped: JsonObject = {};
      for (const k in source) if (k !== 'vars_out' && k !== 'response_timeout_secs') stripped[k] = source[k] as JsonValue;
      mapping = stripped;
      const vo = source.vars_out;
      if (isObject(vo)) varsOut = Object.entries(vo);
      else if (vo !== undefined) warnings.push(`node "${id}": vars_out is not an object and is ignored`);
    }
    const af = isObject(source.input) && Array.isArray(source.input.answer_fields) ? source.input.answer_fields : source.answer_fields;
    if (Array.isArray(af)) answerFields = af.filter((f): f is string => typeof f === 'string');
  }
  return {
    id,
    node,
    key,
    kind: classifyKey(key),
    mapping,
    needsRender: containsTemplate(mapping),
    varsOut,
    answerFields,
    routing: prepareRouting(flow, node, warnings),
  };
}

const prepared = new WeakMap<Flow, PreparedFlow>();

/** The start node: the `default` entrypoint when it names a node, else the first node. */
export function startNode(flow: Flow, entrypoint = 'default'): string | undefined {
  const named = flow.entrypoints[entrypoint];
  if (typeof named === 'string') return named;
  if (entrypoint !== 'default') {
    throw new FlowRunError({
      code: 'missing_node',
      message: `flow "${flow.id}" has no entrypoint "${entrypoint}"`,
      flowId: flow.id,
      retryable: false,
    });
  }
  for (const id in flow.nodes) return id;
  return undefined;
}

export function prepareFlow(flow: Flow): PreparedFlow {
  const cached = prepared.get(flow);
  if (cached !== undefined) return cached;
  const warnings: string[] = [];
  const nodes = new Map<string, PreparedNode>();
  for (const id in flow.nodes) {
    const node = flow.nodes[id] as CompiledNode;
    nodes.set(id, prepareNode(flow, id, node, warnings));
  }
  const result: PreparedFlow = { flow, nodes, start: startNode(flow), warnings };
  prepared.set(flow, result);
  return result;
}
