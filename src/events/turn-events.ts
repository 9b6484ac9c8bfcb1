// Events emitted by a messaging turn (an output item with `emitted_events`) go on the events
// queue like those of event flows, before the turn commits: a turn that is retried publishes them
// again under the same ids (derived from the inbound message's key), so each runs its flows once.
// They carry the conversation as their reply scope, so a flow that handles them can answer it.
import type { ChannelMessageEnvelope } from '../bus/envelope.js';
import type { Env } from '../env.js';
import type { JsonValue } from '../flow/model.js';
import type { EventReplyScope } from './envelope.js';
import { eventBusMessage } from './events-bus.js';
import { emittedEvents } from './flow-runs.js';

export async function forwardTurnEvents(
  env: Env & { EVENTS?: Queue },
  envelope: ChannelMessageEnvelope,
  output: JsonValue,
  key: string,
  flowId: string,
): Promise<number> {
  if (env.EVENTS === undefined) return 0;
  const tenant = envelope.tenant.tenant;
  const team = envelope.tenant.team ?? 'default';
  const replyScope: EventReplyScope = {
    channel: envelope.channel,
    conversation: envelope.reply_scope?.conversation ?? envelope.session_id,
    team,
    ...(envelope.reply_scope?.thread === undefined ? {} : { thread: envelope.reply_scope.thread }),
    ...(envelope.from === undefined ? {} : { user: envelope.from.id }),
  };
  const inherit = {
    reply_scope: replyScope,
    ...(envelope.correlation_id === undefined ? {} : { correlation_id: envelope.correlation_id }),
  };
  const events = emittedEvents(output, { key, tenant, team, flowId }, inherit, new Date());
  for (const event of events) await env.EVENTS.send(eventBusMessage(env.GREENTIC_ENV, tenant, team, event, 1), { contentType: 'json' });
  return events.length;
}
