// What every provider webhook does the same way: read the body once as bytes within the
// provider's size limit (signatures are over those exact bytes), parse it with a depth bound,
// read the tenant's provider secrets, build the envelope, hand it to the bus, and answer refusals
// as `{error, message}` JSON that names the problem.
import type { ChannelMessageEnvelopeInput } from '../bus/envelope.js';
import { enqueueIngress, ingest } from '../bus/ingress.js';
import { ingressMessage } from '../bus/messages.js';
import { readBoundedBody } from '../edge/bounded-body.js';
import { quotablePointer, tooDeepAt } from '../edge/json-depth.js';
import { logEvent } from '../edge/telemetry.js';
import { buildTenantCtx } from '../edge/tenant-ctx.js';
import { canonicalSessionKey } from '../session/session-key.js';
import { readTenantSecret } from '../session/webhook-auth.js';
import type { IngressCall } from './channel.js';

/** Deepest nesting a provider body may have (objects and arrays); real payloads stay far below. */
const MAX_BODY_DEPTH = 64;

/** A refusal: `{error, message}` with the status. No invalid request goes further than this. */
export function refusal(status: 400 | 401 | 403 | 404 | 405 | 413 | 415, error: string, message: string): Response {
  return Response.json({ error, message }, { status });
}

/** The body's bytes within `limit`, or the 413 that names the limit. */
export async function readBody(call: IngressCall, provider: string, limit: number): Promise<Uint8Array | Response> {
  const bytes = await readBoundedBody(call.request, limit);
  if (bytes === undefined) {
    return refusal(413, 'PayloadTooLarge', `the ${provider} request body exceeds the limit of ${limit} bytes`);
  }
  return bytes;
}

/** The parsed JSON object, or the 400 that says what is wrong with it. */
export function parseJsonObject(bytes: Uint8Array | string, what: string): Record<string, unknown> | Response {
  let value: unknown;
  try {
    value = JSON.parse(typeof bytes === 'string' ? bytes : new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    return refusal(400, 'MalformedBody', `${what} is not valid UTF-8 JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return refusal(400, 'MalformedBody', `${what} is not a JSON object`);
  }
  const deep = tooDeepAt(value, MAX_BODY_DEPTH);
  if (deep !== undefined)
    return refusal(400, 'MalformedBody', `${what} nests deeper than ${MAX_BODY_DEPTH} levels at ${quotablePointer(deep)}`);
  return value as Record<string, unknown>;
}

/** The tenant's value of a provider secret (admin API), as text; `undefined` when it is not set. */
export async function providerSecret(call: Pick<IngressCall, 'env' | 'tenant'>, name: string): Promise<string | undefined> {
  const value = await readTenantSecret(call.env, call.tenant, name);
  if (value === null || value.byteLength === 0) return undefined;
  return new TextDecoder().decode(value);
}

/** 404 for a tenant that has not connected this provider: there is nothing to verify against. */
export function notConfigured(call: IngressCall, secret: string): Response {
  return refusal(
    404,
    'ChannelNotConfigured',
    `tenant "${call.tenant}" has no "${secret}" secret set (admin API), so its webhook is not enabled`,
  );
}

export interface ProviderMessage {
  channel: string;
  /** The provider's message id (the envelope id). */
  id: string;
  user: string;
  /** What the session is anchored on (thread, chat, conversation) as upstream keys it. */
  anchor: string;
  /** Where replies go; stable for the conversation (waits are keyed on it). */
  scope: { conversation: string; thread?: string | undefined };
  text?: string | undefined;
  attachments?: ChannelMessageEnvelopeInput['attachments'];
  metadata?: Record<string, string>;
  extensions?: Record<string, unknown>;
  locale?: string | undefined;
}

/** The envelope of one normalised provider message (tenant ctx and session key as upstream builds them). */
export function providerEnvelope(call: Pick<IngressCall, 'env' | 'tenant' | 'team'>, m: ProviderMessage): ChannelMessageEnvelopeInput {
  const sessionId = canonicalSessionKey(call.tenant, m.channel, m.anchor, m.user);
  const metadata = { ...(m.metadata ?? {}) };
  if (m.locale !== undefined) metadata.locale = m.locale;
  const envelope: ChannelMessageEnvelopeInput = {
    id: m.id,
    tenant: buildTenantCtx({
      env: call.env.GREENTIC_ENV,
      tenant: call.tenant,
      team: call.team,
      channel: m.channel,
      user: m.user,
      sessionId,
      i18nId: m.locale,
    }),
    channel: m.channel,
    session_id: sessionId,
    reply_scope:
      m.scope.thread === undefined
        ? { conversation: m.scope.conversation }
        : { conversation: m.scope.conversation, thread: m.scope.thread },
    from: { id: m.user, kind: 'user' },
    attachments: m.attachments ?? [],
    metadata,
    extensions: m.extensions ?? {},
  };
  if (m.text !== undefined) envelope.text = m.text;
  return envelope;
}

/**
 * Hands the message to its channel object (durable once this returns; a duplicate key is a
 * no-op there). A provider redelivers what it does not see acknowledged in time, so when the
 * object has not taken the message by `deadline` (epoch ms) it goes on the ingress queue
 * instead and the call returns; the object's dedup drops whichever copy arrives second.
 */
export async function handOver(call: IngressCall, message: ProviderMessage, idempotencyKey: string, deadline: number): Promise<void> {
  const envelope = providerEnvelope(call, message);
  const direct = ingest(call.env, envelope, { idempotencyKey });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), Math.max(0, deadline - Date.now()));
  });
  const first = await Promise.race([direct.then(() => 'taken' as const), late]).finally(() => clearTimeout(timer));
  if (first === 'taken') return;
  call.waitUntil(direct.catch(() => undefined));
  logEvent('warn', 'ingress.slow_hand_over', { 'greentic.tenant.id': call.tenant, 'greentic.provider': message.channel });
  await enqueueIngress(call.env, ingressMessage(envelope, { idempotencyKey }));
}
