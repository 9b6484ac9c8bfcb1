// The dead-letter queue: `deadLetter()` sends what a delivery path gave up on, with the message
// intact and a reason; the consumer stores every DLQ message in D1 (dead-letter-store.ts) so the
// admin API can list, inspect, replay and delete it. Nothing that reaches the DLQ is dropped:
// raw messages the ingress/egress queues moved there after max_retries and bodies that are
// neither message are stored too.
import { z } from 'zod';
import { errorMessage } from '../core/coded-error.js';
import { isObject } from '../core/is-object.js';
import { logEvent } from '../edge/telemetry.js';
import type { Env } from '../env.js';
import { boundedText, type DeadLetterEntry, deadLetterId, storeDeadLetter } from './dead-letter-store.js';
import { type EgressMessage, egressMessageSchema, type IngressMessage, ingressMessageSchema, retryDelaySeconds } from './messages.js';

export type DeadLetterSource = 'ingress' | 'egress';

/** The reason of a message the ingress or egress queue moved to the DLQ itself (it gives none). */
export const QUEUE_RETRIES_EXHAUSTED = 'queue_retries_exhausted';
/** The reason of a DLQ body that is neither a dead-letter record nor a bus message. */
export const UNPARSEABLE = 'unparseable';
/** Reasons are error messages: cut so a list of dead letters stays readable. */
export const MAX_REASON_LENGTH = 500;
/**
 * A queue message holds at most 128 KB (body and metadata); a record larger than this is stored
 * in D1 directly instead of sent, so an oversized message is still never lost.
 */
const MAX_QUEUE_BODY_BYTES = 120_000;

const recordFields = {
  v: z.literal(1),
  kind: z.literal('dead-letter'),
  reason: z.string().min(1),
  attempts: z.number().int().nonnegative(),
  /** Unix ms of the failure that gave up. */
  failed_at: z.number().int().nonnegative(),
};

/** What `deadLetter()` sends on the DLQ. */
export const deadLetterRecordSchema = z.discriminatedUnion('source', [
  z.object({ ...recordFields, source: z.literal('ingress'), message: ingressMessageSchema }),
  z.object({ ...recordFields, source: z.literal('egress'), message: egressMessageSchema }),
]);
export type DeadLetterRecord = z.infer<typeof deadLetterRecordSchema>;

interface SourceMessages {
  ingress: IngressMessage;
  egress: EgressMessage;
}

/**
 * Dead-letters one message that its delivery path gave up on (retries exhausted, or a failure no
 * retry can fix). `attempts` is how often delivery was tried. The message goes on the DLQ as
 * given; the DLQ consumer stores it, and `POST /admin/v1/dead-letters/{id}/replay` sends it again.
 */
export async function deadLetter<S extends DeadLetterSource>(
  env: Pick<Env, 'DEAD_LETTERS' | 'PACK_INDEX'>,
  source: S,
  message: SourceMessages[S],
  reason: string,
  attempts: number,
): Promise<void> {
  const record = {
    v: 1,
    kind: 'dead-letter',
    reason: reason.slice(0, MAX_REASON_LENGTH) || 'unknown',
    source,
    attempts,
    failed_at: Date.now(),
    message,
  };
  const json = JSON.stringify(record);
  if (new TextEncoder().encode(json).length <= MAX_QUEUE_BODY_BYTES) {
    await env.DEAD_LETTERS.send(record, { contentType: 'json' });
    return;
  }
  const entry = await entryOf(JSON.parse(json) as unknown, new Date(record.failed_at));
  await storeDeadLetter(env.PACK_INDEX, entry, Date.now());
  logRecorded(entry);
}

/** The entry of a bus message; its id comes from the message's identity (see `deadLetterId`). */
async function messageEntry(
  source: DeadLetterSource,
  message: IngressMessage | EgressMessage,
  raw: unknown,
  failure: { reason: string; attempts: number | null; failed_at: number },
): Promise<DeadLetterEntry> {
  const tenant = message.envelope.tenant;
  const identity = {
    env: tenant.env,
    tenant: tenant.tenant,
    team: tenant.team ?? 'default',
    channel: message.envelope.channel,
    idempotency_key: message.idempotency_key,
  };
  const stored = boundedText(JSON.stringify(raw));
  return {
    id: await deadLetterId([source, identity.env, identity.tenant, identity.team, identity.channel, identity.idempotency_key]),
    source,
    ...identity,
    subject: message.subject,
    reason: failure.reason.slice(0, MAX_REASON_LENGTH),
    attempts: failure.attempts,
    failed_at: failure.failed_at,
    message_json: stored.text,
    truncated: stored.truncated,
  };
}

/** A body the DLQ consumer cannot read, as text (JSON where it can be). */
function bodyText(body: unknown): string {
  if (typeof body === 'string') return body;
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return new TextDecoder().decode(body);
  try {
    return JSON.stringify(body) ?? String(body);
  } catch {
    return String(body);
  }
}

/**
 * The entry to store for one DLQ body: a dead-letter record as sent by `deadLetter()`, a raw
 * ingress or egress message the queue moved here (failed at `queuedAt`, the DLQ message's time),
 * or anything else as an unparseable body.
 */
export async function entryOf(body: unknown, queuedAt: Date): Promise<DeadLetterEntry> {
  if (isObject(body) && body.kind === 'dead-letter') {
    const record = deadLetterRecordSchema.safeParse(body);
    if (record.success) return messageEntry(record.data.source, record.data.message, body.message, record.data);
  } else {
    const failure = { reason: QUEUE_RETRIES_EXHAUSTED, attempts: null, failed_at: queuedAt.getTime() };
    const egress = egressMessageSchema.safeParse(body);
    if (egress.success) return messageEntry('egress', egress.data, body, failure);
    const ingress = ingressMessageSchema.safeParse(body);
    if (ingress.success) return messageEntry('ingress', ingress.data, body, failure);
  }
  const text = bodyText(body);
  const stored = boundedText(text);
  return {
    id: await deadLetterId(['unknown', text]),
    source: 'unknown',
    env: null,
    tenant: null,
    team: null,
    channel: null,
    idempotency_key: null,
    subject: null,
    reason: UNPARSEABLE,
    attempts: null,
    failed_at: queuedAt.getTime(),
    message_json: stored.text,
    truncated: stored.truncated,
  };
}

function logRecorded(entry: DeadLetterEntry): void {
  logEvent('error', 'dlq.recorded', {
    'greentic.env': entry.env ?? undefined,
    'greentic.tenant.id': entry.tenant ?? undefined,
    'greentic.team.id': entry.team ?? undefined,
    'greentic.provider': entry.channel ?? undefined,
    'messaging.destination': entry.subject ?? undefined,
    'greentic.dead_letter.id': entry.id,
    source: entry.source,
    reason: entry.reason,
  });
}

/**
 * DLQ consumer: stores each message and acks it. A D1 failure retries the message with backoff;
 * after the DLQ consumer's own max_retries the platform drops it, which the error log records.
 */
export async function handleDeadLetterBatch(batch: MessageBatch<unknown>, env: Pick<Env, 'PACK_INDEX'>): Promise<void> {
  await Promise.all(
    batch.messages.map(async (message) => {
      const entry = await entryOf(message.body, message.timestamp);
      try {
        if (await storeDeadLetter(env.PACK_INDEX, entry, Date.now())) logRecorded(entry);
        message.ack();
      } catch (err) {
        logEvent('error', 'dlq.store_failed', {
          'messaging.message.id': message.id,
          'greentic.dead_letter.id': entry.id,
          attempts: message.attempts,
          error: errorMessage(err),
        });
        message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
      }
    }),
  );
}
