// Webhook authentication, opt-in per flow (our extension: upstream's generic webhook has none).
// A flow declares it under `parameters.webhook.auth` in its .ygtc (flow/webhook-parameters.ts),
// which the compiler copies into the flow's `metadata.extra` and upstream tools carry along
// without reading:
//
//   parameters:
//     webhook:
//       auth:
//         scheme: hmac-sha256          # or bearer
//         secret: partner_hook         # tenant secret key(s) set through the admin API
//         timestamp_header: X-Greentic-Timestamp   # optional (hmac): signs "{timestamp}.{body}"
//
// The channel object checks a call before anything else about it (Idempotency-Key replays
// included) and names the secret that matched as the call's principal, so a replay is only ever
// answered to a caller holding the same secret.
import { z } from 'zod';
import { operatorSecretKey } from '../component/edge/host-policy.js';
import { isObject } from '../core/is-object.js';
import { readSecretObject } from '../edge/secret-objects.js';
import type { Env } from '../env.js';
import type { Flow, JsonObject } from '../flow/model.js';
import {
  DEFAULT_SIGNATURE_HEADER,
  DEFAULT_TOLERANCE_SECONDS,
  type WebhookAuth,
  webhookParametersSchema,
} from '../flow/webhook-parameters.js';

export type WebhookAuthConfig = { ok: true; auth: WebhookAuth | undefined } | { ok: false; reason: string };

/** What a flow declares (`metadata.extra.webhook.auth`); a declaration that does not parse is refused, never ignored. */
export function webhookAuthOf(flow: Flow): WebhookAuthConfig {
  const block = flow.metadata.extra['webhook'];
  if (block === undefined) return { ok: true, auth: undefined };
  const parsed = webhookParametersSchema.safeParse(block);
  if (!parsed.success) return { ok: false, reason: `parameters.webhook: ${z.prettifyError(parsed.error)}` };
  return { ok: true, auth: parsed.data.auth };
}

/**
 * The value the tenant's operator stored for `key` (admin API), or null. The one place the
 * webhook reads a secret value: only the operator's value counts (never one a component wrote).
 */
export async function readTenantSecret(
  env: Pick<Env, 'PACKS' | 'GREENTIC_ENV' | 'SECRETS_ENCRYPTION_KEYS'>,
  tenant: string,
  key: string,
): Promise<Uint8Array | null> {
  return readSecretObject(env.PACKS, env.SECRETS_ENCRYPTION_KEYS, operatorSecretKey({ env: env.GREENTIC_ENV, tenant }, key));
}

/** The call as the check sees it: lowercase header names and the raw body bytes. */
export interface WebhookCall {
  headers: Readonly<Record<string, string>>;
  body: Uint8Array;
}

export type WebhookAuthResult =
  | { ok: true; principal: string }
  | {
      ok: false;
      /** `Unauthorized` (401: the caller's fault) or `WebhookAuthUnavailable` (503: no secret is set). */
      code: 'Unauthorized' | 'WebhookAuthUnavailable';
      message: string;
      /** A `WWW-Authenticate` challenge for the 401, when the scheme has one. */
      challenge?: string;
    };

const encoder = new TextEncoder();

const unauthorized = (message: string, challenge?: string): WebhookAuthResult => ({
  ok: false,
  code: 'Unauthorized',
  message,
  ...(challenge === undefined ? {} : { challenge }),
});

/** The 32 bytes of a SHA-256 digest written as 64 hex digits, or `undefined`. */
export function hexBytes(hex: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return undefined;
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}

export async function hmacVerifies(secret: Uint8Array, signature: Uint8Array, message: Uint8Array): Promise<boolean> {
  const key = await crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  // WebCrypto's verify compares in constant time.
  return crypto.subtle.verify('HMAC', key, signature, message);
}

/** Equal tokens, compared in constant time over their digests (so lengths leak nothing either). */
export async function tokenMatches(given: string, secret: Uint8Array): Promise<boolean> {
  const [a, b] = await Promise.all([crypto.subtle.digest('SHA-256', encoder.encode(given)), crypto.subtle.digest('SHA-256', secret)]);
  return crypto.subtle.timingSafeEqual(a, b);
}

type SecretLookup = (key: string) => Promise<Uint8Array | null>;

/** The configured secrets that are set, in the order declared. */
async function secretValues(auth: WebhookAuth, lookup: SecretLookup): Promise<{ key: string; value: Uint8Array }[]> {
  const keys = typeof auth.secret === 'string' ? [auth.secret] : auth.secret;
  const values = await Promise.all(keys.map(async (key) => ({ key, value: await lookup(key) })));
  return values.filter((v): v is { key: string; value: Uint8Array } => v.value !== null && v.value.byteLength > 0);
}

/**
 * Checks a call against the flow's declaration. The principal is the scheme and the name of the
 * secret that matched (`hmac-sha256:partner_a`): callers given different secrets are different
 * principals, callers sharing one are the same.
 */
export async function authenticateWebhook(
  auth: WebhookAuth,
  call: WebhookCall,
  lookup: SecretLookup,
  nowMs: number,
): Promise<WebhookAuthResult> {
  const candidates = await secretValues(auth, lookup);
  if (candidates.length === 0) {
    return {
      ok: false,
      code: 'WebhookAuthUnavailable',
      message: "this flow requires authenticated calls, but the tenant's secret for it is not set; the operator must set it (admin API)",
    };
  }
  if (auth.scheme === 'bearer') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(call.headers['authorization'] ?? '');
    if (match === null) return unauthorized('this flow requires "Authorization: Bearer <token>"', 'Bearer');
    for (const { key, value } of candidates) if (await tokenMatches(match[1]!, value)) return { ok: true, principal: `bearer:${key}` };
    return unauthorized('the bearer token is not valid for this flow', 'Bearer error="invalid_token"');
  }

  const header = auth.header ?? DEFAULT_SIGNATURE_HEADER;
  const given = call.headers[header.toLowerCase()];
  if (given === undefined)
    return unauthorized(
      `this flow requires a ${header} header: "sha256=" and the hex HMAC-SHA256 of the request body under the shared secret`,
    );
  const signature = given.startsWith('sha256=') ? hexBytes(given.slice(7).trim()) : undefined;
  if (signature === undefined) return unauthorized(`${header} must be "sha256=" followed by 64 hex digits`);
  let signed = call.body;
  if (auth.timestamp_header !== undefined) {
    const raw = call.headers[auth.timestamp_header.toLowerCase()];
    if (raw === undefined || !/^\d{1,12}$/.test(raw.trim()))
      return unauthorized(`this flow requires a ${auth.timestamp_header} header: the signing time in Unix seconds`);
    const tolerance = auth.tolerance_seconds ?? DEFAULT_TOLERANCE_SECONDS;
    const skew = Math.abs(nowMs / 1000 - Number(raw.trim()));
    if (skew > tolerance)
      return unauthorized(
        `${auth.timestamp_header} is ${Math.round(skew)} s away from the server's clock; at most ${tolerance} s is accepted`,
      );
    // The timestamp is signed with the body, so a captured call cannot be replayed with a fresh one.
    signed = concat(encoder.encode(`${raw.trim()}.`), call.body);
  }
  for (const { key, value } of candidates) {
    if (await hmacVerifies(value, signature, signed)) return { ok: true, principal: `hmac-sha256:${key}` };
  }
  return unauthorized(
    `${header} does not match the request${auth.timestamp_header === undefined ? ' body' : ` timestamp and body ("{${auth.timestamp_header}}.{body}")`}`,
  );
}

/** The flow's input without the credential it was authenticated with: a verified bearer token is not the flow's to keep. */
export function withoutCredential(auth: WebhookAuth, input: JsonObject): JsonObject {
  if (auth.scheme !== 'bearer' || !isObject(input.headers) || !('authorization' in input.headers)) return input;
  const { authorization: _dropped, ...headers } = input.headers;
  return { ...input, headers };
}
