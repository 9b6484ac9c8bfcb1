// Events between flows on the Queues bus: an event a flow emitted travels as one queue message
// under an upstream-style subject (`greentic.events.ingress.{env}.{tenant}.{team}.{provider}`) with
// its hop count, and the consumer hands it to the tenant's events object, which routes it like any
// event. A chain of emitted events stops after MAX_EVENT_HOPS re-routings (upstream's limit).
import { z } from 'zod';
import { retryDelaySeconds, sanitizeSubjectSegment } from '../bus/messages.js';
import { errorMessage } from '../core/coded-error.js';
import { logEvent } from '../edge/telemetry.js';
import { type EventEnvelope, eventEnvelopeSchema } from './envelope.js';

/** Re-routings of emitted events before the chain is dropped (greentic-start routes up to 8 hops deep). */
export const MAX_EVENT_HOPS = 8;

export const eventBusMessageSchema = z.object({
  v: z.literal(1),
  subject: z.string(),
  tenant: z.string(),
  team: z.string(),
  hop: z.number().int().min(0),
  event: eventEnvelopeSchema,
});
export type EventBusMessage = z.infer<typeof eventBusMessageSchema>;

export function eventsSubject(env: string, tenant: string, team: string, provider: string): string {
  return ['greentic', 'events', 'ingress', ...[env, tenant, team, provider].map(sanitizeSubjectSegment)].join('.');
}

export function eventBusMessage(env: string, tenant: string, team: string, event: EventEnvelope, hop: number): EventBusMessage {
  return { v: 1, subject: eventsSubject(env, tenant, team, event.source.provider), tenant, team, hop, event };
}

/** The part of an events object the consumer calls. */
export interface EventDispatcher {
  dispatch(req: { tenant: string; team: string; event: EventEnvelope; hop: number }): Promise<unknown>;
}

/**
 * The events queue consumer: each message goes to its tenant's events object; one that fails is
 * retried with backoff (the object dedups per event and flow, so a retry never runs a flow twice),
 * one that does not parse is retried toward the dead-letter queue.
 */
export async function handleEventsBatch(
  batch: MessageBatch<unknown>,
  objectFor: (tenant: string, team: string) => EventDispatcher,
): Promise<void> {
  await Promise.all(
    batch.messages.map(async (msg) => {
      const parsed = eventBusMessageSchema.safeParse(msg.body);
      if (!parsed.success) {
        logEvent('error', 'events.bus_invalid', { id: msg.id, reason: parsed.error.issues[0]?.message ?? 'invalid' });
        msg.retry({ delaySeconds: retryDelaySeconds(msg.attempts) });
        return;
      }
      const m = parsed.data;
      try {
        await objectFor(m.tenant, m.team).dispatch({ tenant: m.tenant, team: m.team, event: m.event, hop: m.hop });
        msg.ack();
      } catch (err) {
        logEvent('warn', 'events.dispatch_failed', {
          'messaging.destination': m.subject,
          'event.id': m.event.event_id,
          hop: m.hop,
          error: errorMessage(err),
        });
        msg.retry({ delaySeconds: retryDelaySeconds(msg.attempts) });
      }
    }),
  );
}
