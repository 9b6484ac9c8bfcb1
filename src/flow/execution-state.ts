/**
 * The executor's serialisable state and its typed errors. `ExecutionState` and `FlowSnapshot` are
 * the JSON bodies a host stores between turns (greentic-runner `ExecutionState` / `FlowSnapshot`),
 * so every field here is plain JSON and keeps the upstream snake_case names.
 */
import { CodedError } from '../core/coded-error.js';
import type { JsonObject, JsonValue } from './model.js';

/** One node's recorded result (`state.nodes[id]`). */
export type NodeOutput = { ok: boolean; payload: JsonValue; meta: JsonObject };

export type ExecutionState = {
  /** The inbound activity of this turn (replaced on resume, like `input`). */
  entry: JsonValue;
  /** The current input: the inbound activity, or what a `flow.goto` handed over. */
  input: JsonValue;
  nodes: { [nodeId: string]: NodeOutput };
  /** Payloads emitted by `emit.*` nodes this turn, in order. */
  egress: JsonValue[];
  /** Payload of the most recently executed node (`prev` of the next one). */
  last_output: JsonValue | null;
  redirect_count: number;
  vars: JsonObject;
  park_turns: number;
  pending_agent_await: JsonValue | null;
  /** Card-submit answers of the turn that re-runs an `awaiting_submit` node. */
  pending_card_answers: JsonValue | null;
};

export type FlowSnapshot = {
  pack_id: string;
  /** The flow the run started in. */
  flow_id: string;
  /** Set when a `flow.goto`/jump moved the walk to another flow before the pause. */
  next_flow?: string;
  next_node: string;
  /** True when the run parked on a node whose conditional routes matched nothing (card fall-through). */
  awaiting_submit: boolean;
  state: ExecutionState;
};

/** A node-level failure as components, invokers and built-ins report it. */
export interface NodeError {
  code: string;
  message: string;
  /** `true`/`false` overrides the transient-text heuristic of the whole-run retry policy. */
  retryable?: boolean;
  /** Minimum delay before the next whole-run attempt, when the failure knows one. */
  backoffMs?: number;
  details?: JsonValue;
}

/**
 * A run that could not finish. `code` is stable: either an engine code (`step_budget_exceeded`,
 * `redirect_limit`, `required_var_missing`, `missing_node`, `flow_not_found`, `subflow_paused`,
 * `wait_without_successor`, `pointer_not_found`, `invalid_node_input`, `invalid_snapshot`,
 * `pack_mismatch`, `unsupported_node_kind`, `executor_failure`) or the code of the node error that
 * aborted the walk (`nodeFailure` is then true).
 */
export class FlowRunError extends CodedError {
  override readonly name = 'FlowRunError';
  readonly flowId: string;
  readonly nodeId: string | undefined;
  readonly retryable: boolean | undefined;
  readonly backoffMs: number | undefined;
  /** True when a node failed without an error route (as opposed to an engine rule stopping the run). */
  readonly nodeFailure: boolean;

  constructor(init: {
    code: string;
    message: string;
    flowId: string;
    nodeId?: string;
    retryable?: boolean;
    backoffMs?: number;
    nodeFailure?: boolean;
  }) {
    super(init.code, init.message);
    this.flowId = init.flowId;
    this.nodeId = init.nodeId;
    this.retryable = init.retryable;
    this.backoffMs = init.backoffMs;
    this.nodeFailure = init.nodeFailure ?? false;
  }
}

export function freshState(input: JsonValue, vars: JsonObject): ExecutionState {
  return {
    entry: input,
    input,
    nodes: {},
    egress: [],
    last_output: null,
    redirect_count: 0,
    vars,
    park_turns: 0,
    pending_agent_await: null,
    pending_card_answers: null,
  };
}

/**
 * Checks a snapshot that came back from storage or a file and returns a private deep copy, so
 * resuming never mutates the caller's object and a stale or hand-edited snapshot fails with a
 * precise message instead of half-running.
 */
export function parseSnapshot(value: unknown): FlowSnapshot {
  const fail = (where: string, what: string): never => {
    throw new FlowRunError({
      code: 'invalid_snapshot',
      message: `invalid pause snapshot: ${where} ${what}`,
      flowId: '',
      retryable: false,
    });
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('/', 'must be an object');
  const snap = value as Record<string, unknown>;
  for (const key of ['pack_id', 'flow_id', 'next_node'] as const) {
    if (typeof snap[key] !== 'string') fail(`/${key}`, 'must be a string');
  }
  if (snap.next_flow !== undefined && snap.next_flow !== null && typeof snap.next_flow !== 'string') {
    fail('/next_flow', 'must be a string when present');
  }
  const state = snap.state;
  if (typeof state !== 'object' || state === null || Array.isArray(state)) fail('/state', 'must be an object');
  const st = structuredClone(state) as Record<string, unknown>;
  const nodes = st.nodes ?? {};
  if (typeof nodes !== 'object' || nodes === null || Array.isArray(nodes)) fail('/state/nodes', 'must be an object');
  const vars = st.vars ?? {};
  if (typeof vars !== 'object' || vars === null || Array.isArray(vars)) fail('/state/vars', 'must be an object');
  const out: FlowSnapshot = {
    pack_id: snap.pack_id as string,
    flow_id: snap.flow_id as string,
    next_node: snap.next_node as string,
    awaiting_submit: snap.awaiting_submit === true,
    state: {
      entry: (st.entry ?? null) as JsonValue,
      input: (st.input ?? null) as JsonValue,
      nodes: nodes as ExecutionState['nodes'],
      egress: [],
      last_output: (st.last_output ?? null) as JsonValue,
      redirect_count: typeof st.redirect_count === 'number' ? st.redirect_count : 0,
      vars: vars as JsonObject,
      park_turns: typeof st.park_turns === 'number' ? st.park_turns : 0,
      pending_agent_await: (st.pending_agent_await ?? null) as JsonValue,
      pending_card_answers: null,
    },
  };
  if (typeof snap.next_flow === 'string') out.next_flow = snap.next_flow;
  return out;
}
