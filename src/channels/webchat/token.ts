// Direct Line tokens for the WebChat facade: compact HS256 JWTs signed with the deployment's
// WEBCHAT_TOKEN_SECRET and bound to one tenant and one conversation. A JWT (rather than an opaque
// string) because WebChat decodes any token it is given as a JWT; the claims deliberately carry
// no `user`, so WebChat keeps the page's own user id.

/** Direct Line clients refresh on a fixed 15-minute timer, so tokens live 30 minutes. */
export const TOKEN_TTL_SECONDS = 1800;

export interface WebchatTokenClaims {
  /** Tenant the token may read and write. */
  tid: string;
  /** Conversation the token may read and write. */
  cid: string;
  iat: number;
  exp: number;
}

export type TokenCheck =
  | { ok: true; claims: WebchatTokenClaims }
  | { ok: false; code: 'TokenMissing' | 'TokenMalformed' | 'TokenInvalid' | 'TokenExpired'; message: string };

const encoder = new TextEncoder();

function base64url(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  try {
    const bin = atob(padded);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

const HEADER = base64url(encoder.encode(JSON.stringify({ alg: 'HS256', typ: 'JWT' })));

async function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}

/** A URL-safe random id (`[A-Za-z0-9_-]`, 22 chars = 128 bits): Direct Line puts it into paths unencoded. */
export function newConversationId(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(16)));
}

export async function mintToken(
  secret: string,
  tenant: string,
  conversationId: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<{ token: string; claims: WebchatTokenClaims }> {
  const claims: WebchatTokenClaims = { tid: tenant, cid: conversationId, iat: nowSeconds, exp: nowSeconds + TOKEN_TTL_SECONDS };
  const body = `${HEADER}.${base64url(encoder.encode(JSON.stringify(claims)))}`;
  const sig = new Uint8Array(await crypto.subtle.sign('HMAC', await hmacKey(secret), encoder.encode(body)));
  return { token: `${body}.${base64url(sig)}`, claims };
}

function isClaims(value: unknown): value is WebchatTokenClaims {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.tid === 'string' && typeof v.cid === 'string' && typeof v.iat === 'number' && typeof v.exp === 'number';
}

/** Verifies signature (constant time, via WebCrypto) and expiry. */
export async function verifyToken(
  secret: string,
  token: string | undefined,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<TokenCheck> {
  if (token === undefined || token === '' || token === 'undefined')
    return {
      ok: false,
      code: 'TokenMissing',
      message: 'send "Authorization: Bearer <token>" (POST /v1/messaging/webchat/{tenant}/token mints one)',
    };
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== HEADER)
    return { ok: false, code: 'TokenMalformed', message: 'the token is not a WebChat token issued by this deployment' };
  const sig = fromBase64url(parts[2]!);
  const payload = fromBase64url(parts[1]!);
  if (sig === null || payload === null) return { ok: false, code: 'TokenMalformed', message: 'the token is not valid base64url' };
  const valid = await crypto.subtle.verify('HMAC', await hmacKey(secret), sig, encoder.encode(`${parts[0]}.${parts[1]}`));
  if (!valid) return { ok: false, code: 'TokenInvalid', message: 'the token signature does not verify' };
  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    return { ok: false, code: 'TokenMalformed', message: 'the token payload is not JSON' };
  }
  if (!isClaims(claims)) return { ok: false, code: 'TokenMalformed', message: 'the token lacks its tenant/conversation claims' };
  if (claims.exp <= nowSeconds)
    return {
      ok: false,
      code: 'TokenExpired',
      message: `the token expired at ${new Date(claims.exp * 1000).toISOString()}; mint a new one`,
    };
  return { ok: true, claims };
}
