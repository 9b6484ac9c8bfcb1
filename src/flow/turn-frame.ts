/**
 * The state one turn of the walk carries: the `Turn` (step budget, warnings, attempt) shared by a
 * flow and the flows it calls, and one `Frame` per flow being walked with its template views. Also
 * `WalkEnv`, what running nodes needs from the executor, so the node modules depend on an
 * interface rather than on the executor or the walk.
 */

import { isObject } from '../core/is-object.js';
import type { PreparedFlow } from './builtins.js';
import { type ExecutionState, FlowRunError, type NodeOutput } from './execution-state.js';
import type { Flow, JsonObject, JsonValue } from './model.js';
import type { FirstFailure } from './output.js';
import type { ComponentInvoker, NodeTrace, StateStore } from './ports.js';
import { type RenderOptions, renderValue, type TemplateContext } from './template.js';
import type { WorkMeter } from './work-meter.js';

export type WalkEnd = { kind: 'end' } | { kind: 'pause'; nextNode: string; reason: string; awaitingSubmit: boolean; output: JsonValue };

/**
 * What running nodes needs from the executor: its ports and limits, and the walk itself, which a
 * `flow.call` node re-enters for its callee (so the node modules do not import the walk).
 */
export interface WalkEnv {
  readonly packId: string;
  readonly invoker: ComponentInvoker | undefined;
  readonly store: StateStore;
  /** Default `flow.goto`/jump redirect limit per turn. */
  readonly maxRedirects: number;
  readonly onNode: ((trace: NodeTrace) => void) | undefined;
  /** The `now` template view, sampled once per node. */
  now(): JsonObject;
  resolveFlow(flowId: string, current: Flow | undefined, fromFlowId: string): Promise<Flow>;
  walk(frame: Frame, startId: string, rerunAwaiting: boolean): Promise<WalkEnd>;
}

export interface Turn {
  steps: number;
  limit: number;
  /** The engine work budget of the turn (work-meter.ts). */
  meter: WorkMeter;
  /** Render options charging the turn's meter, without and with JSON pointers. */
  render: RenderOptions;
  renderPointer: RenderOptions;
  warnings: string[];
  attempt: number;
  resumed: boolean;
  lastFlowId: string;
  lastNodeId: string;
  /** Every node payload of this turn in execution order (sub-flows included): what a host picks its reply from. */
  transcript: TranscriptEntry[];
}

export interface TranscriptEntry {
  nodeId: string;
  payload: JsonValue;
}

export interface Frame {
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

/** The empty view shared by every frame; frozen so no node can write into another's context. */
export const EMPTY: JsonObject = Object.freeze({}) as JsonObject;

/** The `node.<id>` template view: payload fields at top level plus the node_io `data`/`errors`. */
export function nodeView(output: NodeOutput): JsonValue {
  const errors: JsonValue[] = output.ok ? [] : [output.meta.error ?? null];
  if (!isObject(output.payload)) return { data: output.payload, errors };
  const view: JsonObject = { ...output.payload };
  if (!('data' in view)) view.data = output.payload;
  if (!('errors' in view)) view.errors = errors;
  return view;
}

/** The envelope a card submit or a message arrives in: `entry.input` when it is an object. */
function envelopeOf(entry: JsonValue): JsonObject | undefined {
  if (!isObject(entry)) return undefined;
  return isObject(entry.input) ? entry.input : entry;
}

/** The user's locale: `metadata.locale` of the entry's envelope, else of the entry (upstream `inject_card_locale`). */
export function entryLocale(entry: JsonValue): string | undefined {
  const env = envelopeOf(entry);
  const locale = isObject(env?.metadata)
    ? env.metadata.locale
    : isObject(entry) && isObject(entry.metadata)
      ? entry.metadata.locale
      : undefined;
  return typeof locale === 'string' && locale !== '' ? locale : undefined;
}

function responseView(entry: JsonValue): JsonObject {
  const env = envelopeOf(entry);
  if (env === undefined) return {};
  const metadata = isObject(env.metadata) ? env.metadata : isObject(entry) && isObject(entry.metadata) ? entry.metadata : EMPTY;
  const view: JsonObject = { ...metadata };
  if (env.text !== undefined) view.text = env.text;
  return view;
}

/** Card-submit fields: envelope keys minus `metadata`/`text`, plus metadata keys minus `action`. */
export function submittedFields(entry: JsonValue): JsonObject {
  const env = envelopeOf(entry);
  const answers: JsonObject = {};
  if (env === undefined) return answers;
  for (const k in env) if (k !== 'metadata' && k !== 'text') answers[k] = env[k] as JsonValue;
  if (isObject(env.metadata)) {
    for (const k in env.metadata) if (k !== 'action') answers[k] = env.metadata[k] as JsonValue;
  }
  return answers;
}

function entryViewOf(entry: JsonValue, answers: JsonObject | null): JsonValue {
  if (!isObject(entry)) return entry;
  // Without an `input` key the entry is its own input, so `in.input.x` and `in.x` both resolve.
  const view = 'input' in entry ? entry : { ...entry, input: entry };
  return answers === null ? view : { ...answers, ...view };
}

export function seedVars(flow: Flow, supplied: JsonObject | undefined): JsonObject {
  const vars: JsonObject = supplied === undefined ? {} : { ...supplied };
  const init = flow.metadata?.extra?.vars_init;
  if (!isObject(init)) return vars;
  for (const name in init) {
    const spec = init[name];
    if (!isObject(spec)) continue;
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

export function newFrame(flow: PreparedFlow, originFlowId: string, state: ExecutionState, turn: Turn, answers: JsonObject | null): Frame {
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

/** Pointer-allowed spots (`var.set` value, `vars_out`, provider maps): `/a/b` strings are JSON pointers. */
export function renderPointerAllowed(frame: Frame, value: JsonValue, ctx: TemplateContext): JsonValue {
  if (typeof value !== 'object' && (typeof value !== 'string' || (!value.includes('{{') && !value.startsWith('/')))) return value;
  return renderValue(value, ctx, frame.turn.warnings, frame.turn.renderPointer);
}

/** A node's input mapping (or one of its strings) rendered against `ctx`, charged to the turn. */
export function renderNodeValue(frame: Frame, value: JsonValue, ctx: TemplateContext = frame.ctx): JsonValue {
  return renderValue(value, ctx, frame.turn.warnings, frame.turn.render);
}
