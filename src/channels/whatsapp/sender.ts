// WhatsApp egress: one POST {base}/{phone_number_id}/messages per reply (channels.md §4.4).
// Meta throttles with 4xx error codes and no Retry-After (130429, 131056, 80007, 4, 613), and
// reports some transient failures the same way (131016, 131000): those are retried with backoff,
// as are 5xx and 429; any other error code is permanent.
import { EgressSendError } from '../../bus/delivery.js';
import type { EgressMessage } from '../../bus/messages.js';
import type { WorkerEnv } from '../../objects.js';
import { replyContent } from '../card-model.js';
import type { EgressSender } from '../channel.js';
import { apiBase, credential, jsonOf, providerCall, retryAfterHeader, sendFailure, withinSendRate } from '../provider-call.js';
import { whatsappContent } from './interactive.js';

const RETRYABLE_CODES = new Set([130429, 131056, 80007, 4, 613, 131016, 131000]);
const MAX_CALLBACK_DATA = 512;

/** The business number and the user of a reply scope `{phone_number_id}:{user}`. */
function addressOf(message: EgressMessage): { phoneNumberId: string; user: string } {
  const conversation = message.envelope.reply_scope?.conversation ?? '';
  const at = conversation.indexOf(':');
  if (at <= 0 || at === conversation.length - 1) {
    throw new EgressSendError(
      'NoConversation',
      `whatsapp reply ${message.envelope.id} has no "{phone_number_id}:{user}" conversation`,
      false,
    );
  }
  return { phoneNumberId: conversation.slice(0, at), user: conversation.slice(at + 1) };
}

/** The /messages request for a reply: URL path segment and JSON body. */
export async function whatsappRequest(
  env: WorkerEnv,
  message: EgressMessage,
): Promise<{ phoneNumberId: string; body: Record<string, unknown> }> {
  const { phoneNumberId, user } = addressOf(message);
  const content = await whatsappContent(env, message.envelope.tenant.tenant, replyContent(message.envelope));
  return {
    phoneNumberId,
    body: {
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      // A phone number goes in `to`; a business-scoped user id (no phone shared) in `recipient`.
      ...(/^\d+$/.test(user) ? { to: user } : { recipient: user }),
      ...content,
      // Comes back on every status webhook about this send: our key per reply.
      biz_opaque_callback_data: message.idempotency_key.slice(0, MAX_CALLBACK_DATA),
    },
  };
}

export const whatsappSender: EgressSender = {
  async send(message, env) {
    const token = await credential(env, message, 'whatsapp/access_token');
    const { phoneNumberId, body } = await whatsappRequest(env, message);
    await withinSendRate(env, message);
    const base = apiBase(env.WHATSAPP_API_BASE, 'https://graph.facebook.com/v25.0');
    const res = await providerCall('WhatsApp', `${base}/${encodeURIComponent(phoneNumberId)}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (res.ok) return;
    const error = (await jsonOf(res))?.error as { code?: unknown; message?: unknown } | undefined;
    const code = typeof error?.code === 'number' ? error.code : undefined;
    const detail = `${code === undefined ? '' : `(#${code}) `}${typeof error?.message === 'string' ? error.message : 'no error message'}`;
    const retryable = res.status === 429 || res.status >= 500 || (code !== undefined && RETRYABLE_CODES.has(code));
    throw sendFailure('WhatsApp', res.status, detail, retryable, retryAfterHeader(res));
  },
};
