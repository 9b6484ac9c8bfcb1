// What the channel object depends on beyond its own storage: the flow engine, the sender for
// committed replies and the dead-letter sink. Production (worker.ts, the composition root) wires
// the edge component runtime, every provider's sender and the dead-letter queue; tests and fault
// injection construct the object with their own.
import type { DeadLetterSink, ReplySender } from '../bus/delivery.js';
import { logEvent } from '../edge/telemetry.js';
import { createFlowEngine, edgeInvokerFactory } from './engine-binding.js';
import type { FlowEngine } from './flow-engine.js';
import type { PreviousShardRef } from './reshard.js';
import type { ChannelIdentity } from './session-store.js';

export interface ChannelSessionDeps {
  /** Runs one turn of a flow: starts it or resumes a parked run. */
  engine: FlowEngine;
  /** Delivers one committed reply; throws when it was not accepted (the outbox keeps it). */
  send: ReplySender;
  /** Takes a message whose retries are exhausted; throws when it could not (the object keeps it). */
  deadLetter: DeadLetterSink;
  /** The object that held a session under the previous shard count, while a reshard is under way. */
  previousShard?: (address: ChannelIdentity, sessionKey: string) => PreviousShardRef | undefined;
}

export function productionDependencies(
  send: ReplySender,
  deadLetter: DeadLetterSink = logOnlyDeadLetter,
  previousShard?: ChannelSessionDeps['previousShard'],
): ChannelSessionDeps {
  return { engine: createFlowEngine(edgeInvokerFactory), send, deadLetter, ...(previousShard === undefined ? {} : { previousShard }) };
}

const logOnlyDeadLetter: DeadLetterSink = async (letter, reason, attempts) => {
  logEvent('error', 'dead_letter.dropped', { source: letter.source, reason, attempts });
};
