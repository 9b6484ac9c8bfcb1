// The egress consumer: the channel object sends each committed reply on the EGRESS queue; the
// consumer hands it to the sender registered for its channel (one per provider) and retries with
// backoff, ending in the dead-letter queue after the queue's max_retries. A failure the sender
// calls permanent (a rejected reply, or a send whose outcome is unknown and must not be repeated)
// goes to the dead-letter queue at once.
import { z } from 'zod';
import type { EgressSenders } from '../channels/channel.js';
import { errorMessage } from '../core/coded-error.js';
import { logEvent } from '../edge/telemetry.js';
import type { WorkerEnv } from '../objects.js';
import { deadLetter } from './dead-letters.js';
import { EgressSendError } from './delivery.js';
import { egressMessageSchema, retryDelaySeconds } from './messages.js';

export async function handleEgressBatch(batch: MessageBatch<unknown>, env: WorkerEnv, senders: EgressSenders): Promise<void> {
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
        if (err instanceof EgressSendError && !err.retryable) {
          try {
            await deadLetter(env, 'egress', parsed.data, err.code, message.attempts);
            message.ack();
          } catch {
            message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
          }
          logEvent('error', 'egress.dead_lettered', { 'messaging.message.id': parsed.data.idempotency_key, code: err.code });
          return;
        }
        const delay =
          err instanceof EgressSendError && err.retryAfterSeconds !== undefined
            ? err.retryAfterSeconds
            : retryDelaySeconds(message.attempts);
        logEvent('warn', 'egress.send_failed', {
          'messaging.destination': parsed.data.subject,
          'messaging.message.id': parsed.data.idempotency_key,
          attempts: message.attempts,
          error: errorMessage(err),
        });
        message.retry({ delaySeconds: delay });
      }
    }),
  );
}
