// Ingress: a provider adapter hands a normalised envelope to its channel object directly (RPC);
// the call returns once the message is durable in the object's inbox. When the object cannot take
// it (overloaded, unreachable), the message goes on the ingress queue instead, the overflow and
// retry path, and the consumer hands it to the object later. Queue messages hold at most 128 KB,
// so a larger message is parked in R2 and the queue carries a reference to it.
import { z } from 'zod';
import { errorMessage } from '../core/coded-error.js';
import { logEvent } from '../edge/telemetry.js';
import type { Env } from '../env.js';
import { addressOf, channelObjectFor, channelObjectName, parseShardCount, type WorkerEnv } from '../objects.js';
import { sha256HexAsync } from '../pack/digest.js';
import type { AcceptOptions, AcceptResult } from '../session/channel-session.js';
import type { ChannelMessageEnvelopeInput } from './envelope.js';
import { type IngressMessage, ingressMessage, ingressMessageSchema, type PublishOptions, retryDelaySeconds } from './messages.js';

/** Bodies above this go to R2 and the queue carries a reference (the queue's limit is 128 KB). */
export const MAX_INLINE_QUEUE_BYTES = 96 * 1024;
const OVERFLOW_PREFIX = 'ingress-overflow/';

const ingressRefSchema = z.object({
  v: z.literal(1),
  kind: z.literal('ref'),
  subject: z.string(),
  idempotency_key: z.string().min(1),
  r2_key: z.string().startsWith(OVERFLOW_PREFIX),
  enqueued_at: z.number(),
});
type IngressRef = z.infer<typeof ingressRefSchema>;

/** What the ingress queue carries: a message, or a reference to one parked in R2. */
const ingressQueueItemSchema = z.union([ingressMessageSchema, ingressRefSchema]);

/** How a message was taken: durable in its channel object, or parked on the overflow queue. */
export type IngestResult = { via: 'object'; result: AcceptResult; message: IngressMessage } | { via: 'queue'; message: IngressMessage };

/** Errors that say the message itself is wrong for the object: the queue would not make them pass. */
const REFUSALS = /^(InvalidMessage|WrongChannel|WrongEnvironment):/;

/**
 * Hands a message to its channel object and returns once it is durable there, or on the ingress
 * queue when the object could not take it. Either way the caller can answer 2xx.
 */
export async function ingest(env: WorkerEnv, input: ChannelMessageEnvelopeInput, options: PublishOptions = {}): Promise<IngestResult> {
  const message = ingressMessage(input, options);
  checkEnvironment(env, message);
  try {
    const result = await acceptIngress(env, message);
    return { via: 'object', result, message };
  } catch (err) {
    if (REFUSALS.test(errorMessage(err))) throw err;
    logEvent('warn', 'ingress.overflow', {
      'messaging.destination': message.subject,
      'messaging.message.id': message.idempotency_key,
      error: errorMessage(err),
    });
    await enqueueIngress(env, message);
    return { via: 'queue', message };
  }
}

/** Puts a message on the ingress queue (inline when it fits, else parked in R2 with a reference). */
export async function enqueueIngress(env: Env, message: IngressMessage, delaySeconds?: number): Promise<void> {
  checkEnvironment(env, message);
  const json = JSON.stringify(message);
  let body: IngressMessage | IngressRef = message;
  if (new TextEncoder().encode(json).byteLength > MAX_INLINE_QUEUE_BYTES) {
    const r2Key = `${OVERFLOW_PREFIX}${message.envelope.tenant.env}/${await sha256HexAsync(new TextEncoder().encode(message.idempotency_key))}`;
    await env.PACKS.put(r2Key, json, { httpMetadata: { contentType: 'application/json' } });
    body = {
      v: 1,
      kind: 'ref',
      subject: message.subject,
      idempotency_key: message.idempotency_key,
      r2_key: r2Key,
      enqueued_at: Date.now(),
    };
  }
  await env.INGRESS.send(body, delaySeconds === undefined ? { contentType: 'json' } : { contentType: 'json', delaySeconds });
}

function checkEnvironment(env: Env, message: IngressMessage): void {
  if (message.envelope.tenant.env !== env.GREENTIC_ENV) {
    throw new Error(`WrongEnvironment: envelope env "${message.envelope.tenant.env}" is not this deployment's "${env.GREENTIC_ENV}"`);
  }
}

/** Hands one message to its channel object; resolves once it is durable there. */
export async function acceptIngress(env: WorkerEnv, message: IngressMessage, options: AcceptOptions = {}): Promise<AcceptResult> {
  return (await channelObjectFor(env, message.envelope).accept(message, options)) as AcceptResult;
}

async function resolveItem(env: Env, item: IngressMessage | IngressRef): Promise<IngressMessage | null> {
  if (!('kind' in item)) return item;
  const object = await env.PACKS.get(item.r2_key);
  if (object === null) return null;
  const parsed = ingressMessageSchema.safeParse(await object.json());
  return parsed.success ? parsed.data : null;
}

/**
 * Queue consumer. Messages for the same channel object are handed over one after another in batch
 * order (so a session's arrival order survives batching); different objects proceed in parallel.
 * A message is acked once its object holds it durably (the object runs and retries the turn);
 * anything else is retried with backoff and, after the queue's max_retries, dead-lettered.
 */
export async function handleIngressBatch(batch: MessageBatch<unknown>, env: WorkerEnv): Promise<void> {
  const lanes = new Map<string, { message: Message<unknown>; item: IngressMessage | IngressRef }[]>();
  const shards = parseShardCount(env.SESSION_SHARDS);
  const resolved = new Map<Message<unknown>, IngressMessage | null>();
  for (const message of batch.messages) {
    const parsed = ingressQueueItemSchema.safeParse(message.body);
    if (!parsed.success) {
      logEvent('error', 'ingress.invalid_message', { 'messaging.message.id': message.id, error: z.prettifyError(parsed.error) });
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
      continue;
    }
    const full = await resolveItem(env, parsed.data);
    if (full === null) {
      // A reference whose body is gone was handed over before (the body is deleted only after that).
      logEvent('warn', 'ingress.reference_gone', { 'messaging.message.id': parsed.data.idempotency_key });
      message.ack();
      continue;
    }
    resolved.set(message, full);
    const lane = channelObjectName(addressOf(full.envelope), full.envelope.session_id, shards);
    const list = lanes.get(lane) ?? [];
    list.push({ message, item: parsed.data });
    lanes.set(lane, list);
  }
  await Promise.all(
    [...lanes.values()].map(async (lane) => {
      for (const { message, item } of lane) {
        const full = resolved.get(message);
        if (full === undefined || full === null) continue;
        try {
          await acceptIngress(env, full);
          if ('kind' in item) await env.PACKS.delete(item.r2_key);
          message.ack();
        } catch (err) {
          logEvent('warn', 'ingress.delivery_failed', {
            'messaging.message.id': message.id,
            'messaging.destination': full.subject,
            attempts: message.attempts,
            error: errorMessage(err),
          });
          message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
        }
      }
    }),
  );
}
