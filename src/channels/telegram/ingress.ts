// Telegram Bot API webhook (channels.md §3): the `X-Telegram-Bot-Api-Secret-Token` compared in
// constant time, one Update per POST, `update_id` as the dedup key (the replay defence, since
// nothing is signed). Messages, edited messages and callback queries reach the flow; a callback
// query is answered with answerCallbackQuery so the user's spinner stops.
import { logEvent } from '../../edge/telemetry.js';
import { tokenMatches } from '../../session/webhook-auth.js';
import { actionData } from '../action-tokens.js';
import { cardSubmit } from '../card-submit.js';
import type { IngressCall } from '../channel.js';
import { handOver, notConfigured, type ProviderMessage, parseJsonObject, providerSecret, readBody, refusal } from '../ingress-request.js';
import { apiBase, providerCall } from '../provider-call.js';

export const TELEGRAM_CHANNEL = 'telegram';
/** Telegram documents no request size; an Update holds at most 4,096 characters of text plus entities. */
export const TELEGRAM_MAX_BODY_BYTES = 1024 * 1024;
/** How long the webhook waits for the channel object before it queues the message (Telegram's deadline is undocumented; grammY stops waiting at 10 s). */
const ACK_BUDGET_MS = 5_000;

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined);
const id = (v: unknown): string | undefined => (typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function attachmentsOf(message: Obj): ProviderMessage['attachments'] {
  const out: NonNullable<ProviderMessage['attachments']> = [];
  const photos = Array.isArray(message.photo) ? message.photo : [];
  // Telegram lists a photo in several sizes, the largest last.
  const photo = obj(photos[photos.length - 1]);
  if (photo !== undefined && str(photo.file_id) !== undefined) out.push({ mime_type: 'image/jpeg', content: { file_id: photo.file_id } });
  for (const kind of ['document', 'voice', 'audio', 'video'] as const) {
    const file = obj(message[kind]);
    if (file === undefined || str(file.file_id) === undefined) continue;
    out.push({
      mime_type: str(file.mime_type) ?? 'application/octet-stream',
      content: { file_id: file.file_id },
      ...(str(file.file_name) === undefined ? {} : { name: str(file.file_name) }),
      ...(typeof file.file_size === 'number' ? { size_bytes: file.file_size } : {}),
    });
  }
  return out;
}

/** What every update we hand over shares: who wrote, in which chat and forum topic. */
function inChat(updateId: string, user: string, chat: string, message: Obj | undefined) {
  const thread = message?.is_topic_message === true ? id(message.message_thread_id) : undefined;
  return { channel: TELEGRAM_CHANNEL, id: updateId, user, anchor: chat, scope: { conversation: chat, thread } };
}

function chatMessage(updateId: string, message: Obj, edited: boolean): ProviderMessage | Response | undefined {
  const chat = id(obj(message.chat)?.id);
  const from = obj(message.from);
  const user = id(from?.id);
  if (chat === undefined || user === undefined) return refusal(400, 'MalformedBody', 'a message needs chat.id and from.id as integers');
  if (from?.is_bot === true) return undefined;
  const text = typeof message.text === 'string' ? message.text : typeof message.caption === 'string' ? message.caption : undefined;
  return {
    ...inChat(updateId, user, chat, message),
    text,
    attachments: attachmentsOf(message),
    metadata: {
      message_id: id(message.message_id) ?? '',
      chat_type: str(obj(message.chat)?.type) ?? '',
      ...(edited ? { edited: 'true' } : {}),
    },
    locale: str(from?.language_code),
  };
}

/** Stops the button's spinner; a failure only leaves the spinner turning, so it is logged, not retried. */
async function answerCallback(call: IngressCall, queryId: string): Promise<void> {
  const token = await providerSecret(call, 'telegram/bot_token');
  if (token === undefined) return;
  try {
    const res = await providerCall(
      'Telegram',
      `${apiBase(call.env.TELEGRAM_API_BASE, 'https://api.telegram.org')}/bot${token}/answerCallbackQuery`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ callback_query_id: queryId }),
      },
    );
    if (!res.ok) logEvent('warn', 'telegram.answer_callback_failed', { 'greentic.tenant.id': call.tenant, status: res.status });
  } catch (err) {
    logEvent('warn', 'telegram.answer_callback_failed', { 'greentic.tenant.id': call.tenant, error: String(err) });
  }
}

async function callbackQuery(call: IngressCall, updateId: string, query: Obj): Promise<ProviderMessage | Response> {
  const queryId = str(query.id);
  const from = obj(query.from);
  const user = id(from?.id);
  const message = obj(query.message);
  const chat = id(obj(message?.chat)?.id) ?? user;
  if (queryId === undefined || user === undefined || chat === undefined) {
    return refusal(400, 'MalformedBody', 'a callback_query needs id and from.id');
  }
  call.waitUntil(answerCallback(call, queryId));
  const data = await actionData(call.env, call.tenant, str(query.data) ?? '');
  const submit = cardSubmit(data);
  return {
    ...inChat(updateId, user, chat, message),
    text: submit.text,
    metadata: { ...submit.metadata, callback_query_id: queryId },
    extensions: { value: data },
    locale: str(from?.language_code),
  };
}

export async function telegramIngress(call: IngressCall): Promise<Response> {
  if (call.request.method !== 'POST') return refusal(405, 'MethodNotAllowed', 'Telegram delivers updates with POST');
  const body = await readBody(call, 'Telegram', TELEGRAM_MAX_BODY_BYTES);
  if (body instanceof Response) return body;
  const secret = await providerSecret(call, 'telegram/secret_token');
  if (secret === undefined) return notConfigured(call, 'telegram/secret_token');
  const given = call.request.headers.get('x-telegram-bot-api-secret-token');
  if (given === null || !(await tokenMatches(given, new TextEncoder().encode(secret)))) {
    return refusal(401, 'InvalidSecretToken', 'X-Telegram-Bot-Api-Secret-Token is missing or does not match telegram/secret_token');
  }
  const update = parseJsonObject(body, 'the update');
  if (update instanceof Response) return update;
  const updateId = id(update.update_id);
  if (updateId === undefined) return refusal(400, 'MalformedBody', 'the update has no integer update_id');
  const message = obj(update.message) ?? obj(update.edited_message);
  const query = obj(update.callback_query);
  const normalised =
    message !== undefined
      ? chatMessage(updateId, message, update.message === undefined)
      : query !== undefined
        ? await callbackQuery(call, updateId, query)
        : undefined;
  if (normalised instanceof Response) return normalised;
  if (normalised !== undefined) await handOver(call, normalised, `${TELEGRAM_CHANNEL}:${updateId}`, call.receivedAt + ACK_BUDGET_MS);
  return new Response(null, { status: 200 });
}
