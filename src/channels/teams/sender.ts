// Teams egress (channels.md §2.4–2.5): an OAuth client-credentials token (cached until 5 minutes
// before it expires) and one activity per reply, POSTed to the conversation's serviceUrl as a
// reply to the activity that started the turn. Adaptive Cards go as attachments (schema version
// at most 1.5, what Teams renders). 429, 412, 502, 503 and 504 are retried; a 401 refreshes the
// token once; a 500 or a timeout may already have delivered and is not resent.
import { EgressSendError } from '../../bus/delivery.js';
import type { EgressMessage } from '../../bus/messages.js';
import type { WorkerEnv } from '../../objects.js';
import { readTenantSecret } from '../../session/webhook-auth.js';
import { ADAPTIVE_CARD_MIME, replyContent } from '../card-model.js';
import type { EgressSender } from '../channel.js';
import { credential, jsonOf, providerCall, retryAfterHeader, sendFailure, withinSendRate } from '../provider-call.js';
import { loadConversationRef } from './conversation-ref.js';
import { repliedActivityId } from './ingress.js';

export const DEFAULT_TOKEN_URL = 'https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token';
const RETRYABLE = new Set([412, 429, 502, 503, 504]);
const TOKEN_MARGIN_MS = 5 * 60 * 1000;
const MAX_CARD_VERSION = 1.5;

const tokens = new Map<string, { token: string; expiresAt: number }>();

async function accessToken(env: WorkerEnv, message: EgressMessage, appId: string, fresh: boolean): Promise<string> {
  const password = await credential(env, message, 'teams/app_password');
  const tenantSecret = await readTenantSecret(env, message.envelope.tenant.tenant, 'teams/tenant_id');
  // Single-tenant bots get their token from their own Entra tenant; legacy multi-tenant ones from botframework.com.
  const entraTenant = tenantSecret === null || tenantSecret.byteLength === 0 ? 'botframework.com' : new TextDecoder().decode(tenantSecret);
  const url = (env.TEAMS_TOKEN_URL ?? DEFAULT_TOKEN_URL).replace('{tenant}', encodeURIComponent(entraTenant));
  const cacheKey = JSON.stringify([url, appId, password]);
  const cached = tokens.get(cacheKey);
  if (!fresh && cached !== undefined && cached.expiresAt > Date.now()) return cached.token;
  const res = await providerCall('Entra ID', url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: appId,
      client_secret: password,
      scope: 'https://api.botframework.com/.default',
    }).toString(),
  });
  const answer = await jsonOf(res);
  if (!res.ok || typeof answer?.access_token !== 'string') {
    const detail = typeof answer?.error_description === 'string' ? answer.error_description : `HTTP ${res.status}`;
    throw sendFailure('Entra ID', res.status, `no bot token: ${detail}`, res.status === 429 || res.status >= 500, retryAfterHeader(res));
  }
  const lifetime = typeof answer.expires_in === 'number' ? answer.expires_in * 1000 : 3_600_000;
  tokens.set(cacheKey, { token: answer.access_token, expiresAt: Date.now() + lifetime - TOKEN_MARGIN_MS });
  return answer.access_token;
}

/** A card as Teams takes it: an object, its schema version at most 1.5. */
function teamsCard(raw: Record<string, unknown>): Record<string, unknown> {
  const version = Number.parseFloat(String(raw.version ?? ''));
  return Number.isFinite(version) && version > MAX_CARD_VERSION ? { ...raw, version: String(MAX_CARD_VERSION) } : raw;
}

/** The activity for a reply. */
export function teamsActivity(message: EgressMessage, appId: string): Record<string, unknown> {
  const envelope = message.envelope;
  const content = replyContent(envelope);
  const attachments = [
    ...content.cards.map((c) => ({ contentType: ADAPTIVE_CARD_MIME, content: teamsCard(c.raw) })),
    ...content.files.map((f) => ({ contentType: f.mime, contentUrl: f.url, ...(f.name === undefined ? {} : { name: f.name }) })),
  ];
  const replyTo = repliedActivityId(message.in_reply_to);
  const user = envelope.to[0]?.id;
  return {
    type: 'message',
    from: { id: `28:${appId}` },
    conversation: { id: envelope.reply_scope?.conversation },
    ...(user === undefined ? {} : { recipient: { id: user } }),
    ...(replyTo === undefined ? {} : { replyToId: replyTo }),
    textFormat: 'markdown',
    ...(content.text === undefined ? {} : { text: content.text }),
    ...(attachments.length === 0 ? {} : { attachments }),
    ...(content.buttons.length === 0
      ? {}
      : {
          suggestedActions: {
            actions: content.buttons.map((b) => ({
              type: 'imBack',
              title: b.title,
              value: b.kind === 'url' ? b.url : typeof b.data === 'string' ? b.data : JSON.stringify(b.data),
            })),
          },
        }),
  };
}

export const teamsSender: EgressSender = {
  async send(message, env) {
    const conversation = message.envelope.reply_scope?.conversation;
    if (conversation === undefined || conversation === '') {
      throw new EgressSendError('NoConversation', `teams reply ${message.envelope.id} has no reply_scope.conversation`, false);
    }
    const appId = await credential(env, message, 'teams/app_id');
    const ref = await loadConversationRef(env, message.envelope.tenant.tenant, conversation);
    if (ref === undefined) {
      throw new EgressSendError(
        'NoConversationReference',
        `no verified activity named a serviceUrl for Teams conversation ${conversation}`,
        false,
      );
    }
    const activity = teamsActivity(message, appId);
    const base = ref.service_url.endsWith('/') ? ref.service_url : `${ref.service_url}/`;
    const replyTo = repliedActivityId(message.in_reply_to);
    const url = `${base}v3/conversations/${encodeURIComponent(conversation)}/activities${replyTo === undefined ? '' : `/${encodeURIComponent(replyTo)}`}`;
    await withinSendRate(env, message);
    const post = async (fresh: boolean) =>
      providerCall('Teams', url, {
        method: 'POST',
        headers: { authorization: `Bearer ${await accessToken(env, message, appId, fresh)}`, 'content-type': 'application/json' },
        body: JSON.stringify(activity),
      });
    let res = await post(false);
    // A 401 is the connector refusing our token before anything was posted: one retry with a new one.
    if (res.status === 401) res = await post(true);
    if (res.ok) return;
    const detail = await res.text();
    if (res.status === 500) {
      throw new EgressSendError(
        'DeliveryUncertain',
        `Teams answered 500: the activity may have been posted, so it is not resent (${detail.slice(0, 200)})`,
        false,
      );
    }
    throw sendFailure('Teams', res.status, detail, RETRYABLE.has(res.status), retryAfterHeader(res));
  },
};
