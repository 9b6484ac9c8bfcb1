// Bot Connector request authentication (channels.md §2.3): an RS256 JWT whose key comes from the
// JWKS named by the OpenID metadata (cached, refetched at most once a minute for an unknown key
// id), issuer https://api.botframework.com, audience our app id, 5 minutes of clock skew, a
// `serviceurl` claim equal to the activity's serviceUrl, and the signing key's non-standard
// `endorsements` covering the activity's channel. jose's remote JWKS drops `endorsements`, so the
// key set is fetched here and each key imported with importJWK.
import { decodeProtectedHeader, errors, importJWK, type JWK, type JWTPayload, jwtVerify } from 'jose';
import { z } from 'zod';

export const BOT_FRAMEWORK_ISSUER = 'https://api.botframework.com';
export const DEFAULT_OPENID_METADATA_URL = 'https://login.botframework.com/v1/.well-known/openidconfiguration';
const CLOCK_SKEW_SECONDS = 300;
/** The SDK keeps keys for days; a day bounds how long a revoked key is trusted. */
const KEYS_MAX_AGE_MS = 24 * 3600 * 1000;
/** An unknown `kid` refetches the keys, but not more often than this (a forged kid must not drive fetches). */
const REFETCH_MIN_INTERVAL_MS = 60 * 1000;

const metadataSchema = z.looseObject({ jwks_uri: z.url() });
const jwksSchema = z.looseObject({
  keys: z.array(z.looseObject({ kid: z.string().optional(), kty: z.string(), endorsements: z.array(z.string()).optional() })),
});
type ConnectorKey = z.infer<typeof jwksSchema>['keys'][number];

interface KeySet {
  keys: ConnectorKey[];
  fetchedAt: number;
}

const keySets = new Map<string, KeySet>();

async function fetchJson(url: string): Promise<unknown> {
  const res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
  return res.json();
}

async function fetchKeys(metadataUrl: string): Promise<KeySet> {
  const metadata = metadataSchema.parse(await fetchJson(metadataUrl));
  const set = { keys: jwksSchema.parse(await fetchJson(metadata.jwks_uri)).keys, fetchedAt: Date.now() };
  keySets.set(metadataUrl, set);
  return set;
}

/** The key with this id, from the cache or (when stale or unknown) a fresh fetch. */
async function keyFor(metadataUrl: string, kid: string): Promise<ConnectorKey | undefined> {
  const now = Date.now();
  let set = keySets.get(metadataUrl);
  if (set === undefined || now - set.fetchedAt > KEYS_MAX_AGE_MS) set = await fetchKeys(metadataUrl);
  let key = set.keys.find((k) => k.kid === kid);
  if (key === undefined && now - set.fetchedAt > REFETCH_MIN_INTERVAL_MS) {
    set = await fetchKeys(metadataUrl);
    key = set.keys.find((k) => k.kid === kid);
  }
  return key;
}

export type ConnectorAuthResult = { ok: true; claims: JWTPayload } | { ok: false; code: string; message: string };

const fail = (code: string, message: string): ConnectorAuthResult => ({ ok: false, code, message });

/** Checks the Authorization header for an activity of `channelId` sent to `serviceUrl`. */
export async function verifyConnectorToken(
  authorization: string | null,
  expected: { appId: string; metadataUrl: string; channelId: string; serviceUrl: string },
): Promise<ConnectorAuthResult> {
  const match = authorization === null ? null : /^Bearer ([A-Za-z0-9_\-.]+)$/.exec(authorization.trim());
  if (match === null) return fail('MissingToken', 'the Authorization header must be "Bearer <Bot Connector JWT>"');
  const token = match[1]!;
  let kid: string | undefined;
  try {
    const header = decodeProtectedHeader(token);
    if (header.alg !== 'RS256') return fail('InvalidToken', `the token is signed with ${String(header.alg)}, not RS256`);
    kid = header.kid;
  } catch {
    return fail('InvalidToken', 'the token is not a JWT');
  }
  if (kid === undefined) return fail('InvalidToken', 'the token header names no key (kid)');
  let key: ConnectorKey | undefined;
  try {
    key = await keyFor(expected.metadataUrl, kid);
  } catch (err) {
    return fail('KeysUnavailable', `the Bot Connector keys could not be fetched: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (key === undefined) return fail('UnknownKey', `the token's key "${kid}" is not in the Bot Connector key set`);
  let claims: JWTPayload;
  try {
    const publicKey = await importJWK(key as JWK, 'RS256');
    ({ payload: claims } = await jwtVerify(token, publicKey, {
      algorithms: ['RS256'],
      issuer: BOT_FRAMEWORK_ISSUER,
      audience: expected.appId,
      clockTolerance: CLOCK_SKEW_SECONDS,
    }));
  } catch (err) {
    if (err instanceof errors.JWTExpired) return fail('TokenExpired', 'the token has expired');
    if (err instanceof errors.JWTClaimValidationFailed) {
      const code = err.claim === 'aud' ? 'WrongAudience' : err.claim === 'iss' ? 'WrongIssuer' : 'InvalidClaims';
      return fail(code, `the token's "${err.claim}" claim is not valid: ${err.reason}`);
    }
    return fail('InvalidToken', 'the token signature does not verify against the Bot Connector key');
  }
  if (!(key.endorsements ?? []).includes(expected.channelId)) {
    return fail('NotEndorsed', `the signing key is not endorsed for channel "${expected.channelId}"`);
  }
  if (claims.serviceurl !== expected.serviceUrl) {
    return fail('ServiceUrlMismatch', "the token's serviceurl claim does not match the activity's serviceUrl");
  }
  return { ok: true, claims };
}
