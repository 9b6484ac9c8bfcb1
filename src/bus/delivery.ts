// What delivering one committed reply looks like from the channel object: a function that hands
// the reply to its provider (or the WebChat conversation object) and throws when it was not
// accepted, and the error a sender uses to say whether to retry and when.
import { CodedError } from '../core/coded-error.js';
import type { EgressMessage, IngressMessage } from './messages.js';

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

/** Delivers one reply; resolves once the provider accepted it. */
export type ReplySender = (message: EgressMessage) => Promise<void>;

/** A message its delivery path gave up on: an inbound message whose turn failed, or a reply. */
export type DeadLetterMessage = { source: 'ingress'; message: IngressMessage } | { source: 'egress'; message: EgressMessage };

/** Where a message goes when its retries are exhausted (the dead-letter queue, with the message intact). */
export type DeadLetterSink = (letter: DeadLetterMessage, reason: string, attempts: number) => Promise<void>;
