// Telegram egress: one sendMessage per reply (channels.md §3.4–3.5). 429 waits
// `parameters.retry_after`; 5xx is retried; a 400 "can't parse entities" is resent once as plain
// text (the first call certainly posted nothing); other 4xx are permanent.
import { EgressSendError } from '../../bus/delivery.js';
import type { EgressMessage } from '../../bus/messages.js';
import type { WorkerEnv } from '../../objects.js';
import { replyContent } from '../card-model.js';
import type { EgressSender } from '../channel.js';
import { apiBase, credential, jsonOf, providerCall, retryAfterHeader, sendFailure, withinSendRate } from '../provider-call.js';
import { telegramMessage } from './markdown.js';

/** Chat ids are integers; they travel as numbers, as Telegram's own clients send them. */
function chatId(value: string): number | string {
  return /^-?\d{1,20}$/.test(value) && Number.isSafeInteger(Number(value)) ? Number(value) : value;
}

/** The sendMessage body for a reply (MarkdownV2 and its inline keyboard). */
export async function telegramSendBody(env: WorkerEnv, message: EgressMessage): Promise<{ body: Record<string, unknown>; plain: string }> {
  const envelope = message.envelope;
  const chat = envelope.reply_scope?.conversation;
  if (chat === undefined || chat === '') throw new EgressSendError('NoConversation', `telegram reply ${envelope.id} has no chat id`, false);
  const rendered = await telegramMessage(env, envelope.tenant.tenant, replyContent(envelope));
  const thread = envelope.reply_scope?.thread;
  const body: Record<string, unknown> = {
    chat_id: chatId(chat),
    text: rendered.text,
    parse_mode: 'MarkdownV2',
    ...(thread === undefined ? {} : { message_thread_id: chatId(thread) }),
    link_preview_options: { is_disabled: true },
    ...(rendered.keyboard.length === 0 ? {} : { reply_markup: { inline_keyboard: rendered.keyboard } }),
  };
  return { body, plain: rendered.plain };
}

async function call(
  env: WorkerEnv,
  token: string,
  body: Record<string, unknown>,
): Promise<{ res: Response; answer: Record<string, unknown> | undefined }> {
  const res = await providerCall('Telegram', `${apiBase(env.TELEGRAM_API_BASE, 'https://api.telegram.org')}/bot${token}/sendMessage`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { res, answer: await jsonOf(res) };
}

export const telegramSender: EgressSender = {
  async send(message, env) {
    const token = await credential(env, message, 'telegram/bot_token');
    const { body, plain } = await telegramSendBody(env, message);
    await withinSendRate(env, message);
    let { res, answer } = await call(env, token, body);
    const description = () => (typeof answer?.description === 'string' ? answer.description : '');
    if (res.status === 400 && /can't parse entities/i.test(description())) {
      const { parse_mode: _markup, ...rest } = body;
      ({ res, answer } = await call(env, token, { ...rest, text: plain }));
    }
    if (res.ok && answer?.ok === true) return;
    if (res.status === 429) {
      const params = answer?.parameters as { retry_after?: unknown } | undefined;
      const wait = typeof params?.retry_after === 'number' ? params.retry_after : (retryAfterHeader(res) ?? 1);
      throw sendFailure('Telegram', 429, description() || 'Too Many Requests', true, wait);
    }
    throw sendFailure('Telegram', res.status, description() || 'no description', res.status >= 500);
  },
};
