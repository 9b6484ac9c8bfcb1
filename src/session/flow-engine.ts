// The seam between the channel object and the flow executor: one turn either starts a flow or
// resumes a parked run, with the tenant's state store and component invoker injected.

import type { ComponentStateStores } from '../component/edge/state-object.js';
import { CodedError } from '../core/coded-error.js';
import type { Span } from '../edge/telemetry.js';
import type { TenantCtx } from '../edge/tenant-ctx.js';
import type { Env } from '../env.js';
import type { Flow, JsonValue } from '../flow/model.js';
import type { PackModel } from '../pack-store/pack-store.js';
import type { TurnStateStore } from './state-store.js';

export interface TurnContext {
  env: Env;
  ctx: TenantCtx;
  model: PackModel;
  flow: Flow;
  state: TurnStateStore;
  /** The component state-store as the turn sees it: its own writes first, committed with the turn. */
  componentState: ComponentStateStores;
  span: Span;
}

/** Node payloads of the turn in execution order and how many payloads `emit.*` nodes sent (replies.ts picks the answer). */
export interface TurnTranscript {
  transcript?: { nodeId: string; payload: JsonValue }[];
  emitted?: number;
}

export type TurnResult = TurnTranscript &
  (
    | { status: 'done'; output: JsonValue }
    | { status: 'waiting'; reason: string | null; snapshot: JsonValue; output: JsonValue }
    /** The run failed for good (a node error without an error route, an engine rule); `output` is what the user is told. */
    | { status: 'failed'; code: string; message: string; output: JsonValue }
  );

export interface FlowEngine {
  /** `startNode`: enter the flow at this node instead of its entry point (card navigation). */
  start(turn: TurnContext, input: JsonValue, options?: { startNode?: string }): Promise<TurnResult>;
  resume(turn: TurnContext, snapshot: JsonValue, input: JsonValue): Promise<TurnResult>;
}

/**
 * An infrastructure failure worth retrying through the queue (pack storage, component loader):
 * the turn is not committed and the message is redelivered.
 */
export class TransientTurnError extends CodedError {
  constructor(code: string, message: string) {
    super(code, `${code}: ${message}`);
  }
}
