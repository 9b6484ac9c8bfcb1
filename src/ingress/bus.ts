// The ingress half of the message bus: provider adapters publish a normalised envelope on the
// INGRESS queue under its upstream subject; the consumer hands each message to its channel's
// Durable Object and acknowledges it only after the object committed the turn.
import { z } from 'zod';
import { logEvent } from '../edge/telemetry.js';
import type { Env } from '../env.js';
import type { ChannelSession, DeliveryResult } from '../session/channel-session.js';
import { channelObjectName, parseShardCount } from '../session/session-key.js';
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
  delaySeconds?: number;
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

export async function publishIngress(env: Env, input: ChannelMessageEnvelopeInput, options: PublishOptions = {}): Promise<IngressMessage> {
  const message = ingressMessage(input, options);
  if (message.envelope.tenant.env !== env.GREENTIC_ENV) {
    throw new Error(`WrongEnvironment: envelope env "${message.envelope.tenant.env}" is not this deployment's "${env.GREENTIC_ENV}"`);
  }
  await env.INGRESS.send(
    message,
    options.delaySeconds === undefined ? { contentType: 'json' } : { contentType: 'json', delaySeconds: options.delaySeconds },
  );
  return message;
}

/** The channel object that owns an envelope's session. */
export function channelStubFor(env: Env, envelope: ChannelMessageEnvelope): DurableObjectStub<ChannelSession> {
  const name = channelObjectName(
    { env: envelope.tenant.env, tenant: envelope.tenant.tenant, team: envelope.tenant.team ?? 'default', channel: envelope.channel },
    envelope.session_id,
    parseShardCount(env.SESSION_SHARDS),
  );
  const ns = env.CHANNEL as unknown as DurableObjectNamespace<ChannelSession>;
  return ns.get(ns.idFromName(name));
}

/** Hands one message to its channel object and returns what the object committed. */
export async function deliverIngress(env: Env, message: IngressMessage): Promise<DeliveryResult> {
  return (await channelStubFor(env, message.envelope).deliver(message)) as DeliveryResult;
}

/** Retry delay for the n-th failed attempt: 2 s doubling, capped at 5 minutes. */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(300, 2 * 2 ** Math.max(0, attempts - 1));
}

/**
 * Queue consumer. Messages for the same channel object are delivered one after another in batch
 * order (so a session's arrival order survives batching); different objects proceed in parallel.
 * A message is acked only after its object returned, i.e. after the turn committed; anything
 * else is retried with backoff and, after the queue's max_retries, lands in the dead-letter queue.
 */
export async function handleIngressBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const lanes = new Map<string, { message: Message<unknown>; parsed: IngressMessage }[]>();
  for (const message of batch.messages) {
    const parsed = ingressMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      logEvent('error', 'ingress.invalid_message', { 'messaging.message.id': message.id, error: z.prettifyError(parsed.error) });
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
      continue;
    }
    const lane = channelStubName(env, parsed.data.envelope);
    const list = lanes.get(lane) ?? [];
    list.push({ message, parsed: parsed.data });
    lanes.set(lane, list);
  }
  await Promise.all(
    [...lanes.values()].map(async (lane) => {
      for (const { message, parsed } of lane) {
        try {
          await deliverIngress(env, parsed);
          message.ack();
        } catch (err) {
          logEvent('warn', 'ingress.delivery_failed', {
            'messaging.message.id': message.id,
            'messaging.destination': parsed.subject,
            attempts: message.attempts,
            error: err instanceof Error ? err.message : String(err),
          });
          message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
        }
      }
    }),
  );
}

function channelStubName(env: Env, envelope: ChannelMessageEnvelope): string {
  return channelObjectName(
    { env: envelope.tenant.env, tenant: envelope.tenant.tenant, team: envelope.tenant.team ?? 'default', channel: envelope.channel },
    envelope.session_id,
    parseShardCount(env.SESSION_SHARDS),
  );
}
