/**
 * Identifier rules, the builtin/runner-native op-key tables and the flow type names shared by the
 * loader, the compiler, the pack builder and the executor.
 */
import type { CompiledNode, FlowKind } from './model.js';

/** greentic-types ids (FlowId, NodeId, ComponentId, PackId…): non-empty ASCII alnum, `.`, `_`, `-`. */
export const GREENTIC_ID = /^[A-Za-z0-9._-]+$/;
/** Node ids in a `.ygtc` document (JSON Schema `patternProperties` of `nodes`). */
export const NODE_ID = /^[a-zA-Z_][\w-]*$/;
/** Operation keys inside a node (JSON Schema `patternProperties` of a node). */
export const OP_KEY = /^[A-Za-z_][\w.-]*$/;

export function isGreenticId(value: string): boolean {
  return GREENTIC_ID.test(value);
}

export function isNodeId(value: string): boolean {
  return NODE_ID.test(value);
}

export function isOpKey(value: string): boolean {
  return OP_KEY.test(value);
}

/**
 * Node keys that are not the operation. `in_map`/`out_map`/`err_map` and `conversational` are
 * newer additions that greentic-flow's compiler treats as reserved too.
 */
export const RESERVED_NODE_KEYS: ReadonlySet<string> = new Set([
  'routing',
  'telemetry',
  'output',
  'in_map',
  'out_map',
  'err_map',
  'retry',
  'timeout',
  'when',
  'annotations',
  'meta',
  'operation',
  'conversational',
]);

/** Legacy exec op key: may sit next to one more non-reserved key. */
export const COMPONENT_EXEC = 'component.exec';
export const MCP_OP = 'mcp';
/**
 * The operation an `mcp` node with `operation: list` (upstream's adapter vocabulary) hands the
 * invoker: MCP's method name, which no valid tool name can equal (tool names have no `/`).
 */
export const MCP_LIST_TOOLS = 'tools/list';

/**
 * Runtime-native call kinds that keep their op key as the component id at compile time
 * (matched by equality: `x.call.y` is an adapter component, not a builtin).
 */
export const RUNTIME_NATIVE_CALL_KINDS: ReadonlySet<string> = new Set([
  'operala.call',
  'sorla.call',
  'agentic.call',
  'approval.call',
  'telco-x.call',
]);

/** Op keys greentic-flow's compiler keeps as the component id instead of lowering to `component.exec`. */
export function isCompileBuiltinOp(op: string): boolean {
  return op === 'questions' || op === 'template' || op === MCP_OP || op.startsWith('dw.') || RUNTIME_NATIVE_CALL_KINDS.has(op);
}

/** Pack-level builtin kinds (greentic-pack `builtin.rs`): bare or `<kind>.<suffix>`. */
const PACK_BUILTIN_PREFIX_KINDS = [
  'session.wait',
  'flow.call',
  'provider.invoke',
  'dw.agent',
  'dw.agent_graph',
  'sorla.call',
  'operala.call',
  'agentic.call',
  'approval.call',
];
const PACK_BUILTIN_EXACT_KINDS: ReadonlySet<string> = new Set([MCP_OP]);

/**
 * Whether a component id names something the runner dispatches itself, so a pack needs no
 * component, resolve entry or summary entry for it.
 */
export function isBuiltinComponentId(id: string): boolean {
  return (
    id.startsWith('emit.') ||
    PACK_BUILTIN_EXACT_KINDS.has(id) ||
    PACK_BUILTIN_PREFIX_KINDS.some((kind) => id === kind || id.startsWith(`${kind}.`))
  );
}

/**
 * The kind-bearing id of a compiled node: a `component.exec` (or empty) component carries the real
 * target in `operation`.
 */
export function nodeEffectiveComponentId(node: Pick<CompiledNode, 'component'>): string {
  const id = node.component.id;
  if (id === '' || id === COMPONENT_EXEC) return node.component.operation ?? id;
  return id;
}

export function isBuiltinNode(node: Pick<CompiledNode, 'component'>): boolean {
  return isBuiltinComponentId(nodeEffectiveComponentId(node));
}

/** `.ygtc` `type` names → the compiled flow kind (`events` is an alias of `event`). */
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
