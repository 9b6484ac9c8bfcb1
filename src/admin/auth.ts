// Bearer-token guard for the admin API. The token is the ADMIN_TOKEN secret; comparison is
// constant-time over equal-length digests so response timing says nothing about the token.
import type { MiddlewareHandler } from 'hono';
import type { Env } from '../env.js';
import { sha256Bytes } from '../pack/digest.js';

export function tokensEqual(given: string, expected: string): boolean {
  const encoder = new TextEncoder();
  const [a, b] = [sha256Bytes(encoder.encode(given)), sha256Bytes(encoder.encode(expected))];
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export function adminAuth(): MiddlewareHandler<{ Bindings: Env }> {
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
      return c.json({ error: 'unauthorized', message: 'admin token required: send "Authorization: Bearer <ADMIN_TOKEN>"' }, 401, {
        'WWW-Authenticate': 'Bearer',
      });
    }
    if (!tokensEqual(match[1]!, expected)) {
      return c.json({ error: 'forbidden', message: 'the admin token is not valid' }, 403);
    }
    await next();
  };
}
