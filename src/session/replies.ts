// Turns what a messaging run yielded into reply envelopes. A run's output is the list of emitted
// payloads (plus the last node's payload) or a single payload; an item becomes a reply when it
// carries something a user can see: a string, `text`, `attachments`, an Adaptive Card, or a
// `messages` list. Anything else (a bare component result) is not sent.

import type { Attachment, ChannelMessageEnvelope } from '../bus/envelope.js';
import { isObject } from '../core/is-object.js';
import type { JsonValue } from '../flow/model.js';

const ADAPTIVE_CARD = 'application/vnd.microsoft.card.adaptive';

interface ReplyBody {
  text?: string;
  attachments: Attachment[];
  metadata: Record<string, string>;
}

function toBody(item: JsonValue): ReplyBody[] {
  if (typeof item === 'string') return item === '' ? [] : [{ text: item, attachments: [], metadata: {} }];
  if (Array.isArray(item)) return item.flatMap(toBody);
  if (!isObject(item)) return [];
  if (Array.isArray(item.messages)) return item.messages.flatMap(toBody);
  const body: ReplyBody = { attachments: [], metadata: {} };
  if (typeof item.text === 'string') body.text = item.text;
  if (Array.isArray(item.attachments)) {
    for (const a of item.attachments) {
      if (isObject(a) && typeof a.mime_type === 'string') body.attachments.push(a as unknown as Attachment);
    }
  }
  const card = item.adaptive_card ?? item.card;
  if (isObject(card)) body.attachments.push({ mime_type: ADAPTIVE_CARD, content: card });
  if (isObject(item.metadata)) {
    for (const [k, v] of Object.entries(item.metadata)) if (typeof v === 'string') body.metadata[k] = v;
  }
  return body.text === undefined && body.attachments.length === 0 ? [] : [body];
}

export function replyEnvelopes(inbound: ChannelMessageEnvelope, output: JsonValue, idPrefix: string): ChannelMessageEnvelope[] {
  return toBody(output).map((body, index) => {
    const reply: ChannelMessageEnvelope = {
      id: `${idPrefix}#${index}`,
      tenant: inbound.tenant,
      channel: inbound.channel,
      session_id: inbound.session_id,
      to:
        inbound.from === undefined
          ? []
          : [{ id: inbound.from.id, ...(inbound.from.kind === undefined ? {} : { kind: inbound.from.kind }) }],
      attachments: body.attachments,
      metadata: body.metadata,
      extensions: {},
    };
    if (inbound.reply_scope !== undefined) reply.reply_scope = inbound.reply_scope;
    if (inbound.correlation_id !== undefined) reply.correlation_id = inbound.correlation_id;
    if (body.text !== undefined) reply.text = body.text;
    return reply;
  });
}
