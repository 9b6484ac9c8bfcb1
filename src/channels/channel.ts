// What a channel (provider) adapter provides to the runtime: a sender for the replies the channel
// object committed. Ingress needs no shared interface: each provider mounts its own routes and
// publishes normalised envelopes through the bus.

import type { EgressMessage } from '../bus/messages.js';
import { CodedError } from '../core/coded-error.js';
import type { WorkerEnv } from '../objects.js';

/** A failure a sender reports; `retryAfterSeconds` (e.g. a provider's Retry-After) overrides the backoff. */
export class EgressSendError extends CodedError {
  constructor(
    code: string,
    message: string,
    readonly retryable: boolean,
    readonly retryAfterSeconds?: number,
  ) {
    super(code, `${code}: ${message}`);
  }
}

/** One provider's delivery (Slack, Teams, Telegram, WhatsApp, WebChat). */
export interface EgressSender {
  send(message: EgressMessage, env: WorkerEnv): Promise<void>;
}

export type EgressSenders = Readonly<Record<string, EgressSender>>;
