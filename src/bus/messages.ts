// The bus messages: upstream subjects, the ingress and egress message schemas, and the retry
// delays every consumer uses. Producers (channels, the channel object) and consumers import this
// module only, so the message shapes live in one place.
import { z } from 'zod';
import { type ChannelMessageEnvelope, type ChannelMessageEnvelopeInput, channelMessageEnvelopeSchema } from './envelope.js';

/** Subject segments as greentic-messaging sanitises them: trimmed, `*`, `>`, `/` and whitespace → `-`. */
export function sanitizeSubjectSegment(segment: string | undefined): string {
  const trimmed = (segment ?? '').trim();
  if (trimmed === '') return 'unknown';
  return trimmed.replace(/[\s*>/]/g, '-');
}

export type BusDirection = 'ingress' | 'egress';

export function messagingSubject(direction: BusDirection, env: string, tenant: string, team: string | undefined, channel: string): string {
  return ['greentic', 'messaging', direction, env, tenant, team ?? 'default', channel]
    .map((s, i) => (i < 3 ? s : sanitizeSubjectSegment(s)))
    .join('.');
}

export const ingressMessageSchema = z.object({
  v: z.literal(1),
  subject: z.string(),
  idempotency_key: z.string().min(1),
  envelope: channelMessageEnvelopeSchema,
  enqueued_at: z.number(),
});
export type IngressMessage = z.infer<typeof ingressMessageSchema>;

export interface PublishOptions {
  /** Provider event id or `Idempotency-Key`; defaults to `{channel}:{envelope.id}`. */
  idempotencyKey?: string;
}

/** Builds the bus message for an envelope (validated, subject from the envelope's own tenant ctx). */
export function ingressMessage(input: ChannelMessageEnvelopeInput, options: PublishOptions = {}): IngressMessage {
  const envelope = channelMessageEnvelopeSchema.parse(input);
  return {
    v: 1,
    subject: messagingSubject('ingress', envelope.tenant.env, envelope.tenant.tenant, envelope.tenant.team, envelope.channel),
    idempotency_key: options.idempotencyKey ?? `${envelope.channel}:${envelope.id}`,
    envelope,
    enqueued_at: Date.now(),
  };
}

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

/** Retry delay for the n-th failed attempt: 2 s doubling, capped at 5 minutes. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(300, 2 * 2 ** Math.max(0, attempts - 1));
}
