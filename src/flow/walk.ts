/**
 * The walk (greentic-flow reference §4): one node at a time from a start node, recording each
 * result, applying `vars_out`, and following routes, jumps and pauses until the flow ends, pauses
 * or breaks an engine rule (step budget, redirect limit, missing node).
 */

import { isObject } from '../core/is-object.js';
import { type PreparedNode, prepareFlow } from './builtins.js';
import { evaluateCondition } from './condition.js';
import { FlowRunError, type NodeOutput } from './execution-state.js';
import type { JsonObject, JsonValue } from './model.js';
import { templateNodeError } from './node-results.js';
import { assembleOutput } from './output.js';
import type { NodeOutcome, NodeTrace } from './ports.js';
import { runNode } from './run-node.js';
import { TemplateError } from './template-error.js';
import { EMPTY, type Frame, nodeView, renderPointerAllowed, seedVars, type Turn, type WalkEnd, type WalkEnv } from './turn-frame.js';
import { WORK_COSTS, WorkBudgetExceeded } from './work-meter.js';

type Route = { t: 'end' } | { t: 'next'; to: string } | { t: 'pause' };

const monotonic: () => number = typeof performance === 'object' ? () => performance.now() : () => Date.now();

/**
 * Runs nodes from `startId` until the flow ends or pauses. `rerunAwaiting` re-runs a node that parked
 * for a card submit, adding the submitted answers to its payload. Running out of the turn's work
 * budget ends the whole turn (`turn_budget_exceeded`), never just the node: an error route must
 * not turn an exhausted budget into another lap.
 */
export async function walk(env: WalkEnv, frame: Frame, startId: string, rerunAwaiting: boolean): Promise<WalkEnd> {
  try {
    return await walkNodes(env, frame, startId, rerunAwaiting);
  } catch (err) {
    if (err instanceof WorkBudgetExceeded) throw budgetError(err, frame.turn);
    throw err;
  }
}

function budgetError(err: WorkBudgetExceeded, turn: Turn): FlowRunError {
  return new FlowRunError({
    code: err.code,
    message: `flow "${turn.lastFlowId}", node "${turn.lastNodeId}": ${err.message}`,
    flowId: turn.lastFlowId,
    nodeId: turn.lastNodeId,
    retryable: false,
  });
}

async function walkNodes(env: WalkEnv, frame: Frame, startId: string, rerunAwaiting: boolean): Promise<WalkEnd> {
  let id = startId;
  let rerunPending = rerunAwaiting;
  const turn = frame.turn;
  for (;;) {
    const rerun = rerunPending;
    rerunPending = false;
    const flowId = frame.flow.flow.id;
    const pnode = frame.flow.nodes.get(id);
    if (pnode === undefined) {
      throw new FlowRunError({
        code: 'missing_node',
        message: `flow "${flowId}" has no node "${id}"${turn.lastNodeId === '' ? '' : ` (routed from node "${turn.lastNodeId}")`}`,
        flowId,
        nodeId: id,
        retryable: false,
      });
    }
    if (turn.steps >= turn.limit) {
      throw new FlowRunError({
        code: 'step_budget_exceeded',
        message: `flow "${turn.lastFlowId}" executed ${turn.limit} node steps in one turn without finishing or pausing; last node "${turn.lastNodeId}" (a routing loop?)`,
        flowId: turn.lastFlowId,
        nodeId: turn.lastNodeId,
        retryable: false,
      });
    }
    turn.steps++;
    turn.lastFlowId = flowId;
    turn.lastNodeId = id;
    turn.meter.charge(WORK_COSTS.nodeStep, 'running a node');

    const ctx = frame.ctx;
    ctx.prev = frame.state.last_output ?? EMPTY;
    ctx.now = env.now();
    const started = env.onNode === undefined ? 0 : monotonic();
    const step = await runNode(env, frame, pnode);

    let output: NodeOutput;
    if (step.out === 'error') {
      const err = step.error;
      if (pnode.routing.t !== 'custom' || !pnode.routing.hasErrorRoute) {
        trace(env, frame, pnode, started, 'error', err.code);
        throw new FlowRunError({
          code: err.code,
          message: `node "${id}" of flow "${flowId}" failed: ${err.message}`,
          flowId,
          nodeId: id,
          ...(err.retryable === undefined ? {} : { retryable: err.retryable }),
          ...(err.backoffMs === undefined ? {} : { backoffMs: err.backoffMs }),
          nodeFailure: true,
        });
      }
      const errorValue: JsonObject = { code: err.code, message: err.message };
      output = { ok: false, payload: { error: errorValue }, meta: { error: errorValue } };
      frame.firstFailure ??= { nodeId: id, code: err.code, message: err.message };
    } else {
      let payload = step.payload;
      if (rerun && isObject(payload) && frame.state.pending_card_answers !== null) {
        payload = { ...payload, answers: filteredAnswers(frame, pnode) };
      }
      output = { ok: true, payload, meta: {} };
    }
    record(frame, id, output);
    if (pnode.varsOut !== null) applyVarsOut(frame, pnode, output.payload);
    trace(env, frame, pnode, started, step.out === 'error' ? 'error' : step.out);

    if (step.out === 'respond') return { kind: 'end' };
    if (step.out === 'jump') {
      id = await jump(env, frame, pnode, step);
      continue;
    }
    if (step.out === 'wait') {
      const next = route(frame, pnode, output, undefined);
      if (next.t !== 'next') {
        throw new FlowRunError({
          code: 'wait_without_successor',
          message: `session.wait node "${id}" of flow "${flowId}" has no successor route to resume at`,
          flowId,
          nodeId: id,
          retryable: false,
        });
      }
      return {
        kind: 'pause',
        nextNode: next.to,
        reason: step.reason,
        awaitingSubmit: false,
        output: assembleOutput(frame.state.egress, undefined),
      };
    }

    const next = route(frame, pnode, output, step.outcome);
    if (rerun && 'action' in frame.response) {
      // The submit's `action` drove this node's routing only; a later card in the same turn must
      // not see it again, or it would route straight through instead of parking.
      {
        const { action: _consumed, ...rest } = frame.response;
        frame.response = rest;
      }
    }
    if (next.t === 'end') return { kind: 'end' };
    if (next.t === 'pause') {
      return {
        kind: 'pause',
        nextNode: id,
        reason: 'awaiting_submit',
        awaitingSubmit: true,
        output: assembleOutput(frame.state.egress, output.payload),
      };
    }
    id = next.to;
  }
}

function record(frame: Frame, id: string, output: NodeOutput): void {
  // The node's template view copies the payload's keys (and a routing context does again): a
  // payload with many keys, even a static one, costs by them on every lap.
  if (isObject(output.payload)) frame.turn.meter.charge(Object.keys(output.payload).length, 'recording a node result');
  frame.state.nodes[id] = output;
  frame.state.last_output = output.payload;
  frame.turn.transcript.push({ nodeId: id, payload: output.payload });
  frame.nodeViews[id] = nodeView(output);
}

function filteredAnswers(frame: Frame, pnode: PreparedNode): JsonObject {
  const answers = frame.state.pending_card_answers;
  if (!isObject(answers)) return {};
  if (pnode.answerFields === null) return answers;
  const filtered: JsonObject = {};
  for (const f of pnode.answerFields) if (f in answers) filtered[f] = answers[f] as JsonValue;
  return filtered;
}

function trace(env: WalkEnv, frame: Frame, pnode: PreparedNode, started: number, outcome: NodeOutcome, errorCode?: string): void {
  if (env.onNode === undefined) return;
  const trace: NodeTrace = {
    flowId: frame.flow.flow.id,
    nodeId: pnode.id,
    component: pnode.key,
    attempt: frame.turn.attempt,
    durationMs: monotonic() - started,
    outcome,
  };
  if (errorCode !== undefined) trace.errorCode = errorCode;
  env.onNode(trace);
}

function route(frame: Frame, pnode: PreparedNode, output: NodeOutput, outcome: string | undefined): Route {
  const routing = pnode.routing;
  let target: string;
  if (routing.t === 'end') return routing;
  if (routing.t === 'next') {
    target = routing.to;
  } else {
    const event = outcome ?? (output.ok ? routing.successPort : routing.failurePort);
    let rctx: JsonObject | undefined;
    let chosen: string | null | undefined;
    for (const r of routing.routes) {
      if (r.condition === undefined && r.event === undefined) {
        chosen = r.to;
        break;
      }
      if (r.event !== undefined && r.event !== event) continue;
      if (r.condition !== undefined) {
        if (rctx === undefined && isObject(output.payload))
          frame.turn.meter.charge(Object.keys(output.payload).length, 'evaluating a route condition');
        rctx ??= routingContext(frame, output, event);
        if (!evaluateCondition(r.condition, rctx, frame.turn.meter)) continue;
      }
      if (r.to !== null && !frame.flow.nodes.has(r.to)) {
        frame.turn.warnings.push(`node "${pnode.id}": route to "${r.to}" matched but no such node exists; route skipped`);
        continue;
      }
      chosen = r.to;
      break;
    }
    if (chosen === undefined) {
      // Upstream parks on an unmatched conditional route array (a card waiting for its submit).
      return routing.hasCondition ? { t: 'pause' } : { t: 'end' };
    }
    if (chosen === null) return { t: 'end' };
    target = chosen;
  }
  if (!frame.flow.nodes.has(target)) {
    throw new FlowRunError({
      code: 'missing_node',
      message: `node "${pnode.id}" of flow "${frame.flow.flow.id}" routes to "${target}", which does not exist`,
      flowId: frame.flow.flow.id,
      nodeId: pnode.id,
      retryable: false,
    });
  }
  return { t: 'next', to: target };
}

/** Routing context: own payload fields at top level, then `entry`, `in`, `node`, `response`, `event`. */
function routingContext(frame: Frame, output: NodeOutput, event: string): JsonObject {
  const rctx: JsonObject = isObject(output.payload) ? { ...output.payload } : {};
  rctx.entry = frame.entryView;
  rctx.in = frame.entryView;
  rctx.node = frame.nodeViews;
  rctx.response = frame.response;
  rctx.event = event;
  return rctx;
}

function applyVarsOut(frame: Frame, pnode: PreparedNode, payload: JsonValue): void {
  const ctx = frame.ctx;
  ctx.prev = payload;
  for (const [name, template] of pnode.varsOut ?? []) {
    try {
      frame.state.vars[name] = renderPointerAllowed(frame, template, ctx);
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      const e = templateNodeError(err);
      throw new FlowRunError({
        code: e.code,
        message: `node "${pnode.id}" of flow "${frame.flow.flow.id}": vars_out.${name}: ${e.message}`,
        flowId: frame.flow.flow.id,
        nodeId: pnode.id,
        retryable: false,
        nodeFailure: true,
      });
    }
  }
}

async function jump(
  env: WalkEnv,
  frame: Frame,
  pnode: PreparedNode,
  step: { flow: string; node?: string; input?: JsonValue; maxRedirects?: number },
): Promise<string> {
  const { state } = frame;
  const limit = step.maxRedirects ?? env.maxRedirects;
  state.redirect_count++;
  frame.stateView.redirect_count = state.redirect_count;
  const fromFlow = frame.flow.flow;
  if (state.redirect_count > limit) {
    throw new FlowRunError({
      code: 'redirect_limit',
      message: `node "${pnode.id}" of flow "${fromFlow.id}" redirected to flow "${step.flow}" more than ${limit} times in one turn`,
      flowId: fromFlow.id,
      nodeId: pnode.id,
      retryable: false,
    });
  }
  const target = await env.resolveFlow(step.flow, fromFlow, fromFlow.id);
  if (target !== fromFlow) {
    frame.flow = prepareFlow(target);
    for (const w of frame.flow.warnings) frame.turn.warnings.push(w);
    const seeded = seedVars(target, state.vars);
    for (const k in seeded) state.vars[k] = seeded[k] as JsonValue;
  }
  if (step.input !== undefined) {
    state.input = step.input;
    frame.stateView.input = step.input;
    state.last_output = step.input;
  }
  const start = step.node ?? frame.flow.start;
  if (start === undefined || !frame.flow.nodes.has(start)) {
    throw new FlowRunError({
      code: 'missing_node',
      message: `node "${pnode.id}" of flow "${fromFlow.id}" jumps to ${start === undefined ? 'an empty flow' : `node "${start}"`} in flow "${target.id}", which does not exist`,
      flowId: fromFlow.id,
      nodeId: pnode.id,
      retryable: false,
    });
  }
  return start;
}
