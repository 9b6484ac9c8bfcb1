// WhatsApp Cloud API webhook (channels.md §4): the GET verify handshake, `X-Hub-Signature-256`
// (HMAC-SHA256 of the raw body with the app secret) on every POST, and batches of entries,
// changes and messages, each message handed over once under its wamid. Statuses about our own
// sends and unsupported message types are acknowledged and dropped: a non-2xx answer to a signed
// delivery would be retried for a week.
import { logEvent } from '../../edge/telemetry.js';
import { hexBytes, hmacVerifies, tokenMatches } from '../../session/webhook-auth.js';
import { actionData } from '../action-tokens.js';
import { cardSubmit } from '../card-submit.js';
import type { IngressCall } from '../channel.js';
import { handOver, notConfigured, type ProviderMessage, parseJsonObject, providerSecret, readBody, refusal } from '../ingress-request.js';

export const WHATSAPP_CHANNEL = 'whatsapp';
/** Meta batches up to 3 MB into one delivery. */
export const WHATSAPP_MAX_BODY_BYTES = 3 * 1024 * 1024;
/** How long the webhook waits for the channel object before it queues the message (Meta documents no deadline; it asks for a prompt answer). */
const ACK_BUDGET_MS = 5_000;
const MEDIA = ['image', 'video', 'audio', 'document', 'sticker'] as const;

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.map(obj).filter((x): x is Obj => x !== undefined) : []);

/** The GET handshake: the bare challenge when the mode and our verify token match, else 403. */
async function handshake(call: IngressCall): Promise<Response> {
  const token = await providerSecret(call, 'whatsapp/verify_token');
  if (token === undefined) return notConfigured(call, 'whatsapp/verify_token');
  const query = new URL(call.request.url).searchParams;
  const given = query.get('hub.verify_token');
  const challenge = query.get('hub.challenge');
  if (
    query.get('hub.mode') !== 'subscribe' ||
    given === null ||
    challenge === null ||
    !(await tokenMatches(given, new TextEncoder().encode(token)))
  ) {
    return refusal(403, 'VerificationFailed', 'hub.mode must be "subscribe" and hub.verify_token must match whatsapp/verify_token');
  }
  return new Response(challenge, { status: 200, headers: { 'content-type': 'text/plain' } });
}

/** One message of a change, or undefined when it is a kind we do not hand to flows. */
async function normalise(call: IngressCall, phoneNumberId: string, message: Obj): Promise<ProviderMessage | undefined> {
  const id = str(message.id);
  const from = str(message.from) ?? str(message.from_user_id);
  if (id === undefined || from === undefined) return undefined;
  const base = { channel: WHATSAPP_CHANNEL, id, user: from, anchor: from, scope: { conversation: `${phoneNumberId}:${from}` } };
  const type = str(message.type);
  if (type === 'text') return { ...base, text: str(obj(message.text)?.body) ?? '' };
  if (type === 'interactive' || type === 'button') {
    const i = obj(message.interactive);
    const reply = obj(i?.button_reply) ?? obj(i?.list_reply);
    const payload = str(reply?.id) ?? str(obj(message.button)?.payload);
    if (payload === undefined) return undefined;
    const data = await actionData(call.env, call.tenant, payload);
    const submit = cardSubmit(data);
    const title = str(reply?.title) ?? str(obj(message.button)?.text);
    return {
      ...base,
      text: submit.text,
      metadata: { ...submit.metadata, ...(title === undefined ? {} : { reply_title: title }) },
      extensions: { value: data },
    };
  }
  const media = MEDIA.find((m) => m === type);
  if (media !== undefined) {
    const m = obj(message[media]);
    if (str(m?.id) === undefined) return undefined;
    return {
      ...base,
      text: str(m?.caption),
      attachments: [
        {
          mime_type: str(m?.mime_type) ?? 'application/octet-stream',
          content: { media_id: m?.id },
          ...(str(m?.filename) === undefined ? {} : { name: str(m?.filename) }),
        },
      ],
    };
  }
  return undefined;
}

async function notification(call: IngressCall, body: Uint8Array): Promise<Response> {
  const secret = await providerSecret(call, 'whatsapp/app_secret');
  if (secret === undefined) return notConfigured(call, 'whatsapp/app_secret');
  const header = call.request.headers.get('x-hub-signature-256');
  const mac = header?.startsWith('sha256=') ? hexBytes(header.slice(7)) : undefined;
  if (mac === undefined || !(await hmacVerifies(new TextEncoder().encode(secret), mac, body))) {
    return refusal(401, 'InvalidSignature', 'X-Hub-Signature-256 is missing or does not match the body signed with the app secret');
  }
  const payload = parseJsonObject(body, 'the notification');
  if (payload instanceof Response) return payload;
  if (!Array.isArray(payload.entry)) return refusal(400, 'MalformedBody', 'the notification has no entry array');
  if (payload.object !== 'whatsapp_business_account') return new Response(null, { status: 200 });
  for (const entry of list(payload.entry)) {
    for (const change of list(entry.changes)) {
      const value = obj(change.value);
      const phoneNumberId = str(obj(value?.metadata)?.phone_number_id);
      if (change.field !== 'messages' || value === undefined || phoneNumberId === undefined) continue;
      // A send that failed after Meta accepted it only shows here; the reply key rides in biz_opaque_callback_data.
      for (const status of list(value.statuses).filter((st) => st.status === 'failed')) {
        const code = list(status.errors)[0]?.code;
        logEvent('warn', 'whatsapp.delivery_failed', {
          'greentic.tenant.id': call.tenant,
          'messaging.message.id': str(status.biz_opaque_callback_data) ?? '',
          code: typeof code === 'number' ? code : 0,
        });
      }
      for (const message of list(value.messages)) {
        const normalised = await normalise(call, phoneNumberId, message);
        // One after another, so a user's messages keep their order in the session.
        if (normalised !== undefined)
          await handOver(call, normalised, `${WHATSAPP_CHANNEL}:${normalised.id}`, call.receivedAt + ACK_BUDGET_MS);
      }
    }
  }
  return new Response(null, { status: 200 });
}

export async function whatsappIngress(call: IngressCall): Promise<Response> {
  if (call.request.method === 'GET') return handshake(call);
  if (call.request.method !== 'POST') return refusal(405, 'MethodNotAllowed', 'WhatsApp verifies with GET and notifies with POST');
  const body = await readBody(call, 'WhatsApp', WHATSAPP_MAX_BODY_BYTES);
  if (body instanceof Response) return body;
  return notification(call, body);
}
