// Sending a stored dead letter again, with its idempotency key unchanged: the channel object
// answers an ingress message it already committed as a duplicate (unless that outcome was the dead
// letter itself), and a sender stores a reply once per key, so replaying something that did get
// through in the end has no second effect.
import type { Env } from '../env.js';
import type { WorkerEnv } from '../objects.js';
import type { DeadLetterRow } from './dead-letter-store.js';
import { acceptIngress } from './ingress.js';
import { type EgressMessage, egressMessageSchema, type IngressMessage, ingressMessageSchema } from './messages.js';

export type ReplayResult =
  | { status: 'sent'; source: 'ingress'; via: 'channel_object'; idempotency_key: string; accepted: 'accepted' | 'duplicate' }
  | { status: 'sent'; source: 'egress'; via: 'egress_queue'; idempotency_key: string }
  | { status: 'not_replayable'; message: string };

/**
 * Hands an ingress message to its channel object again, as a replay: the object's record of the
 * dead-lettered outcome does not make it a duplicate (anything else it processed still is).
 */
export async function replayIngress(env: WorkerEnv, message: IngressMessage): Promise<ReplayResult> {
  const accepted = await acceptIngress(env, message, { replay: true });
  return { status: 'sent', source: 'ingress', via: 'channel_object', idempotency_key: message.idempotency_key, accepted: accepted.status };
}

/** Sends a reply again through the EGRESS queue, whose consumer hands it to the channel's sender. */
export async function replayEgress(env: Pick<Env, 'EGRESS'>, message: EgressMessage): Promise<ReplayResult> {
  await env.EGRESS.send(message, { contentType: 'json' });
  return { status: 'sent', source: 'egress', via: 'egress_queue', idempotency_key: message.idempotency_key };
}

function parseStored(json: string): unknown {
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return undefined;
  }
}

/** Replays a stored dead letter, or says why it cannot be. */
export async function replayDeadLetter(env: WorkerEnv, row: DeadLetterRow): Promise<ReplayResult> {
  if (row.source === 'unknown')
    return { status: 'not_replayable', message: `dead letter ${row.id} is an unparseable body, not a message; inspect it and delete it` };
  if (row.truncated)
    return {
      status: 'not_replayable',
      message: `dead letter ${row.id} was stored cut to the size bound, so the message is incomplete; inspect it and delete it`,
    };
  if (row.env !== env.GREENTIC_ENV)
    return {
      status: 'not_replayable',
      message: `dead letter ${row.id} belongs to env "${row.env}", not this deployment's "${env.GREENTIC_ENV}"`,
    };
  const stored = parseStored(row.message_json);
  if (row.source === 'ingress') {
    const message = ingressMessageSchema.safeParse(stored);
    if (message.success) return replayIngress(env, message.data);
  } else {
    const message = egressMessageSchema.safeParse(stored);
    if (message.success) return replayEgress(env, message.data);
  }
  return { status: 'not_replayable', message: `dead letter ${row.id}'s stored message is not a valid ${row.source} message` };
}
