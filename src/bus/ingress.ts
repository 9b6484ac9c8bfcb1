// The ingress queue: provider adapters publish a normalised envelope under its upstream subject;
// the consumer hands each message to its channel's Durable Object and acknowledges it only after
// the object committed the turn.
import { z } from 'zod';
import { errorMessage } from '../core/coded-error.js';
import { logEvent } from '../edge/telemetry.js';
import type { Env } from '../env.js';
import { addressOf, channelObjectFor, channelObjectName, parseShardCount, type WorkerEnv } from '../objects.js';
import type { DeliveryResult } from '../session/channel-session.js';
import type { ChannelMessageEnvelopeInput } from './envelope.js';
import { type IngressMessage, ingressMessage, ingressMessageSchema, type PublishOptions, retryDelaySeconds } from './messages.js';

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

/** Hands one message to its channel object and returns what the object committed. */
export async function deliverIngress(env: WorkerEnv, message: IngressMessage): Promise<DeliveryResult> {
  return (await channelObjectFor(env, message.envelope).deliver(message)) as DeliveryResult;
}

/**
 * Queue consumer. Messages for the same channel object are delivered one after another in batch
 * order (so a session's arrival order survives batching); different objects proceed in parallel.
 * A message is acked only after its object returned, i.e. after the turn committed; anything
 * else is retried with backoff and, after the queue's max_retries, lands in the dead-letter queue.
 */
export async function handleIngressBatch(batch: MessageBatch<unknown>, env: WorkerEnv): Promise<void> {
  const lanes = new Map<string, { message: Message<unknown>; parsed: IngressMessage }[]>();
  const shards = parseShardCount(env.SESSION_SHARDS);
  for (const message of batch.messages) {
    const parsed = ingressMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      logEvent('error', 'ingress.invalid_message', { 'messaging.message.id': message.id, error: z.prettifyError(parsed.error) });
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
      continue;
    }
    const lane = channelObjectName(addressOf(parsed.data.envelope), parsed.data.envelope.session_id, shards);
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
            error: errorMessage(err),
          });
          message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
        }
      }
    }),
  );
}
