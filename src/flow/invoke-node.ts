/**
 * Nodes that are request/response calls through the host's `ComponentInvoker`: pack components,
 * `component.exec`, `provider.invoke`, `mcp` and `a2a`, each tagged with its `target.kind`.
 * Without an invoker they fail with `unsupported_node_kind`.
 */
import { errorMessage } from '../core/coded-error.js';
import { isObject } from '../core/is-object.js';
import type { PreparedNode } from './builtins.js';
import { FlowRunError } from './execution-state.js';
import { MCP_LIST_TOOLS } from './identifiers.js';
import type { JsonValue } from './model.js';
import { interpretResult, nodeError, type Step, str, wrapOutput } from './node-results.js';
import type { ComponentTarget, InvocationContext, InvokeResult } from './ports.js';
import { EMPTY, entryLocale, type Frame, renderNodeValue, renderPointerAllowed, type WalkEnv } from './turn-frame.js';

/** A component payload made only of these keys carries its input under `input` and its `config` beside it. */
const SPLIT_KEYS = new Set(['input', 'operation', 'op', 'component', 'component_ref', 'config']);

function invocationContext(env: WalkEnv, frame: Frame, pnode: PreparedNode): InvocationContext {
  const ctx: InvocationContext = {
    packId: env.packId,
    flowId: frame.flow.flow.id,
    nodeId: pnode.id,
    attempt: frame.turn.attempt,
    resumed: frame.turn.resumed,
  };
  const locale = entryLocale(frame.state.entry);
  if (locale !== undefined) ctx.locale = locale;
  return ctx;
}

async function callInvoker(
  env: WalkEnv,
  frame: Frame,
  pnode: PreparedNode,
  target: ComponentTarget,
  operation: string,
  input: JsonValue,
): Promise<Step> {
  if (env.invoker === undefined) {
    return {
      out: 'error',
      error: nodeError(
        'unsupported_node_kind',
        `"${pnode.key}" is a ${target.kind} node and needs a component invoker, but none is configured`,
        false,
      ),
    };
  }
  let result: InvokeResult;
  try {
    const pending = env.invoker.invoke(target, operation, input, invocationContext(env, frame, pnode));
    result = pending instanceof Promise ? await pending : pending;
  } catch (err) {
    if (err instanceof FlowRunError) throw err;
    return { out: 'error', error: nodeError('component_failed', `${target.id}.${operation} threw: ${errorMessage(err)}`) };
  }
  if (!result.ok) return { out: 'error', error: result.error };
  return interpretResult(result.output, frame.flow.flow.id);
}

/** The component a `component.exec` payload names (`component`, else `component_ref`). */
export function execTarget(payload: JsonValue): string | undefined {
  return isObject(payload) ? (str(payload.component) ?? str(payload.component_ref)) : undefined;
}

/** Which component and operation a component node calls, or why it cannot say. */
export type ComponentCall =
  | { ok: true; componentId: string; operation: string }
  | { ok: false; code: 'invalid_node_input' | 'missing_operation'; message: string; componentId?: string };

/**
 * Pack components and `component.exec` (upstream-runtime.md §A.7–A.8, A.10): a `component.exec`
 * node calls the component its payload names; any other node calls its own component id, so a
 * `component: "oci://…"` string in its mapping is only input. The operation is the node's, else
 * the payload's `operation` / `op`.
 */
export function componentCallOf(pnode: PreparedNode, payload: JsonValue): ComponentCall {
  const obj = isObject(payload) ? payload : undefined;
  let componentId: string | undefined;
  if (pnode.kind === 'exec') {
    componentId = execTarget(payload);
    if (componentId === undefined)
      return { ok: false, code: 'invalid_node_input', message: 'component.exec needs "component" (or "component_ref") in its payload' };
  } else {
    componentId = pnode.node.component.id;
  }
  // The compiler names the op key as the operation; for the exec shape that is `component.exec` itself.
  const nodeOperation = pnode.node.component.operation;
  let operation = (nodeOperation === 'component.exec' ? undefined : str(nodeOperation ?? undefined)) ?? str(obj?.operation) ?? str(obj?.op);
  if (operation === undefined && pnode.kind === 'component') {
    // Legacy dotted ids (`ai.greentic.echo.run`) carry their operation after the last dot.
    const dot = componentId.lastIndexOf('.');
    if (dot > 0 && dot < componentId.length - 1) {
      operation = componentId.slice(dot + 1);
      componentId = componentId.slice(0, dot);
    }
  }
  if (operation === undefined) {
    return {
      ok: false,
      code: 'missing_operation',
      message: `component "${componentId}" has no operation (node operation, payload "operation"/"op")`,
      componentId,
    };
  }
  return { ok: true, componentId, operation };
}

export async function invokeComponent(env: WalkEnv, frame: Frame, pnode: PreparedNode, payload: JsonValue): Promise<Step> {
  const resolved = componentCallOf(pnode, payload);
  if (!resolved.ok) return { out: 'error', error: nodeError(resolved.code, resolved.message, false) };
  const { componentId, operation } = resolved;
  const obj = isObject(payload) ? payload : undefined;
  let input: JsonValue = payload;
  const target: ComponentTarget = { kind: 'component', id: componentId };
  if (obj !== undefined && 'input' in obj && Object.keys(obj).every((k) => SPLIT_KEYS.has(k))) {
    input = obj.input as JsonValue;
    if (obj.config !== undefined) target.config = obj.config;
  }
  return callInvoker(env, frame, pnode, target, operation, input);
}

export async function invokeMcp(env: WalkEnv, frame: Frame, pnode: PreparedNode, payload: JsonValue): Promise<Step> {
  const obj = isObject(payload) ? payload : EMPTY;
  let server = str(obj.server);
  let tool = str(obj.tool);
  if (pnode.key.startsWith('mcp:')) {
    const [s, t] = pnode.key.slice(4).split('/', 2);
    server ??= str(s);
    tool ??= str(t);
  }
  const listing = str(obj.operation) === 'list';
  if (server === undefined || (tool === undefined && !listing)) {
    return {
      out: 'error',
      error: nodeError('invalid_node_input', 'mcp node needs non-empty "server" and "tool" (or "operation: list")', false),
    };
  }
  const operation = listing ? MCP_LIST_TOOLS : (tool as string);
  const step = await callInvoker(env, frame, pnode, { kind: 'mcp', id: server }, operation, obj.arguments ?? {});
  // An mcp node never fails the walk (upstream): without an error route its failure is its output,
  // `{ok: false, error: {code, message, status, tool}}`, for the flow to route on.
  const routed = pnode.routing.t === 'custom' && pnode.routing.hasErrorRoute;
  if (step.out === 'error' && !routed) {
    const details = step.error.details;
    const error = isObject(details) ? details : { code: step.error.code, message: step.error.message, status: null, tool: operation };
    return wrapOutput({ out: 'ok', payload: { ok: false, error } }, str(obj.output));
  }
  return wrapOutput(step, str(obj.output));
}

export async function invokeA2a(env: WalkEnv, frame: Frame, pnode: PreparedNode, payload: JsonValue): Promise<Step> {
  const obj = isObject(payload) ? payload : EMPTY;
  const agent = str(obj.agent) ?? (pnode.key.startsWith('a2a:') ? str(pnode.key.slice(4)) : undefined);
  if (agent === undefined) return { out: 'error', error: nodeError('invalid_node_input', 'a2a node needs a non-empty "agent"', false) };
  const step = await callInvoker(env, frame, pnode, { kind: 'a2a', id: agent }, 'message', obj.message ?? null);
  return wrapOutput(step, str(obj.output));
}

/** `provider.invoke`: the payload is rendered without `in_map`/`out_map`, which render against the call's input and result. */
export async function invokeProvider(env: WalkEnv, frame: Frame, pnode: PreparedNode): Promise<Step> {
  const mapping = isObject(pnode.mapping) ? pnode.mapping : EMPTY;
  const { in_map: inMap, out_map: outMap, ...rest } = mapping;
  const obj = renderNodeValue(frame, rest);
  if (!isObject(obj)) return { out: 'error', error: nodeError('invalid_node_input', 'provider.invoke needs an object payload', false) };
  const operation = str(obj.op) ?? str(obj.operation);
  const providerId = str(obj.provider_id) ?? str(obj.provider_type);
  if (operation === undefined || providerId === undefined) {
    return {
      out: 'error',
      error: nodeError('invalid_node_input', 'provider.invoke needs "op" (or "operation") and "provider_id" or "provider_type"', false),
    };
  }
  let input: JsonValue = obj.input ?? {};
  if (inMap !== undefined) {
    input = renderPointerAllowed(frame, inMap, { ...frame.ctx, input, result: input });
  }
  const target: ComponentTarget = { kind: 'provider', id: providerId };
  const providerType = str(obj.provider_type);
  if (providerType !== undefined) target.provider_type = providerType;
  const step = await callInvoker(env, frame, pnode, target, operation, input);
  if (outMap === undefined || step.out !== 'ok') return step;
  const mapped = renderPointerAllowed(frame, outMap, { ...frame.ctx, input, result: step.payload });
  return { ...step, payload: mapped };
}
