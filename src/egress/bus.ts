// The egress half of the message bus: the channel object sends each committed reply on the EGRESS
// queue; the consumer hands it to the sender registered for its channel (one per provider) and
// retries with backoff, ending in the dead-letter queue after the queue's max_retries.
import { z } from 'zod';
import { logEvent } from '../edge/telemetry.js';
import type { Env } from '../env.js';
import { messagingSubject, retryDelaySeconds } from '../ingress/bus.js';
import { type ChannelMessageEnvelope, channelMessageEnvelopeSchema } from '../ingress/envelope.js';

export const egressMessageSchema = z.object({
  v: z.literal(1),
  subject: z.string(),
  /** Stable per reply (`{ingress idempotency key}#{index}`): a sender dedupes re-sends on it. */
  idempotency_key: z.string().min(1),
  /** Idempotency key of the inbound message this replies to. */
  in_reply_to: z.string(),
  envelope: channelMessageEnvelopeSchema,
  created_at: z.number(),
});
export type EgressMessage = z.infer<typeof egressMessageSchema>;

export function egressMessage(envelope: ChannelMessageEnvelope, idempotencyKey: string, inReplyTo: string, now: number): EgressMessage {
  return {
    v: 1,
    subject: messagingSubject('egress', envelope.tenant.env, envelope.tenant.tenant, envelope.tenant.team, envelope.channel),
    idempotency_key: idempotencyKey,
    in_reply_to: inReplyTo,
    envelope,
    created_at: now,
  };
}

/** A failure a sender reports; `retryAfterSeconds` (e.g. a provider's Retry-After) overrides the backoff. */
export class EgressSendError extends Error {
  override readonly name = 'EgressSendError';
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
    readonly retryAfterSeconds?: number,
  ) {
    super(`${code}: ${message}`);
  }
}

/** One provider's delivery (Slack, Teams, Telegram, WhatsApp, WebChat). */
export interface EgressSender {
  send(message: EgressMessage, env: Env): Promise<void>;
}

export type EgressSenders = Readonly<Record<string, EgressSender>>;

export async function handleEgressBatch(batch: MessageBatch<unknown>, env: Env, senders: EgressSenders): Promise<void> {
  await Promise.all(
    batch.messages.map(async (message) => {
      const parsed = egressMessageSchema.safeParse(message.body);
      if (!parsed.success) {
        logEvent('error', 'egress.invalid_message', { 'messaging.message.id': message.id, error: z.prettifyError(parsed.error) });
        message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
        return;
      }
      const sender = senders[parsed.data.envelope.channel];
      if (sender === undefined) {
        logEvent('error', 'egress.no_sender', {
          'messaging.destination': parsed.data.subject,
          'greentic.provider': parsed.data.envelope.channel,
        });
        message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
        return;
      }
      try {
        await sender.send(parsed.data, env);
        message.ack();
      } catch (err) {
        const delay =
          err instanceof EgressSendError && err.retryAfterSeconds !== undefined
            ? err.retryAfterSeconds
            : retryDelaySeconds(message.attempts);
        logEvent('warn', 'egress.send_failed', {
          'messaging.destination': parsed.data.subject,
          'messaging.message.id': parsed.data.idempotency_key,
          attempts: message.attempts,
          error: err instanceof Error ? err.message : String(err),
        });
        message.retry({ delaySeconds: delay });
      }
    }),
  );
}
