/**
 * The flow executor: walks a compiled `Flow` one node at a time (greentic-flow reference §4),
 * pausing and resuming through JSON snapshots. Everything outside the engine's own built-ins comes
 * in through small interfaces (`ComponentInvoker`, `StateStore`, `FlowResolver`, `Clock`, a per-node
 * trace hook) so the CLI, tests and the Workers runtime plug in their own.
 *
 * Node kinds: `emit.*`, `session.wait`, `state.get`, `state.set`, `var.set`, `flow.call` and
 * `flow.goto` run here. Pack components, `component.exec`, `provider.invoke`, `mcp` and `a2a` are
 * request/response calls and go to the `ComponentInvoker` (tagged with `target.kind`); without an
 * invoker they fail with `unsupported_node_kind`. The agentic / remote-runtime kinds (`dw.agent*`,
 * `sorla.call`, `operala.call`, `agentic.call`, `telco-x.call`, `approval.call`) park on
 * correlated remote responses, which this engine does not model: they always fail with
 * `unsupported_node_kind`.
 */
import { type PreparedFlow, type PreparedNode, prepareFlow, startNode } from './builtins.js';
import { evaluateCondition } from './condition.js';
import {
  type ExecutionState,
  FlowRunError,
  type FlowSnapshot,
  freshState,
  isJsonObject,
  type NodeError,
  type NodeOutput,
  parseSnapshot,
} from './execution-state.js';
import type { Flow, JsonObject, JsonValue } from './model.js';
import { assembleOutput, DEFAULT_FAILURE_TEXT, type FirstFailure, messagingFailureOutput, withFailureMetadata } from './output.js';
import { nowView, renderValue, type TemplateContext, TemplateError } from './template.js';

// ---------------------------------------------------------------------------------------------
// Injected interfaces

export interface ComponentTarget {
  /** Which node kind produced the call; an invoker may refuse kinds it does not serve. */
  kind: 'component' | 'provider' | 'mcp' | 'a2a';
  /** Component id, provider id/type, MCP server, or A2A agent. */
  id: string;
  /** The payload's `config` (component calls whose payload is split into input + config). */
  config?: JsonValue;
  provider_type?: string;
}

export interface InvocationContext {
  packId: string;
  flowId: string;
  nodeId: string;
  /** 1-based whole-run attempt. */
  attempt: number;
  resumed: boolean;
}

export type InvokeResult = { ok: true; output: JsonValue } | { ok: false; error: NodeError };

export interface ComponentInvoker {
  invoke(target: ComponentTarget, operation: string, input: JsonValue, ctx: InvocationContext): InvokeResult | Promise<InvokeResult>;
}

/** Keys are bare `state.get`/`state.set` keys: the caller scopes the store by env/tenant/team/pack. */
export interface StateStore {
  get(key: string): JsonValue | undefined | Promise<JsonValue | undefined>;
  set(key: string, value: JsonValue): void | Promise<void>;
  delete(key: string): void | Promise<void>;
}

/** Other flows of the same pack, for `flow.call`, `flow.goto`, jumps and resumes after a goto. */
export interface FlowResolver {
  getFlow(flowId: string): Flow | undefined | Promise<Flow | undefined>;
}

export interface Clock {
  now(): Date;
}

export type NodeOutcome = 'ok' | 'error' | 'wait' | 'jump' | 'respond';

export interface NodeTrace {
  flowId: string;
  nodeId: string;
  /** The op key (`emit.response`, `state.get`, a component id…). */
  component: string;
  attempt: number;
  durationMs: number;
  outcome: NodeOutcome;
  errorCode?: string;
}

export interface RetryPolicy {
  /** Total attempts of a fresh run, including the first. */
  maxAttempts: number;
  /** Raised to 50 ms when lower, as upstream does. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface ExecutorOptions {
  packId?: string;
  invoker?: ComponentInvoker;
  /** Defaults to an in-memory store owned by this executor. */
  stateStore?: StateStore;
  resolver?: FlowResolver;
  clock?: Clock;
  /** Called after every node execution; the runtime turns these into spans. */
  onNode?: (trace: NodeTrace) => void;
  /** Receives the warnings of each finished or paused turn (they are also in the result). */
  logger?: { warn(message: string): void };
  retry?: Partial<RetryPolicy>;
  sleep?: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1). */
  random?: () => number;
  /** Node executions allowed per turn (sub-flows included) before `step_budget_exceeded`. */
  stepBudget?: number;
  /** Default `flow.goto`/jump redirect limit per turn. */
  maxRedirects?: number;
  /**
   * What a run that still fails after its last attempt returns: `message` = a completed output with
   * the generic failure text (upstream's behaviour for messaging sessions), `throw` = the
   * `FlowRunError`. `auto` (default) picks `message` for `messaging` flows.
   */
  failureMode?: 'auto' | 'message' | 'throw';
  failureText?: string;
}

export interface RunOptions {
  /** Entry point name (default `default`). */
  entrypoint?: string;
  /** Variables the host already holds for this session; `vars_init` defaults fill the gaps. */
  vars?: JsonObject;
}

export interface ResumeOptions {
  /** The flow to resume in, when the caller already has it (else the resolver is asked). */
  flow?: Flow;
}

export interface RunError {
  code: string;
  message: string;
  nodeId?: string;
}

export type FlowRunResult =
  | {
      status: 'done';
      output: JsonValue;
      nodeOutputs: { [nodeId: string]: NodeOutput };
      warnings: string[];
      attempts: number;
      /** Set when the run failed and `output` is the generic messaging failure text. */
      error?: RunError;
    }
  | {
      status: 'waiting';
      output: JsonValue;
      snapshot: FlowSnapshot;
      /** The `session.wait` reason, or `awaiting_submit` for a conditional-route pause. */
      reason: string;
      nodeOutputs: { [nodeId: string]: NodeOutput };
      warnings: string[];
      attempts: number;
    };

export class MemoryStateStore implements StateStore {
  readonly entries = new Map<string, JsonValue>();
  get(key: string): JsonValue | undefined {
    return this.entries.get(key);
  }
  set(key: string, value: JsonValue): void {
    this.entries.set(key, value);
  }
  delete(key: string): void {
    this.entries.delete(key);
  }
}

// ---------------------------------------------------------------------------------------------
// Internals

type Step =
  | { out: 'ok'; payload: JsonValue; outcome?: string }
  | { out: 'error'; error: NodeError; outcome?: string }
  | { out: 'wait'; payload: JsonValue; reason: string }
  | { out: 'jump'; payload: JsonValue; flow: string; node?: string; input?: JsonValue; maxRedirects?: number }
  | { out: 'respond'; payload: JsonValue };

type Route = { t: 'end' } | { t: 'next'; to: string } | { t: 'pause' };

type WalkEnd = { kind: 'end' } | { kind: 'pause'; nextNode: string; reason: string; awaitingSubmit: boolean; output: JsonValue };

interface Turn {
  steps: number;
  limit: number;
  warnings: string[];
  attempt: number;
  resumed: boolean;
  lastFlowId: string;
  lastNodeId: string;
}

interface Frame {
  flow: PreparedFlow;
  originFlowId: string;
  state: ExecutionState;
  turn: Turn;
  ctx: TemplateContext;
  stateView: JsonObject;
  nodeViews: JsonObject;
  entryView: JsonValue;
  response: JsonObject;
  firstFailure: FirstFailure | null;
}

const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 250, maxDelayMs: 30_000 };
const TRANSIENT = /transient|unavailable|internal|timeout/i;
const EMPTY: JsonObject = Object.freeze({}) as JsonObject;

const monotonic: () => number = typeof performance === 'object' ? () => performance.now() : () => Date.now();

function str(value: JsonValue | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function nodeError(code: string, message: string, retryable?: boolean): NodeError {
  return retryable === undefined ? { code, message } : { code, message, retryable };
}

function errorFromValue(value: JsonValue | undefined, fallbackCode: string): NodeError {
  if (isJsonObject(value)) {
    const err: NodeError = {
      code: str(value.code) ?? fallbackCode,
      message: str(value.message) ?? JSON.stringify(value),
    };
    if (typeof value.retryable === 'boolean') err.retryable = value.retryable;
    return err;
  }
  if (typeof value === 'string') return { code: fallbackCode, message: value };
  return { code: fallbackCode, message: 'the component reported a failure without details' };
}

/** Component result conventions: `{ok:false,error}`, MCP-style `{error}`, `greentic_control`, `outcome`. */
function interpretResult(raw: JsonValue, currentFlowId: string): Step {
  if (!isJsonObject(raw)) return { out: 'ok', payload: raw };
  const outcome = typeof raw.outcome === 'string' ? raw.outcome : undefined;
  if (raw.ok === false) {
    const step: Step = { out: 'error', error: errorFromValue(raw.error, 'component_error') };
    if (outcome !== undefined) step.outcome = outcome;
    return step;
  }
  const mcpError = raw.error;
  if (raw.ok !== true && isJsonObject(mcpError) && (typeof mcpError.message === 'string' || typeof mcpError.code === 'string')) {
    const step: Step = { out: 'error', error: errorFromValue(mcpError, 'component_error') };
    if (outcome !== undefined) step.outcome = outcome;
    return step;
  }
  const ctl = raw.greentic_control;
  if (isJsonObject(ctl) && (ctl.v === 1 || ctl.v === undefined)) {
    if (ctl.action === 'jump') {
      const step: Step = { out: 'jump', payload: raw, flow: str(ctl.flow) ?? currentFlowId };
      const node = str(ctl.node);
      if (node !== undefined) step.node = node;
      if (ctl.payload !== undefined) step.input = ctl.payload;
      if (typeof ctl.max_redirects === 'number') step.maxRedirects = ctl.max_redirects;
      return step;
    }
    if (ctl.action === 'respond') {
      const payload: JsonObject = {};
      for (const k of ['text', 'card_cbor', 'needs_user'] as const) {
        const v = ctl[k];
        if (v !== undefined && v !== null) payload[k] = v;
      }
      return { out: 'respond', payload };
    }
  }
  return outcome === undefined ? { out: 'ok', payload: raw } : { out: 'ok', payload: raw, outcome };
}

/** The `node.<id>` template view: payload fields at top level plus the node_io `data`/`errors`. */
function nodeView(output: NodeOutput): JsonValue {
  const errors: JsonValue[] = output.ok ? [] : [output.meta.error ?? null];
  if (!isJsonObject(output.payload)) return { data: output.payload, errors };
  const view: JsonObject = { ...output.payload };
  if (!('data' in view)) view.data = output.payload;
  if (!('errors' in view)) view.errors = errors;
  return view;
}

/** The envelope a card submit or a message arrives in: `entry.input` when it is an object. */
function envelopeOf(entry: JsonValue): JsonObject | undefined {
  if (!isJsonObject(entry)) return undefined;
  return isJsonObject(entry.input) ? entry.input : entry;
}

function responseView(entry: JsonValue): JsonObject {
  const env = envelopeOf(entry);
  if (env === undefined) return {};
  const metadata = isJsonObject(env.metadata) ? env.metadata : isJsonObject(entry) && isJsonObject(entry.metadata) ? entry.metadata : EMPTY;
  const view: JsonObject = { ...metadata };
  if (env.text !== undefined) view.text = env.text;
  return view;
}

/** Card-submit fields: envelope keys minus `metadata`/`text`, plus metadata keys minus `action`. */
function submittedFields(entry: JsonValue): JsonObject {
  const env = envelopeOf(entry);
  const answers: JsonObject = {};
  if (env === undefined) return answers;
  for (const k in env) if (k !== 'metadata' && k !== 'text') answers[k] = env[k] as JsonValue;
  if (isJsonObject(env.metadata)) {
    for (const k in env.metadata) if (k !== 'action') answers[k] = env.metadata[k] as JsonValue;
  }
  return answers;
}

function entryViewOf(entry: JsonValue, answers: JsonObject | null): JsonValue {
  if (!isJsonObject(entry)) return entry;
  // Without an `input` key the entry is its own input, so `in.input.x` and `in.x` both resolve.
  const view = 'input' in entry ? entry : { ...entry, input: entry };
  return answers === null ? view : { ...answers, ...view };
}

function seedVars(flow: Flow, supplied: JsonObject | undefined): JsonObject {
  const vars: JsonObject = supplied === undefined ? {} : { ...supplied };
  const init = flow.metadata?.extra?.vars_init;
  if (!isJsonObject(init)) return vars;
  for (const name in init) {
    const spec = init[name];
    if (!isJsonObject(spec)) continue;
    if (!(name in vars) && 'default' in spec) vars[name] = spec.default as JsonValue;
    if (spec.required === true && (vars[name] === undefined || vars[name] === null)) {
      throw new FlowRunError({
        code: 'required_var_missing',
        message: `flow "${flow.id}" requires variable "${name}" (parameters.vars_init.${name}.required) but it has no default and the run did not supply it`,
        flowId: flow.id,
        retryable: false,
      });
    }
  }
  return vars;
}

function asRunError(err: unknown, flowId: string): FlowRunError {
  if (err instanceof FlowRunError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new FlowRunError({ code: 'executor_failure', message: `flow "${flowId}": ${message}`, flowId, retryable: false });
}

function isTransient(err: FlowRunError): boolean {
  if (err.retryable !== undefined) return err.retryable;
  return TRANSIENT.test(`${err.code} ${err.message}`);
}

// ---------------------------------------------------------------------------------------------

export class FlowExecutor {
  private readonly packId: string;
  private readonly invoker: ComponentInvoker | undefined;
  private readonly store: StateStore;
  private readonly resolver: FlowResolver | undefined;
  private readonly clock: Clock;
  private readonly onNode: ((trace: NodeTrace) => void) | undefined;
  private readonly logger: { warn(message: string): void } | undefined;
  private readonly retry: RetryPolicy;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly stepBudget: number;
  private readonly maxRedirects: number;
  private readonly failureMode: 'auto' | 'message' | 'throw';
  private readonly failureText: string;
  private lastNowMs = Number.NaN;
  private lastNow: JsonObject = EMPTY;

  constructor(options: ExecutorOptions = {}) {
    this.packId = options.packId ?? 'local';
    this.invoker = options.invoker;
    this.store = options.stateStore ?? new MemoryStateStore();
    this.resolver = options.resolver;
    this.clock = options.clock ?? { now: () => new Date() };
    this.onNode = options.onNode;
    this.logger = options.logger;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.stepBudget = options.stepBudget ?? 1000;
    this.maxRedirects = options.maxRedirects ?? 3;
    this.failureMode = options.failureMode ?? 'auto';
    this.failureText = options.failureText ?? DEFAULT_FAILURE_TEXT;
  }

  /** A fresh run from the flow's entry, retried from scratch on transient failures. */
  async run(flow: Flow, input: JsonValue, options: RunOptions = {}): Promise<FlowRunResult> {
    const maxAttempts = Math.max(1, Math.floor(this.retry.maxAttempts));
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.runAttempt(flow, input, options, attempt);
      } catch (err) {
        const error = asRunError(err, flow.id);
        if (attempt < maxAttempts && isTransient(error)) {
          await this.sleep(this.backoffMs(attempt, error));
          continue;
        }
        return this.failed(flow, error, attempt);
      }
    }
  }

  /**
   * Continues a paused run with the next inbound activity, which replaces both `state.input` and
   * `state.entry`. Never retried: a resumed turn has side effects from earlier turns behind it.
   */
  async resume(snapshot: FlowSnapshot | unknown, input: JsonValue, options: ResumeOptions = {}): Promise<FlowRunResult> {
    const snap = parseSnapshot(snapshot);
    if (snap.pack_id !== this.packId) {
      throw new FlowRunError({
        code: 'pack_mismatch',
        message: `snapshot belongs to pack "${snap.pack_id}" but this executor runs pack "${this.packId}"`,
        flowId: snap.flow_id,
        retryable: false,
      });
    }
    const flowId = snap.next_flow ?? snap.flow_id;
    const flow =
      options.flow !== undefined && options.flow.id === flowId ? options.flow : await this.resolveFlow(flowId, undefined, snap.flow_id);
    try {
      return await this.resumeAttempt(flow, snap, input);
    } catch (err) {
      return this.failed(flow, asRunError(err, flow.id), 1);
    }
  }

  // -------------------------------------------------------------------------------------------

  private backoffMs(attempt: number, error: FlowRunError): number {
    const base = Math.max(50, this.retry.baseDelayMs);
    const exponential = base * 2 ** (attempt - 1) + Math.floor(this.random() * base);
    return Math.min(Math.max(exponential, error.backoffMs ?? 0), this.retry.maxDelayMs);
  }

  private failed(flow: Flow, error: FlowRunError, attempts: number): FlowRunResult {
    const asMessage = this.failureMode === 'message' || (this.failureMode === 'auto' && flow.kind === 'messaging');
    if (!asMessage) throw error;
    const runError: RunError = { code: error.code, message: error.message };
    if (error.nodeId !== undefined) runError.nodeId = error.nodeId;
    return {
      status: 'done',
      output: messagingFailureOutput(this.failureText, error.message, flow.id),
      nodeOutputs: {},
      warnings: [],
      attempts,
      error: runError,
    };
  }

  private newTurn(attempt: number, resumed: boolean): Turn {
    return { steps: 0, limit: this.stepBudget, warnings: [], attempt, resumed, lastFlowId: '', lastNodeId: '' };
  }

  private newFrame(flow: PreparedFlow, originFlowId: string, state: ExecutionState, turn: Turn, answers: JsonObject | null): Frame {
    const entryView = entryViewOf(state.entry, answers);
    const stateView: JsonObject = {
      entry: state.entry,
      input: state.input,
      nodes: state.nodes,
      redirect_count: state.redirect_count,
      park_turns: state.park_turns,
      pending_agent_await: state.pending_agent_await,
    };
    const nodeViews: JsonObject = {};
    for (const id in state.nodes) nodeViews[id] = nodeView(state.nodes[id] as NodeOutput);
    const ctx: TemplateContext = {
      entry: entryView,
      in: entryView,
      prev: EMPTY,
      node: nodeViews,
      state: stateView,
      vars: state.vars,
      now: EMPTY,
    };
    for (const w of flow.warnings) turn.warnings.push(w);
    return {
      flow,
      originFlowId,
      state,
      turn,
      ctx,
      stateView,
      nodeViews,
      entryView,
      response: responseView(state.entry),
      firstFailure: null,
    };
  }

  private async runAttempt(flow: Flow, input: JsonValue, options: RunOptions, attempt: number): Promise<FlowRunResult> {
    const prepared = prepareFlow(flow);
    const state = freshState(input, seedVars(flow, options.vars));
    const turn = this.newTurn(attempt, false);
    const frame = this.newFrame(prepared, flow.id, state, turn, null);
    const start = options.entrypoint === undefined ? prepared.start : startNode(flow, options.entrypoint);
    const end: WalkEnd = start === undefined ? { kind: 'end' } : await this.walk(frame, start, false);
    return this.finish(frame, end);
  }

  private async resumeAttempt(flow: Flow, snap: FlowSnapshot, input: JsonValue): Promise<FlowRunResult> {
    const state = snap.state;
    state.input = input;
    state.entry = input;
    state.egress = [];
    state.redirect_count = 0;
    let answers: JsonObject | null = null;
    if (snap.awaiting_submit) {
      answers = submittedFields(input);
      state.pending_card_answers = answers;
    }
    const turn = this.newTurn(1, true);
    const frame = this.newFrame(prepareFlow(flow), snap.flow_id, state, turn, answers);
    const end = await this.walk(frame, snap.next_node, snap.awaiting_submit);
    return this.finish(frame, end);
  }

  private finish(frame: Frame, end: WalkEnd): FlowRunResult {
    const { state, turn } = frame;
    if (this.logger !== undefined) for (const w of turn.warnings) this.logger.warn(`flow "${frame.originFlowId}": ${w}`);
    if (end.kind === 'end') {
      const output = assembleOutput(state.egress, state.last_output ?? undefined);
      return {
        status: 'done',
        output: withFailureMetadata(output, frame.firstFailure),
        nodeOutputs: state.nodes,
        warnings: turn.warnings,
        attempts: turn.attempt,
      };
    }
    const snapshot: FlowSnapshot = {
      pack_id: this.packId,
      flow_id: frame.originFlowId,
      next_node: end.nextNode,
      awaiting_submit: end.awaitingSubmit,
      state: { ...state, egress: [], pending_card_answers: null },
    };
    const currentFlowId = frame.flow.flow.id;
    if (currentFlowId !== frame.originFlowId) snapshot.next_flow = currentFlowId;
    return {
      status: 'waiting',
      output: withFailureMetadata(end.output, frame.firstFailure),
      snapshot,
      reason: end.reason,
      nodeOutputs: state.nodes,
      warnings: turn.warnings,
      attempts: turn.attempt,
    };
  }

  private async resolveFlow(flowId: string, current: Flow | undefined, fromFlowId: string): Promise<Flow> {
    if (current !== undefined && current.id === flowId) return current;
    const found = this.resolver === undefined ? undefined : await this.resolver.getFlow(flowId);
    if (found === undefined) {
      throw new FlowRunError({
        code: 'flow_not_found',
        message:
          this.resolver === undefined
            ? `flow "${fromFlowId}" refers to flow "${flowId}", but no flow resolver is configured`
            : `flow "${fromFlowId}" refers to flow "${flowId}", which is not in pack "${this.packId}"`,
        flowId: fromFlowId,
        retryable: false,
      });
    }
    return found;
  }

  private nowView(): JsonObject {
    const date = this.clock.now();
    const ms = date.getTime();
    // Rendering `now` costs a Date format per node; nodes in the same millisecond share one view.
    if (ms !== this.lastNowMs) {
      this.lastNowMs = ms;
      this.lastNow = nowView(date);
    }
    return this.lastNow;
  }

  private warn(frame: Frame, message: string): void {
    frame.turn.warnings.push(message);
  }

  // -------------------------------------------------------------------------------------------
  // The walk

  private async walk(frame: Frame, startId: string, rerunAwaiting: boolean): Promise<WalkEnd> {
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

      const ctx = frame.ctx;
      ctx.prev = frame.state.last_output ?? EMPTY;
      ctx.now = this.nowView();
      const started = this.onNode === undefined ? 0 : monotonic();
      const step = await this.execNode(frame, pnode);

      let output: NodeOutput;
      if (step.out === 'error') {
        const err = step.error;
        if (pnode.routing.t !== 'custom' || !pnode.routing.hasErrorRoute) {
          this.trace(frame, pnode, started, 'error', err.code);
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
        if (rerun && isJsonObject(payload) && frame.state.pending_card_answers !== null) {
          payload = { ...payload, answers: this.filteredAnswers(frame, pnode) };
        }
        output = { ok: true, payload, meta: {} };
      }
      this.record(frame, id, output);
      if (pnode.varsOut !== null) this.applyVarsOut(frame, pnode, output.payload);
      this.trace(frame, pnode, started, step.out === 'error' ? 'error' : step.out);

      if (step.out === 'respond') return { kind: 'end' };
      if (step.out === 'jump') {
        id = await this.jump(frame, pnode, step);
        continue;
      }
      if (step.out === 'wait') {
        const next = this.route(frame, pnode, output, undefined);
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

      const next = this.route(frame, pnode, output, step.outcome);
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

  private record(frame: Frame, id: string, output: NodeOutput): void {
    frame.state.nodes[id] = output;
    frame.state.last_output = output.payload;
    frame.nodeViews[id] = nodeView(output);
  }

  private filteredAnswers(frame: Frame, pnode: PreparedNode): JsonObject {
    const answers = frame.state.pending_card_answers;
    if (!isJsonObject(answers)) return {};
    if (pnode.answerFields === null) return answers;
    const filtered: JsonObject = {};
    for (const f of pnode.answerFields) if (f in answers) filtered[f] = answers[f] as JsonValue;
    return filtered;
  }

  private trace(frame: Frame, pnode: PreparedNode, started: number, outcome: NodeOutcome, errorCode?: string): void {
    if (this.onNode === undefined) return;
    const trace: NodeTrace = {
      flowId: frame.flow.flow.id,
      nodeId: pnode.id,
      component: pnode.key,
      attempt: frame.turn.attempt,
      durationMs: monotonic() - started,
      outcome,
    };
    if (errorCode !== undefined) trace.errorCode = errorCode;
    this.onNode(trace);
  }

  private route(frame: Frame, pnode: PreparedNode, output: NodeOutput, outcome: string | undefined): Route {
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
          rctx ??= this.routingContext(frame, output, event);
          if (!evaluateCondition(r.condition, rctx)) continue;
        }
        if (r.to !== null && !frame.flow.nodes.has(r.to)) {
          this.warn(frame, `node "${pnode.id}": route to "${r.to}" matched but no such node exists; route skipped`);
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
  private routingContext(frame: Frame, output: NodeOutput, event: string): JsonObject {
    const rctx: JsonObject = isJsonObject(output.payload) ? { ...output.payload } : {};
    rctx.entry = frame.entryView;
    rctx.in = frame.entryView;
    rctx.node = frame.nodeViews;
    rctx.response = frame.response;
    rctx.event = event;
    return rctx;
  }

  private applyVarsOut(frame: Frame, pnode: PreparedNode, payload: JsonValue): void {
    const ctx = frame.ctx;
    ctx.prev = payload;
    for (const [name, template] of pnode.varsOut ?? []) {
      try {
        frame.state.vars[name] = this.renderPointerAllowed(frame, template, ctx);
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

  /** Pointer-allowed spots (`var.set` value, `vars_out`, provider maps): `/a/b` strings are JSON pointers. */
  private renderPointerAllowed(frame: Frame, value: JsonValue, ctx: TemplateContext): JsonValue {
    if (typeof value !== 'object' && (typeof value !== 'string' || (!value.includes('{{') && !value.startsWith('/')))) return value;
    return renderValue(value, ctx, frame.turn.warnings, POINTER_ALLOWED);
  }

  private async jump(
    frame: Frame,
    pnode: PreparedNode,
    step: { flow: string; node?: string; input?: JsonValue; maxRedirects?: number },
  ): Promise<string> {
    const { state } = frame;
    const limit = step.maxRedirects ?? this.maxRedirects;
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
    const target = await this.resolveFlow(step.flow, fromFlow, fromFlow.id);
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

  // -------------------------------------------------------------------------------------------
  // Node kinds

  private async execNode(frame: Frame, pnode: PreparedNode): Promise<Step> {
    try {
      switch (pnode.kind) {
        case 'var.set':
          return this.varSet(frame, pnode);
        case 'provider.invoke':
          return await this.providerInvoke(frame, pnode);
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
      const payload = pnode.needsRender ? renderValue(pnode.mapping, frame.ctx, frame.turn.warnings) : pnode.mapping;
      switch (pnode.kind) {
        case 'emit':
          return this.emit(frame, payload);
        case 'session.wait': {
          const reason = typeof payload === 'string' ? payload : isJsonObject(payload) ? str(payload.reason) : undefined;
          return { out: 'wait', payload, reason: reason ?? 'session.wait' };
        }
        case 'state.get':
          return await this.stateGet(payload);
        case 'state.set':
          return await this.stateSet(payload);
        case 'flow.call':
          return await this.flowCall(frame, pnode, payload);
        case 'flow.goto':
          return this.flowGoto(frame, payload);
        case 'mcp':
          return await this.mcp(frame, pnode, payload);
        case 'a2a':
          return await this.a2a(frame, pnode, payload);
        default:
          return await this.component(frame, pnode, payload);
      }
    } catch (err) {
      if (err instanceof TemplateError) return { out: 'error', error: templateNodeError(err) };
      throw err;
    }
  }

  private emit(frame: Frame, payload: JsonValue): Step {
    let value = payload;
    if (isJsonObject(payload)) {
      if ('input' in payload) value = payload.input as JsonValue;
      else if ('payload' in payload) value = payload.payload as JsonValue;
    }
    frame.state.egress.push(value);
    return { out: 'ok', payload: value };
  }

  private async stateGet(payload: JsonValue): Promise<Step> {
    const key = isJsonObject(payload) ? str(payload.key) : undefined;
    if (key === undefined)
      return { out: 'error', error: nodeError('invalid_node_input', 'state.get needs a non-empty string "key"', false) };
    const pending = this.store.get(key);
    const value = pending instanceof Promise ? await pending : pending;
    return { out: 'ok', payload: { key, value: value ?? null, found: value !== undefined } };
  }

  private async stateSet(payload: JsonValue): Promise<Step> {
    const key = isJsonObject(payload) ? str(payload.key) : undefined;
    if (key === undefined || !isJsonObject(payload)) {
      return { out: 'error', error: nodeError('invalid_node_input', 'state.set needs a non-empty string "key"', false) };
    }
    const value = payload.value ?? null;
    const pending = this.store.set(key, value);
    if (pending instanceof Promise) await pending;
    return { out: 'ok', payload: { key, value } };
  }

  private varSet(frame: Frame, pnode: PreparedNode): Step {
    const mapping = pnode.mapping;
    if (!isJsonObject(mapping)) return { out: 'error', error: nodeError('invalid_node_input', 'var.set needs {name, value}', false) };
    const rawName = mapping.name;
    const name = str(
      typeof rawName === 'string' && rawName.includes('{{') ? renderValue(rawName, frame.ctx, frame.turn.warnings) : rawName,
    );
    if (name === undefined)
      return { out: 'error', error: nodeError('invalid_node_input', 'var.set needs a non-empty string "name"', false) };
    const value = this.renderPointerAllowed(frame, mapping.value ?? null, frame.ctx);
    frame.state.vars[name] = value;
    return { out: 'ok', payload: { ok: true } };
  }

  private flowGoto(_frame: Frame, payload: JsonValue): Step {
    if (!isJsonObject(payload))
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

  private async flowCall(frame: Frame, pnode: PreparedNode, payload: JsonValue): Promise<Step> {
    if (!isJsonObject(payload))
      return { out: 'error', error: nodeError('invalid_node_input', 'flow.call needs {flow_id | flow, input?}', false) };
    const target = str(payload.flow_id) ?? str(payload.flow);
    if (target === undefined) return { out: 'error', error: nodeError('invalid_node_input', 'flow.call needs "flow_id" or "flow"', false) };
    const caller = frame.flow.flow;
    const callee = await this.resolveFlow(target, caller, caller.id);
    const prepared = prepareFlow(callee);
    const input = payload.input !== undefined ? payload.input : frame.state.input;
    const sub = this.newFrame(prepared, callee.id, freshState(input, seedVars(callee, undefined)), frame.turn, null);
    let end: WalkEnd = { kind: 'end' };
    try {
      if (prepared.start !== undefined) end = await this.walk(sub, prepared.start, false);
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

  private context(frame: Frame, pnode: PreparedNode): InvocationContext {
    return {
      packId: this.packId,
      flowId: frame.flow.flow.id,
      nodeId: pnode.id,
      attempt: frame.turn.attempt,
      resumed: frame.turn.resumed,
    };
  }

  private async callInvoker(
    frame: Frame,
    pnode: PreparedNode,
    target: ComponentTarget,
    operation: string,
    input: JsonValue,
  ): Promise<Step> {
    if (this.invoker === undefined) {
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
      const pending = this.invoker.invoke(target, operation, input, this.context(frame, pnode));
      result = pending instanceof Promise ? await pending : pending;
    } catch (err) {
      if (err instanceof FlowRunError) throw err;
      const message = err instanceof Error ? err.message : String(err);
      return { out: 'error', error: nodeError('component_failed', `${target.id}.${operation} threw: ${message}`) };
    }
    if (!result.ok) return { out: 'error', error: result.error };
    return interpretResult(result.output, frame.flow.flow.id);
  }

  private async component(frame: Frame, pnode: PreparedNode, payload: JsonValue): Promise<Step> {
    const obj = isJsonObject(payload) ? payload : undefined;
    let componentId: string | undefined;
    if (pnode.kind === 'exec') {
      componentId = str(obj?.component) ?? str(obj?.component_ref);
      if (componentId === undefined) {
        return {
          out: 'error',
          error: nodeError('invalid_node_input', 'component.exec needs "component" (or "component_ref") in its payload', false),
        };
      }
    } else {
      componentId = pnode.node.component.id;
    }
    // The compiler names the op key as the operation; for the exec shape that is `component.exec` itself.
    const nodeOperation = pnode.node.component.operation;
    let operation =
      (nodeOperation === 'component.exec' ? undefined : str(nodeOperation ?? undefined)) ?? str(obj?.operation) ?? str(obj?.op);
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
        out: 'error',
        error: nodeError(
          'missing_operation',
          `component "${componentId}" has no operation (node operation, payload "operation"/"op")`,
          false,
        ),
      };
    }
    let input: JsonValue = payload;
    const target: ComponentTarget = { kind: 'component', id: componentId };
    if (obj !== undefined && 'input' in obj && Object.keys(obj).every((k) => SPLIT_KEYS.has(k))) {
      input = obj.input as JsonValue;
      if (obj.config !== undefined) target.config = obj.config;
    }
    return this.callInvoker(frame, pnode, target, operation, input);
  }

  private async mcp(frame: Frame, pnode: PreparedNode, payload: JsonValue): Promise<Step> {
    const obj = isJsonObject(payload) ? payload : EMPTY;
    let server = str(obj.server);
    let tool = str(obj.tool);
    if (pnode.key.startsWith('mcp:')) {
      const [s, t] = pnode.key.slice(4).split('/', 2);
      server ??= str(s);
      tool ??= str(t);
    }
    if (server === undefined || tool === undefined) {
      return { out: 'error', error: nodeError('invalid_node_input', 'mcp node needs non-empty "server" and "tool"', false) };
    }
    const step = await this.callInvoker(frame, pnode, { kind: 'mcp', id: server }, tool, obj.arguments ?? {});
    return wrapOutput(step, str(obj.output));
  }

  private async a2a(frame: Frame, pnode: PreparedNode, payload: JsonValue): Promise<Step> {
    const obj = isJsonObject(payload) ? payload : EMPTY;
    const agent = str(obj.agent) ?? (pnode.key.startsWith('a2a:') ? str(pnode.key.slice(4)) : undefined);
    if (agent === undefined) return { out: 'error', error: nodeError('invalid_node_input', 'a2a node needs a non-empty "agent"', false) };
    const step = await this.callInvoker(frame, pnode, { kind: 'a2a', id: agent }, 'message', obj.message ?? null);
    return wrapOutput(step, str(obj.output));
  }

  private async providerInvoke(frame: Frame, pnode: PreparedNode): Promise<Step> {
    const mapping = isJsonObject(pnode.mapping) ? pnode.mapping : EMPTY;
    const { in_map: inMap, out_map: outMap, ...rest } = mapping;
    const obj = renderValue(rest, frame.ctx, frame.turn.warnings);
    if (!isJsonObject(obj))
      return { out: 'error', error: nodeError('invalid_node_input', 'provider.invoke needs an object payload', false) };
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
      input = this.renderPointerAllowed(frame, inMap, { ...frame.ctx, input, result: input });
    }
    const target: ComponentTarget = { kind: 'provider', id: providerId };
    const providerType = str(obj.provider_type);
    if (providerType !== undefined) target.provider_type = providerType;
    const step = await this.callInvoker(frame, pnode, target, operation, input);
    if (outMap === undefined || step.out !== 'ok') return step;
    const mapped = this.renderPointerAllowed(frame, outMap, { ...frame.ctx, input, result: step.payload });
    return { ...step, payload: mapped };
  }
}

const POINTER_ALLOWED = Object.freeze({ allowPointer: true });

function templateNodeError(err: TemplateError): NodeError {
  return nodeError(err.code === 'PointerNotFound' ? 'pointer_not_found' : 'template_error', err.message, false);
}

const SPLIT_KEYS = new Set(['input', 'operation', 'op', 'component', 'component_ref', 'config']);

function wrapOutput(step: Step, outputKey: string | undefined): Step {
  if (outputKey === undefined || step.out !== 'ok') return step;
  return { ...step, payload: { [outputKey]: step.payload } };
}

/** Runs one flow with default options (an in-memory state store, no components). */
export function runFlow(flow: Flow, input: JsonValue, options: ExecutorOptions & RunOptions = {}): Promise<FlowRunResult> {
  return new FlowExecutor(options).run(flow, input, options);
}
