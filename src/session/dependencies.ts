// What the channel object depends on beyond its own storage: the flow engine and the egress for
// committed replies. Production wires the edge component runtime and the EGRESS queue; tests and
// fault injection construct the object with their own.
import type { EgressMessage } from '../bus/messages.js';
import type { Env } from '../env.js';
import { createFlowEngine, edgeInvokerFactory } from './engine-binding.js';
import type { FlowEngine } from './flow-engine.js';

export interface ChannelSessionDeps {
  /** Runs one turn of a flow: starts it or resumes a parked run. */
  engine: FlowEngine;
  /** Hands committed replies to the egress; throws when they were not accepted (the outbox keeps them). */
  sendReplies(messages: EgressMessage[]): Promise<void>;
}

export function productionDependencies(env: Env): ChannelSessionDeps {
  return {
    engine: createFlowEngine(edgeInvokerFactory),
    async sendReplies(messages) {
      await env.EGRESS.sendBatch(messages.map((body) => ({ body, contentType: 'json' as const })));
    },
  };
}
