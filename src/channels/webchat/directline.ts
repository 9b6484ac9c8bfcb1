// The Direct Line 3.0 facade for WebChat, mounted at /v1/messaging/webchat/{tenant}. Stock
// `botframework-webchat` / `botframework-directlinejs` talk to it unchanged (see the Direct Line
// reference): tokens bound to tenant + conversation, start/resume, post (the echo numbered, the
// envelope handed to the bot, then the echo published), polling with watermarks and a
// hibernating WebSocket stream served by the conversation's Durable Object.
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { ChannelMessageEnvelopeInput } from '../../bus/envelope.js';
import { ingest } from '../../bus/ingress.js';
import { isObject } from '../../core/is-object.js';
import { readBoundedBody } from '../../edge/bounded-body.js';
import { quotablePointer, tooDeepAt } from '../../edge/json-depth.js';
import { clientAddress, consume, type LimitKey, type LimitName, limitMessage } from '../../edge/rate-limits.js';
import { errorFacts, logEvent } from '../../edge/telemetry.js';
import { buildTenantCtx, IDENTIFIER, notAnIdentifier } from '../../edge/tenant-ctx.js';
import { type WorkerEnv, webchatConversation } from '../../objects.js';
import { canonicalSessionKey } from '../../session/session-key.js';
import type { DirectLineActivity } from './conversation.js';
import { mintToken, newConversationId, TOKEN_TTL_SECONDS, verifyToken, type WebchatTokenClaims } from './token.js';

export const WEBCHAT_CHANNEL = 'webchat';
/**
 * Largest accepted request body. Everything a body carries reaches the bot, and the bot keeps
 * it in Durable Object SQLite rows of at most 2 MB: the envelope holds a card value twice (its
 * fields are also copied into `metadata`, as upstream does), and a parked run's snapshot holds
 * the envelope twice more (`entry` and `input`). 256 KiB keeps all of that within one row.
 */
export const MAX_ACTIVITY_BYTES = 256 * 1024;
/** Deepest nesting an activity may have (objects and arrays, the activity itself counting as one). */
export const MAX_ACTIVITY_DEPTH = 64;
/** Prefix of the ingress idempotency key; the rest is the echo's activity id (used as `replyToId`). */
const KEY_PREFIX = 'webchat:';
const ACTIVITY_ID = /^[A-Za-z0-9_-]+\|\d{7}$/;

type Ctx = Context<{ Bindings: WorkerEnv }>;

/** The `replyToId` for a reply to the ingress message with this idempotency key, if it came from WebChat. */
export function replyToIdOf(inReplyTo: string): string | undefined {
  if (!inReplyTo.startsWith(KEY_PREFIX)) return undefined;
  const id = inReplyTo.slice(KEY_PREFIX.length);
  return ACTIVITY_ID.test(id) ? id : undefined;
}

/** An inbound Direct Line activity as the facade accepts it (unknown fields are kept). */
export const webchatActivitySchema = z.looseObject({
  type: z.string().min(1).max(64),
  from: z.looseObject({ id: z.string().min(1).max(256), name: z.string().max(256).optional(), role: z.string().optional() }),
  text: z.string().optional(),
  locale: z.string().max(64).optional(),
  value: z.unknown().optional(),
  attachments: z
    .array(
      z.looseObject({
        contentType: z.string().min(1),
        contentUrl: z.string().optional(),
        content: z.unknown().optional(),
        name: z.string().optional(),
      }),
    )
    .max(50)
    .optional(),
});
export type WebchatActivity = z.infer<typeof webchatActivitySchema>;

const startBodySchema = z.looseObject({ user: z.looseObject({ id: z.string().min(1).max(256).optional() }).optional() }).nullable();

// ------------------------------------------------------------------ responses

const CORS_HEADERS = {
  'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
  'Access-Control-Allow-Headers': 'Authorization, Content-Type, Accept, x-ms-bot-agent, X-Requested-With, X-Greentic-Locale',
  'Access-Control-Expose-Headers': 'Retry-After',
  'Access-Control-Max-Age': '600',
};

function dlError(c: Ctx, status: 400 | 401 | 403 | 404 | 413 | 415 | 503, code: string, message: string): Response {
  return c.json({ error: { code, message } }, status);
}

/** One rate limit (edge/rate-limits.ts): a Direct Line 429 with Retry-After when it refuses, else undefined. */
async function limited(c: Ctx, name: LimitName, key: LimitKey): Promise<Response | undefined> {
  const outcome = await consume(c.env, name, key);
  if (outcome.allowed !== false) return undefined;
  const message = limitMessage(name, outcome, key.tenant);
  return c.json({ error: { code: 'TooManyRequests', message, limit: name, retry_after: outcome.retryAfter } }, 429, {
    'Retry-After': String(outcome.retryAfter),
  });
}

function streamUrl(c: Ctx, tenant: string, conversationId: string, token: string, watermark?: string): string {
  const base = new URL(c.env.WEBCHAT_PUBLIC_URL ?? c.req.url);
  const ws = base.protocol === 'https:' ? 'wss:' : 'ws:';
  const query = `t=${encodeURIComponent(token)}${watermark === undefined ? '' : `&watermark=${encodeURIComponent(watermark)}`}`;
  return `${ws}//${base.host}/v1/messaging/webchat/${tenant}/v3/directline/conversations/${conversationId}/stream?${query}`;
}

function secretOf(c: Ctx): string | undefined {
  const s = c.env.WEBCHAT_TOKEN_SECRET;
  return s === undefined || s === '' ? undefined : s;
}

function bearer(c: Ctx): string | undefined {
  const header = c.req.header('authorization');
  const match = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header.trim());
  return match?.[1];
}

type Auth = { ok: true; claims: WebchatTokenClaims; secret: string } | { ok: false; response: Response };

/** Checks the token and that it was issued for this tenant (and conversation, when the path names one). */
async function authorize(c: Ctx, token: string | undefined, conversationId?: string): Promise<Auth> {
  const secret = secretOf(c);
  if (secret === undefined)
    return { ok: false, response: dlError(c, 503, 'ServiceUnavailable', 'WebChat is disabled: set the WEBCHAT_TOKEN_SECRET secret') };
  const check = await verifyToken(secret, token);
  if (!check.ok) {
    // 403 ends a WebChat session for good, so it is reserved for real expiry (Direct Line reference §4.1).
    return { ok: false, response: dlError(c, check.code === 'TokenExpired' ? 403 : 401, check.code, check.message) };
  }
  const tenant = c.req.param('tenant');
  if (check.claims.tid !== tenant)
    return { ok: false, response: dlError(c, 403, 'Forbidden', `the token was not issued for tenant "${tenant}"`) };
  if (conversationId !== undefined && check.claims.cid !== conversationId) {
    return { ok: false, response: dlError(c, 403, 'Forbidden', 'the token was not issued for this conversation') };
  }
  return { ok: true, claims: check.claims, secret };
}

/** Reads a body up to MAX_ACTIVITY_BYTES; `null` means too large. */
async function boundedText(c: Ctx): Promise<string | null> {
  const bytes = await readBoundedBody(c.req.raw, MAX_ACTIVITY_BYTES);
  return bytes === undefined ? null : new TextDecoder().decode(bytes);
}

function tooBig(c: Ctx, what: string): Response {
  return dlError(
    c,
    413,
    'MessageSizeTooBig',
    `${what} exceeds the limit of ${MAX_ACTIVITY_BYTES} bytes (${MAX_ACTIVITY_BYTES / 1024} KiB)`,
  );
}

/** A parsed body nested too deep for what handles it next, as a 400 naming where; else `undefined`. */
function tooDeep(c: Ctx, raw: unknown, what: string): Response | undefined {
  const at = tooDeepAt(raw, MAX_ACTIVITY_DEPTH);
  if (at === undefined) return undefined;
  return dlError(c, 400, 'BadArgument', `${what} nests deeper than ${MAX_ACTIVITY_DEPTH} levels at ${quotablePointer(at)}`);
}

// ------------------------------------------------------------------ envelope

/**
 * Card-submit `value` fields become string metadata (upstream webchat provider): strings verbatim,
 * anything else as its JSON text, so routing conditions (`response.action`) and card navigation
 * see every field. A bare string value is kept as `action`.
 */
function submitMetadata(value: unknown): Record<string, string> {
  if (typeof value === 'string') return { action: value };
  if (!isObject(value)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === 'string') out[k] = v;
    else if (v !== undefined) out[k] = JSON.stringify(v);
  }
  return out;
}

/** The value keys whose text stands for a submit's empty text, in upstream's order. */
const SUBMIT_TEXT_KEYS = ['step', 'routeToCardId', 'toCardId', 'mcp_wizard', 'mcp_operation'] as const;
/** What an empty submit says when its value names none of those keys (newer upstream provider). */
const SUBMIT_DEFAULT_TEXT = 'message';

/**
 * A card submit posts only `value`: its text is the first of SUBMIT_TEXT_KEYS the value has (a
 * key holding something other than a string gives the default, as upstream's presence chain does).
 */
function submitText(value: unknown): string {
  if (!isObject(value)) return SUBMIT_DEFAULT_TEXT;
  const key = SUBMIT_TEXT_KEYS.find((k) => value[k] !== undefined);
  const found = key === undefined ? undefined : value[key];
  return typeof found === 'string' ? found : SUBMIT_DEFAULT_TEXT;
}

export function activityEnvelope(
  env: WorkerEnv,
  tenant: string,
  conversationId: string,
  activityId: string,
  activity: WebchatActivity,
): ChannelMessageEnvelopeInput {
  const user = activity.from.id;
  const sessionId = canonicalSessionKey(tenant, WEBCHAT_CHANNEL, conversationId, user);
  const metadata: Record<string, string> = {
    universal: 'true',
    route: conversationId,
    ...submitMetadata(activity.value),
    conversation_id: conversationId,
    activity_id: activityId,
  };
  if (activity.locale !== undefined) metadata.locale = activity.locale;
  const envelope: ChannelMessageEnvelopeInput = {
    id: activityId,
    tenant: buildTenantCtx({ env: env.GREENTIC_ENV, tenant, channel: WEBCHAT_CHANNEL, user, sessionId, i18nId: activity.locale }),
    channel: WEBCHAT_CHANNEL,
    session_id: sessionId,
    reply_scope: { conversation: conversationId },
    from: { id: user, kind: 'user' },
    attachments: (activity.attachments ?? []).map((a) => ({
      mime_type: a.contentType,
      ...(a.contentUrl === undefined ? {} : { url: a.contentUrl }),
      ...(a.content === undefined ? {} : { content: a.content }),
      ...(a.name === undefined ? {} : { name: a.name }),
    })),
    metadata,
    extensions: activity.value === undefined ? {} : { value: activity.value },
  };
  if (activity.text !== undefined && activity.text !== '') envelope.text = activity.text;
  else if (activity.value !== undefined) envelope.text = submitText(activity.value);
  else if (activity.text !== undefined) envelope.text = activity.text;
  return envelope;
}

/**
 * The welcome: a conversation that was just created sends the bot upstream's `autoStart` envelope
 * (empty text, `metadata.autoStart = "true"`) once, so a flow that answers with a welcome card
 * greets the user before they type; resuming a conversation never does. A client that names no
 * user when it starts gets the welcome in a session of its own (the session key holds the user).
 */
async function autoStart(c: Ctx, tenant: string, conversationId: string, user: string | null): Promise<void> {
  const id = `${conversationId}|autostart`;
  const envelope = activityEnvelope(c.env, tenant, conversationId, id, { type: 'message', from: { id: user ?? 'user' }, text: '' });
  envelope.metadata = { ...envelope.metadata, autoStart: 'true' };
  const locale = c.req.header('x-greentic-locale');
  if (locale !== undefined && locale !== '' && envelope.metadata.locale === undefined) envelope.metadata.locale = locale.slice(0, 64);
  try {
    await ingest(c.env, envelope, { idempotencyKey: `${KEY_PREFIX}${id}` });
  } catch (err) {
    // The conversation stands without its welcome: the user's first message still reaches the bot.
    logEvent('error', 'webchat.autostart_failed', { 'greentic.tenant.id': tenant, ...errorFacts(err) });
  }
}

// ------------------------------------------------------------------ routes

async function mint(c: Ctx, conversationId: string): Promise<Response> {
  const secret = secretOf(c);
  if (secret === undefined) return dlError(c, 503, 'ServiceUnavailable', 'WebChat is disabled: set the WEBCHAT_TOKEN_SECRET secret');
  const tenant = c.req.param('tenant')!;
  const refused = await limited(c, 'token', { tenant, scope: [clientAddress(c.req.raw)] });
  if (refused !== undefined) return refused;
  const { token } = await mintToken(secret, tenant, conversationId);
  const domain = `${new URL(c.env.WEBCHAT_PUBLIC_URL ?? c.req.url).origin}/v1/messaging/webchat/${tenant}/v3/directline`;
  return c.json({ conversationId, token, expires_in: TOKEN_TTL_SECONDS, domain });
}

export function webchatApi(): Hono<{ Bindings: WorkerEnv }> {
  const api = new Hono<{ Bindings: WorkerEnv }>();

  // CORS on every answer, errors included: without Allow-Origin the browser reports status 0.
  api.use('*', async (c, next) => {
    const origin = c.req.header('origin');
    if (c.req.method === 'OPTIONS') {
      return new Response(null, {
        status: 204,
        headers: { ...CORS_HEADERS, 'Access-Control-Allow-Origin': origin ?? '*', Vary: 'Origin' },
      });
    }
    await next();
    if (c.res.status === 101) return;
    c.res.headers.set('Access-Control-Allow-Origin', origin ?? '*');
    c.res.headers.set('Vary', 'Origin');
    for (const [k, v] of Object.entries(CORS_HEADERS)) c.res.headers.set(k, v);
  });

  api.use('*', async (c, next) => {
    const tenant = c.req.param('tenant');
    if (tenant === undefined || !IDENTIFIER.test(tenant)) return dlError(c, 400, 'BadArgument', notAnIdentifier('tenant', tenant ?? ''));
    await next();
  });

  // For the embedding page (or its backend): a fresh conversation and a token bound to it.
  api.post('/token', (c) => mint(c, newConversationId()));
  api.post('/v3/directline/tokens/generate', (c) => mint(c, newConversationId()));

  api.post('/v3/directline/tokens/refresh', async (c) => {
    const auth = await authorize(c, bearer(c));
    if (!auth.ok) return auth.response;
    const { token } = await mintToken(auth.secret, auth.claims.tid, auth.claims.cid);
    return c.json({ conversationId: auth.claims.cid, token, expires_in: TOKEN_TTL_SECONDS });
  });

  api.post('/v3/directline/conversations', async (c) => {
    const auth = await authorize(c, bearer(c));
    if (!auth.ok) return auth.response;
    const refused = await limited(c, 'conversation', { tenant: auth.claims.tid });
    if (refused !== undefined) return refused;
    const text = await boundedText(c);
    if (text === null) return tooBig(c, 'the body');
    let raw: unknown = null;
    if (text.trim() !== '') {
      try {
        raw = JSON.parse(text);
      } catch {
        return dlError(c, 400, 'BadArgument', 'the body is not JSON');
      }
    }
    const deep = tooDeep(c, raw, 'the body');
    if (deep !== undefined) return deep;
    const body = startBodySchema.safeParse(raw);
    if (!body.success) return dlError(c, 400, 'BadArgument', `invalid start body: ${z.prettifyError(body.error)}`);
    const { tid, cid } = auth.claims;
    const user = body.data?.user?.id ?? null;
    const started = await webchatConversation(c.env, tid, cid).start(tid, cid, user);
    if (started.created) await autoStart(c, tid, cid, user);
    const { token } = await mintToken(auth.secret, tid, cid);
    return c.json(
      { conversationId: cid, token, expires_in: TOKEN_TTL_SECONDS, streamUrl: streamUrl(c, tid, cid, token) },
      started.created ? 201 : 200,
    );
  });

  api.get('/v3/directline/conversations/:id', async (c) => {
    const id = c.req.param('id');
    const auth = await authorize(c, bearer(c), id);
    if (!auth.ok) return auth.response;
    const info = await webchatConversation(c.env, auth.claims.tid, id).info();
    if (info === null) return dlError(c, 404, 'NotFound', `conversation ${id} does not exist`);
    const { token } = await mintToken(auth.secret, auth.claims.tid, id);
    const watermark = c.req.query('watermark');
    return c.json({
      conversationId: id,
      token,
      expires_in: TOKEN_TTL_SECONDS,
      streamUrl: streamUrl(c, auth.claims.tid, id, token, watermark),
    });
  });

  api.get('/v3/directline/conversations/:id/activities', async (c) => {
    const id = c.req.param('id');
    const auth = await authorize(c, bearer(c), id);
    if (!auth.ok) return auth.response;
    const set = await webchatConversation(c.env, auth.claims.tid, id).activities(c.req.query('watermark'));
    if (set === null) return dlError(c, 404, 'NotFound', `conversation ${id} does not exist`);
    return c.json(set);
  });

  api.post('/v3/directline/conversations/:id/activities', async (c) => {
    const id = c.req.param('id');
    const auth = await authorize(c, bearer(c), id);
    if (!auth.ok) return auth.response;
    const refused = await limited(c, 'webchat_post', { tenant: auth.claims.tid, scope: [id] });
    if (refused !== undefined) return refused;
    const text = await boundedText(c);
    if (text === null) return tooBig(c, 'the activity');
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return dlError(c, 400, 'BadArgument', 'the body is not a JSON activity');
    }
    const deep = tooDeep(c, raw, 'the activity');
    if (deep !== undefined) return deep;
    const parsed = webchatActivitySchema.safeParse(raw);
    if (!parsed.success) return dlError(c, 400, 'BadArgument', `invalid activity: ${z.prettifyError(parsed.error)}`);
    const activity = parsed.data;
    const stub = webchatConversation(c.env, auth.claims.tid, id);
    // Typing indicators are neither stored nor sent to the bot (Direct Line does not number them).
    if (activity.type === 'typing') return c.json({ id: `${id}|typing` });
    if (activity.type !== 'message') {
      const stored = await stub.appendUserActivity(activity as DirectLineActivity);
      if (stored === null) return dlError(c, 404, 'NotFound', `conversation ${id} does not exist`);
      return c.json({ id: stored.id });
    }
    // Numbered first (its id is the bot's dedup key and the replies' replyToId) but shown only
    // once the bot holds the message: nothing is half accepted, and no reply overtakes the echo.
    const place = await stub.reserveUserActivity(activity as DirectLineActivity);
    if (place === null) return dlError(c, 404, 'NotFound', `conversation ${id} does not exist`);
    try {
      // A retry of a published message is handed over again: the inbox dedup makes it idempotent,
      // and it heals a hand-over that an earlier attempt lost.
      await ingest(c.env, activityEnvelope(c.env, auth.claims.tid, id, place.id, activity), { idempotencyKey: `${KEY_PREFIX}${place.id}` });
    } catch (err) {
      logEvent('error', 'webchat.publish_failed', {
        'greentic.tenant.id': auth.claims.tid,
        'messaging.message.id': place.id,
        ...errorFacts(err),
      });
      const kept = place.state === 'visible' || !(await stub.withdrawUserActivity(place.seq));
      return dlError(
        c,
        503,
        'ServiceUnavailable',
        kept
          ? 'the message could not be handed to the bot again; send it again'
          : 'the message could not be handed to the bot and was not kept; send it again',
      );
    }
    if (place.state === 'pending' && !(await stub.publishUserActivity(place.seq))) {
      return dlError(c, 503, 'ServiceUnavailable', 'the message was withdrawn while it was handed over; send it again');
    }
    return c.json({ id: place.id });
  });

  api.post('/v3/directline/conversations/:id/upload', (c) =>
    dlError(c, 400, 'BadArgument', 'file uploads are not supported by this deployment'),
  );

  api.get('/v3/directline/conversations/:id/stream', async (c) => {
    const id = c.req.param('id');
    if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') return dlError(c, 400, 'BadArgument', 'expected a WebSocket upgrade');
    // Browsers cannot set headers on a WebSocket, so the credential is the `t` query parameter.
    const auth = await authorize(c, c.req.query('t'), id);
    if (!auth.ok) return auth.response;
    return webchatConversation(c.env, auth.claims.tid, id).fetch(c.req.raw);
  });

  // A route, not notFound(): a sub-app mounted with route() answers misses with the parent's notFound.
  api.all('*', (c) => dlError(c, 404, 'NotFound', `no Direct Line route for ${c.req.method} ${new URL(c.req.url).pathname}`));
  return api;
}
