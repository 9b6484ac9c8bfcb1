// Upstream's event envelope (greentic-start `EventEnvelopeV1`, upstream-runtime reference §G) and
// the input an event flow receives: `{event, events, tenant, team, correlation_id}`. JSON on the
// wire with serde field names. `reply_scope` is our extension: the conversation a flow's messages
// go to (docs/compat.md "Events and timers").
import { z } from 'zod';
import type { JsonObject, JsonValue } from '../flow/model.js';

const jsonValue: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(jsonValue), z.record(z.string(), jsonValue)]),
);

/** Where messages of a timer or event flow are sent: a channel and a conversation on it. */
export const eventReplyScopeSchema = z.object({
  channel: z.string().min(1),
  conversation: z.string().min(1),
  team: z.string().optional(),
  thread: z.string().optional(),
  user: z.string().optional(),
});
export type EventReplyScope = z.infer<typeof eventReplyScopeSchema>;

export const eventEnvelopeSchema = z.object({
  event_id: z.string().min(1).max(256),
  event_type: z.string().min(1).max(256),
  occurred_at: z.string(),
  source: z.object({ domain: z.string(), provider: z.string(), handler_id: z.string().optional() }),
  scope: z.object({ tenant: z.string(), team: z.string().optional() }),
  correlation_id: z.string().optional(),
  payload: jsonValue,
  http: jsonValue.optional(),
  raw: jsonValue.optional(),
  reply_scope: eventReplyScopeSchema.optional(),
});
export type EventEnvelope = z.infer<typeof eventEnvelopeSchema>;

/** The events-webhook provider's event type and provider name (greentic-events-providers). */
export const WEBHOOK_EVENT_TYPE = 'webhook.received';
export const WEBHOOK_EVENT_PROVIDER = 'events.webhook';
/** Events a flow emits carry this provider (our name: upstream leaves it to the emitting component). */
export const FLOW_EVENT_PROVIDER = 'events.flow';

/** The envelope for a webhook call: the JSON body is the payload, as greentic-start substitutes it. */
export function webhookEvent(eventId: string, tenant: string, team: string | undefined, body: JsonValue, now: Date): EventEnvelope {
  const envelope: EventEnvelope = {
    event_id: eventId,
    event_type: WEBHOOK_EVENT_TYPE,
    occurred_at: now.toISOString(),
    source: { domain: 'events', provider: WEBHOOK_EVENT_PROVIDER, handler_id: 'default' },
    scope: team === undefined ? { tenant } : { tenant, team },
    payload: body,
  };
  return envelope;
}

/** What an event flow runs with (greentic-start `build_event_flow_input`). */
export function eventFlowInput(event: EventEnvelope, tenant: string, team: string | undefined, correlationId?: string): JsonObject {
  return {
    event: event as unknown as JsonValue,
    events: [event as unknown as JsonValue],
    tenant,
    team: team ?? null,
    correlation_id: event.correlation_id ?? correlationId ?? null,
  };
}
