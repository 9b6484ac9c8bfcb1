/**
 * Runs one node by its kind. The engine's own built-ins run here (`emit.*`, `session.wait`,
 * `state.get`, `state.set`, `var.set`, `flow.call`, `flow.goto`); request/response kinds go to
 * invoke-node.ts. The agentic / remote-runtime kinds (`dw.agent*`, `sorla.call`, `operala.call`,
 * `agentic.call`, `telco-x.call`, `approval.call`) park on correlated remote responses, which this
 * engine does not model: they always fail with `unsupported_node_kind`.
 */

import { isObject } from '../core/is-object.js';
import { type PreparedNode, prepareFlow } from './builtins.js';
import { FlowRunError, freshState } from './execution-state.js';
import { execTarget, invokeA2a, invokeComponent, invokeMcp, invokeProvider } from './invoke-node.js';
import type { JsonValue } from './model.js';
import { nodeError, type Step, str, templateNodeError } from './node-results.js';
import { assembleOutput, withFailureMetadata } from './output.js';
import { TemplateError } from './template-error.js';
import { type Frame, newFrame, renderNodeValue, renderPointerAllowed, seedVars, type WalkEnd, type WalkEnv } from './turn-frame.js';

/** Runs one node; a template that fails to render fails the node, not the turn. */
export async function runNode(env: WalkEnv, frame: Frame, pnode: PreparedNode): Promise<Step> {
  try {
    switch (pnode.kind) {
      case 'var.set':
        return varSet(frame, pnode);
      case 'provider.invoke':
        return await invokeProvider(env, frame, pnode);
      case 'remote':
        return {
          out: 'error',
          error: nodeError(
            'unsupported_node_kind',
            `"${pnode.key}" nodes dispatch to an agentic runtime, which this executor does not provide`,
            false,
          ),
        };
      default:
        break;
    }
    const payload = pnode.needsRender ? renderNodeValue(frame, pnode.mapping) : pnode.mapping;
    switch (pnode.kind) {
      case 'emit':
        return emit(frame, payload);
      case 'exec':
        // A `component.exec` whose target is an `emit.*` key is the built-in emit (upstream `HostNode::from`).
        if (execTarget(payload)?.startsWith('emit.')) return emit(frame, payload);
        return await invokeComponent(env, frame, pnode, payload);
      case 'session.wait': {
        const reason = typeof payload === 'string' ? payload : isObject(payload) ? str(payload.reason) : undefined;
        return { out: 'wait', payload, reason: reason ?? 'session.wait' };
      }
      case 'state.get':
        return await stateGet(env, payload);
      case 'state.set':
        return await stateSet(env, payload);
      case 'flow.call':
        return await flowCall(env, frame, pnode, payload);
      case 'flow.goto':
        return flowGoto(payload);
      case 'mcp':
        return await invokeMcp(env, frame, pnode, payload);
      case 'a2a':
        return await invokeA2a(env, frame, pnode, payload);
      default:
        return await invokeComponent(env, frame, pnode, payload);
    }
  } catch (err) {
    if (err instanceof TemplateError) return { out: 'error', error: templateNodeError(err) };
    throw err;
  }
}

function emit(frame: Frame, payload: JsonValue): Step {
  let value = payload;
  if (isObject(payload)) {
    if ('input' in payload) value = payload.input as JsonValue;
    else if ('payload' in payload) value = payload.payload as JsonValue;
  }
  frame.state.egress.push(value);
  return { out: 'ok', payload: value };
}

async function stateGet(env: WalkEnv, payload: JsonValue): Promise<Step> {
  const key = isObject(payload) ? str(payload.key) : undefined;
  if (key === undefined) return { out: 'error', error: nodeError('invalid_node_input', 'state.get needs a non-empty string "key"', false) };
  const pending = env.store.get(key);
  const value = pending instanceof Promise ? await pending : pending;
  return { out: 'ok', payload: { key, value: value ?? null, found: value !== undefined } };
}

async function stateSet(env: WalkEnv, payload: JsonValue): Promise<Step> {
  const key = isObject(payload) ? str(payload.key) : undefined;
  if (key === undefined || !isObject(payload)) {
    return { out: 'error', error: nodeError('invalid_node_input', 'state.set needs a non-empty string "key"', false) };
  }
  const value = payload.value ?? null;
  const pending = env.store.set(key, value);
  if (pending instanceof Promise) await pending;
  return { out: 'ok', payload: { key, value } };
}

function varSet(frame: Frame, pnode: PreparedNode): Step {
  const mapping = pnode.mapping;
  if (!isObject(mapping)) return { out: 'error', error: nodeError('invalid_node_input', 'var.set needs {name, value}', false) };
  const rawName = mapping.name;
  const name = str(typeof rawName === 'string' && rawName.includes('{{') ? renderNodeValue(frame, rawName) : rawName);
  if (name === undefined) return { out: 'error', error: nodeError('invalid_node_input', 'var.set needs a non-empty string "name"', false) };
  const value = renderPointerAllowed(frame, mapping.value ?? null, frame.ctx);
  frame.state.vars[name] = value;
  return { out: 'ok', payload: { ok: true } };
}

function flowGoto(payload: JsonValue): Step {
  if (!isObject(payload))
    return { out: 'error', error: nodeError('invalid_node_input', 'flow.goto needs {flow_id | flow, node?, input?}', false) };
  const target = str(payload.flow_id) ?? str(payload.flow);
  if (target === undefined) return { out: 'error', error: nodeError('invalid_node_input', 'flow.goto needs "flow_id" or "flow"', false) };
  const step: Step = { out: 'jump', payload, flow: target };
  const node = str(payload.node);
  if (node !== undefined) step.node = node;
  if (payload.input !== undefined) step.input = payload.input;
  if (typeof payload.max_redirects === 'number') step.maxRedirects = payload.max_redirects;
  return step;
}

async function flowCall(env: WalkEnv, frame: Frame, pnode: PreparedNode, payload: JsonValue): Promise<Step> {
  if (!isObject(payload))
    return { out: 'error', error: nodeError('invalid_node_input', 'flow.call needs {flow_id | flow, input?}', false) };
  const target = str(payload.flow_id) ?? str(payload.flow);
  if (target === undefined) return { out: 'error', error: nodeError('invalid_node_input', 'flow.call needs "flow_id" or "flow"', false) };
  const caller = frame.flow.flow;
  const callee = await env.resolveFlow(target, caller, caller.id);
  const prepared = prepareFlow(callee);
  const input = payload.input !== undefined ? payload.input : frame.state.input;
  const sub = newFrame(prepared, callee.id, freshState(input, seedVars(callee, undefined)), frame.turn, null);
  let end: WalkEnd = { kind: 'end' };
  try {
    if (prepared.start !== undefined) end = await env.walk(sub, prepared.start, false);
  } catch (err) {
    // A callee node failure is a failure of this node (and may take its error route); engine
    // rules such as the step budget stop the whole turn.
    if (err instanceof FlowRunError && err.nodeFailure) {
      const e = nodeError(err.code, err.message);
      if (err.retryable !== undefined) e.retryable = err.retryable;
      return { out: 'error', error: e };
    }
    throw err;
  } finally {
    frame.turn.lastFlowId = caller.id;
    frame.turn.lastNodeId = pnode.id;
  }
  if (end.kind === 'pause') {
    throw new FlowRunError({
      code: 'subflow_paused',
      message: `flow.call node "${pnode.id}" of flow "${caller.id}": called flow "${callee.id}" paused at node "${end.nextNode}", but a called flow must finish in the same turn (use flow.goto to hand the conversation over)`,
      flowId: caller.id,
      nodeId: pnode.id,
      retryable: false,
    });
  }
  const output = assembleOutput(sub.state.egress, sub.state.last_output ?? undefined);
  return { out: 'ok', payload: withFailureMetadata(output, sub.firstFailure) };
}
