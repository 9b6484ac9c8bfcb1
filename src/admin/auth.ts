// Bearer-token guard for the admin API. The token is the ADMIN_TOKEN secret; comparison is
// constant-time over equal-length digests so response timing says nothing about the token.
// Failed attempts are counted per client address (AuthFailureLimit, wired by worker.ts): past
// the limit every attempt from that address is refused, the right token too, so guessing learns
// nothing until the window passes; successful calls are never counted.
import type { Context, MiddlewareHandler } from 'hono';
import type { Env } from '../env.js';
import { sha256Bytes } from '../pack/digest.js';

export function tokensEqual(given: string, expected: string): boolean {
  const encoder = new TextEncoder();
  const [a, b] = [sha256Bytes(encoder.encode(given)), sha256Bytes(encoder.encode(expected))];
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Counts failed admin authentications; each answers a refusal (a 429, or a 503 when it cannot tell) or undefined. */
export interface AuthFailureLimit {
  /** After a failed attempt: counts it. */
  failed(c: Context<{ Bindings: Env }>): Promise<Response | undefined>;
  /** Before a valid token is let through: refuses an address that is over its limit, without counting. */
  blocked(c: Context<{ Bindings: Env }>): Promise<Response | undefined>;
}

export function adminAuth(limit?: AuthFailureLimit): MiddlewareHandler<{ Bindings: Env }> {
  return async (c, next) => {
    const expected = c.env.ADMIN_TOKEN;
    if (expected === undefined || expected === '') {
      return c.json(
        { error: 'admin_disabled', message: 'the admin API is disabled: set the ADMIN_TOKEN secret (wrangler secret put ADMIN_TOKEN)' },
        403,
      );
    }
    const header = c.req.header('authorization');
    const match = header === undefined ? null : /^Bearer\s+(.+)$/i.exec(header.trim());
    if (match === null) {
      return (
        (await limit?.failed(c)) ??
        c.json({ error: 'unauthorized', message: 'admin token required: send "Authorization: Bearer <ADMIN_TOKEN>"' }, 401, {
          'WWW-Authenticate': 'Bearer',
        })
      );
    }
    if (!tokensEqual(match[1]!, expected)) {
      return (await limit?.failed(c)) ?? c.json({ error: 'forbidden', message: 'the admin token is not valid' }, 403);
    }
    const refused = await limit?.blocked(c);
    if (refused !== undefined) return refused;
    await next();
  };
}
