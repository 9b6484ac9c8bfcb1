/**
 * The flow executor: walks a compiled `Flow` one node at a time (greentic-flow reference §4),
 * pausing and resuming through JSON snapshots, and retrying a fresh run from scratch on transient
 * failures. Everything outside the engine's own built-ins comes in through the small interfaces of
 * ports.ts, so the CLI, tests and the Workers runtime plug in their own.
 *
 * This file holds the public entry (`FlowExecutor`, `runFlow`, their options and results) and the
 * run/resume/retry policy around a turn; the turn itself is walk.ts, one node is run-node.ts (the
 * built-ins) or invoke-node.ts (calls through the `ComponentInvoker`), and node-results.ts is what
 * a node yields.
 */
import { errorMessage } from '../core/coded-error.js';
import { prepareFlow, startNode } from './builtins.js';
import { FlowRunError, type FlowSnapshot, freshState, type NodeOutput, parseSnapshot } from './execution-state.js';
import type { Flow, JsonObject, JsonValue } from './model.js';
import { assembleOutput, DEFAULT_FAILURE_TEXT, messagingFailureOutput, withFailureMetadata } from './output.js';
import { type Clock, type ComponentInvoker, type FlowResolver, MemoryStateStore, type NodeTrace, type StateStore } from './ports.js';
import { nowView } from './template.js';
import {
  EMPTY,
  type Frame,
  newFrame,
  seedVars,
  submittedFields,
  type TranscriptEntry,
  type Turn,
  type WalkEnd,
  type WalkEnv,
} from './turn-frame.js';
import { walk } from './walk.js';
import { DEFAULT_TURN_WORK_BUDGET, WorkMeter } from './work-meter.js';

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
  /**
   * Engine work units allowed per turn (sub-flows included) before `turn_budget_exceeded`: template
   * steps, rendered and compared text, copied values, node steps (work-meter.ts).
   */
  workBudget?: number;
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
  /** A node to start at instead of the entry point (card navigation to a node). */
  startNode?: string;
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
      /** Engine work units the turn spent (work-meter.ts). */
      workUnits: number;
      /** Set when the run failed and `output` is the generic messaging failure text. */
      error?: RunError;
      /** Node payloads of this turn in execution order, and how many payloads `emit.*` nodes sent. */
      transcript: TranscriptEntry[];
      emitted: number;
    }
  | {
      status: 'waiting';
      output: JsonValue;
      snapshot: FlowSnapshot;
      /** The `session.wait` reason, or `awaiting_submit` for a conditional-route pause. */
      reason: string;
      transcript: TranscriptEntry[];
      emitted: number;
      nodeOutputs: { [nodeId: string]: NodeOutput };
      warnings: string[];
      attempts: number;
      /** Engine work units the turn spent (work-meter.ts). */
      workUnits: number;
    };

const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 250, maxDelayMs: 30_000 };
const TRANSIENT = /transient|unavailable|internal|timeout/i;

function asRunError(err: unknown, flowId: string): FlowRunError {
  if (err instanceof FlowRunError) return err;
  return new FlowRunError({ code: 'executor_failure', message: `flow "${flowId}": ${errorMessage(err)}`, flowId, retryable: false });
}

function isTransient(err: FlowRunError): boolean {
  if (err.retryable !== undefined) return err.retryable;
  return TRANSIENT.test(`${err.code} ${err.message}`);
}

export class FlowExecutor {
  private readonly packId: string;
  private readonly resolver: FlowResolver | undefined;
  private readonly clock: Clock;
  private readonly logger: { warn(message: string): void } | undefined;
  private readonly retry: RetryPolicy;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly stepBudget: number;
  private readonly workBudget: number;
  private readonly failureMode: 'auto' | 'message' | 'throw';
  private readonly failureText: string;
  private lastNowMs = Number.NaN;
  private lastNow: JsonObject = EMPTY;
  private readonly env: WalkEnv;

  constructor(options: ExecutorOptions = {}) {
    this.packId = options.packId ?? 'local';
    this.resolver = options.resolver;
    this.clock = options.clock ?? { now: () => new Date() };
    this.logger = options.logger;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.stepBudget = options.stepBudget ?? 1000;
    this.workBudget = options.workBudget ?? DEFAULT_TURN_WORK_BUDGET;
    this.failureMode = options.failureMode ?? 'auto';
    this.failureText = options.failureText ?? DEFAULT_FAILURE_TEXT;
    this.env = {
      packId: this.packId,
      invoker: options.invoker,
      store: options.stateStore ?? new MemoryStateStore(),
      maxRedirects: options.maxRedirects ?? 3,
      onNode: options.onNode,
      now: () => this.nowView(),
      resolveFlow: (flowId, current, fromFlowId) => this.resolveFlow(flowId, current, fromFlowId),
      walk: (frame, startId, rerunAwaiting) => walk(this.env, frame, startId, rerunAwaiting),
    };
  }

  /** A fresh run from the flow's entry, retried from scratch on transient failures. */
  async run(flow: Flow, input: JsonValue, options: RunOptions = {}): Promise<FlowRunResult> {
    const maxAttempts = Math.max(1, Math.floor(this.retry.maxAttempts));
    for (let attempt = 1; ; attempt++) {
      const turn = this.newTurn(attempt, false);
      try {
        return await this.runAttempt(flow, input, options, turn);
      } catch (err) {
        const error = asRunError(err, flow.id);
        if (attempt < maxAttempts && isTransient(error)) {
          await this.sleep(this.backoffMs(attempt, error));
          continue;
        }
        return this.failed(flow, error, turn);
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
    const turn = this.newTurn(1, true);
    try {
      return await this.resumeAttempt(flow, snap, input, turn);
    } catch (err) {
      return this.failed(flow, asRunError(err, flow.id), turn);
    }
  }

  // -------------------------------------------------------------------------------------------

  private backoffMs(attempt: number, error: FlowRunError): number {
    const base = Math.max(50, this.retry.baseDelayMs);
    const exponential = base * 2 ** (attempt - 1) + Math.floor(this.random() * base);
    return Math.min(Math.max(exponential, error.backoffMs ?? 0), this.retry.maxDelayMs);
  }

  private failed(flow: Flow, error: FlowRunError, turn: Turn): FlowRunResult {
    const asMessage = this.failureMode === 'message' || (this.failureMode === 'auto' && flow.kind === 'messaging');
    if (!asMessage) throw error;
    const runError: RunError = { code: error.code, message: error.message };
    if (error.nodeId !== undefined) runError.nodeId = error.nodeId;
    return {
      status: 'done',
      output: messagingFailureOutput(this.failureText, error.message, flow.id),
      nodeOutputs: {},
      warnings: [],
      attempts: turn.attempt,
      workUnits: turn.meter.spent,
      error: runError,
      transcript: turn.transcript,
      emitted: 0,
    };
  }

  private newTurn(attempt: number, resumed: boolean): Turn {
    const meter = new WorkMeter(this.workBudget);
    return {
      steps: 0,
      limit: this.stepBudget,
      meter,
      render: { meter },
      renderPointer: { allowPointer: true, meter },
      warnings: [],
      attempt,
      resumed,
      lastFlowId: '',
      lastNodeId: '',
      transcript: [],
    };
  }

  private async runAttempt(flow: Flow, input: JsonValue, options: RunOptions, turn: Turn): Promise<FlowRunResult> {
    const prepared = prepareFlow(flow);
    const state = freshState(input, seedVars(flow, options.vars));
    const frame = newFrame(prepared, flow.id, state, turn, null);
    const start = options.startNode ?? (options.entrypoint === undefined ? prepared.start : startNode(flow, options.entrypoint));
    const end: WalkEnd = start === undefined ? { kind: 'end' } : await walk(this.env, frame, start, false);
    return this.finish(frame, end);
  }

  private async resumeAttempt(flow: Flow, snap: FlowSnapshot, input: JsonValue, turn: Turn): Promise<FlowRunResult> {
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
    const frame = newFrame(prepareFlow(flow), snap.flow_id, state, turn, answers);
    const end = await walk(this.env, frame, snap.next_node, snap.awaiting_submit);
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
        workUnits: turn.meter.spent,
        transcript: turn.transcript,
        emitted: state.egress.length,
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
      workUnits: turn.meter.spent,
      transcript: turn.transcript,
      emitted: frame.state.egress.length,
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
}

/** Runs one flow with default options (an in-memory state store, no components). */
export function runFlow(flow: Flow, input: JsonValue, options: ExecutorOptions & RunOptions = {}): Promise<FlowRunResult> {
  return new FlowExecutor(options).run(flow, input, options);
}
