// WebChat egress: a reply envelope becomes a Direct Line bot activity, appended to the
// conversation's activity log (once per egress idempotency key) and pushed to its open sockets.

import { EgressSendError } from '../../bus/delivery.js';
import type { Attachment, ChannelMessageEnvelope } from '../../bus/envelope.js';
import type { EgressMessage } from '../../bus/messages.js';
import { type WorkerEnv, webchatConversation } from '../../objects.js';
import { ADAPTIVE_CARD_MIME } from '../../session/replies.js';
import { BUTTONS_MIME } from '../card-model.js';
import type { EgressSender } from '../channel.js';
import type { DirectLineActivity } from './conversation.js';
import { replyToIdOf, WEBCHAT_CHANNEL } from './directline.js';

/** Quick-reply buttons (card-model.ts) are rendered as Direct Line suggested actions. */
export { BUTTONS_MIME };

const DEFAULT_BOT = { id: 'greentic-bot', name: 'Greentic' };

interface Button {
  title: string;
  value: string;
}

function buttonsOf(content: unknown): Button[] {
  if (!Array.isArray(content)) return [];
  const out: Button[] = [];
  for (const item of content) {
    if (typeof item === 'string' && item !== '') out.push({ title: item, value: item });
    else if (typeof item === 'object' && item !== null) {
      const b = item as Record<string, unknown>;
      const title = typeof b.title === 'string' ? b.title : typeof b.id === 'string' ? b.id : undefined;
      if (title === undefined) continue;
      const value = typeof b.payload === 'string' ? b.payload : typeof b.value === 'string' ? b.value : title;
      out.push({ title, value });
    }
  }
  return out;
}

function directLineAttachment(a: Attachment): Record<string, unknown> {
  const out: Record<string, unknown> = { contentType: a.mime_type };
  // Card content must be a JSON object; a string (e.g. card JSON text) is parsed first.
  if (a.content !== undefined) {
    let content: unknown = a.content;
    if (typeof content === 'string' && a.mime_type.startsWith('application/vnd.microsoft.card.')) {
      try {
        content = JSON.parse(content) as unknown;
      } catch {
        // left as is: WebChat renders an empty card, which is visible to the author
      }
    }
    out.content = content;
  }
  if (a.url !== undefined) out.contentUrl = a.url;
  if (a.name !== undefined) out.name = a.name;
  return out;
}

/** Direct Line activity fields an output passed through (replies.ts keeps them under snake_case names). */
const DIRECT_LINE_KEYS = [
  ['channel_data', 'channelData'],
  ['entities', 'entities'],
  ['suggested_actions', 'suggestedActions'],
  ['speak', 'speak'],
  ['input_hint', 'inputHint'],
] as const;

function passDirectLineKeys(extensions: Record<string, unknown>, activity: DirectLineActivity): void {
  for (const [from, to] of DIRECT_LINE_KEYS)
    if (extensions[from] !== undefined && activity[to] === undefined) activity[to] = extensions[from];
}

/**
 * The card a failed turn's answer carries (upstream's webchat provider shows one for
 * `metadata.error_kind`): the generic text and the kind of error, never its internal message.
 */
function errorCard(text: string | undefined, kind: string): Record<string, unknown> {
  return {
    contentType: ADAPTIVE_CARD_MIME,
    content: {
      type: 'AdaptiveCard',
      version: '1.5',
      body: [
        { type: 'TextBlock', text: 'Something went wrong', weight: 'Bolder', size: 'Medium', color: 'Attention', wrap: true },
        ...(text === undefined ? [] : [{ type: 'TextBlock', text, wrap: true }]),
        { type: 'FactSet', facts: [{ title: 'Error', value: kind }] },
      ],
    },
  };
}

/** The bot activity for a reply envelope (without id/timestamp, which the conversation assigns). */
export function replyActivity(message: EgressMessage, bot: { id: string; name: string } = DEFAULT_BOT): DirectLineActivity {
  const envelope = message.envelope;
  const activity: DirectLineActivity = { type: 'message', from: { id: bot.id, name: bot.name, role: 'bot' } };
  const user = envelope.to[0]?.id;
  if (user !== undefined) activity.recipient = { id: user, role: 'user' };
  if (envelope.text !== undefined) activity.text = envelope.text;
  const format = envelope.metadata['text_format'];
  if (format === 'plain' || format === 'markdown' || format === 'xml') activity.textFormat = format;
  const buttons: Button[] = [];
  const attachments: Record<string, unknown>[] = [];
  for (const a of envelope.attachments) {
    if (a.mime_type === BUTTONS_MIME) buttons.push(...buttonsOf(a.content));
    else attachments.push(directLineAttachment(a));
  }
  if (envelope.metadata['attachment_layout'] === 'carousel') activity.attachmentLayout = 'carousel';
  if (buttons.length > 0) {
    activity.suggestedActions = {
      actions: buttons.map((b) => ({ type: 'imBack', title: b.title, value: b.value })),
      ...(user === undefined ? {} : { to: [user] }),
    };
  }
  const errorKind = envelope.metadata['error_kind'];
  if (errorKind !== undefined && attachments.length === 0) attachments.push(errorCard(envelope.text, errorKind));
  if (attachments.length > 0) activity.attachments = attachments;
  passDirectLineKeys(envelope.extensions, activity);
  const replyTo = replyToIdOf(message.in_reply_to);
  if (replyTo !== undefined) activity.replyToId = replyTo;
  return activity;
}

function conversationOf(envelope: ChannelMessageEnvelope): string {
  const id = envelope.reply_scope?.conversation;
  if (id === undefined || id === '') {
    throw new EgressSendError('NoConversation', `webchat reply ${envelope.id} has no reply_scope.conversation to deliver to`, false);
  }
  return id;
}

export const webchatEgressSender: EgressSender = {
  async send(message: EgressMessage, env: WorkerEnv): Promise<void> {
    const envelope = message.envelope;
    if (envelope.channel !== WEBCHAT_CHANNEL)
      throw new EgressSendError('WrongChannel', `the webchat sender got a "${envelope.channel}" reply`, false);
    const stub = webchatConversation(env, envelope.tenant.tenant, conversationOf(envelope));
    const bot = { id: DEFAULT_BOT.id, name: env.WEBCHAT_BOT_NAME ?? DEFAULT_BOT.name };
    await stub.appendBotActivity(message.idempotency_key, replyActivity(message, bot));
  },
};
