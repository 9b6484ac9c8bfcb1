// Bearer-token guard for the admin API. The token is the ADMIN_TOKEN secret; comparison is
// constant-time over equal-length digests so response timing says nothing about the token.
import type { MiddlewareHandler } from 'hono';
import type { Env } from '../env.js';

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
}

export async function tokensEqual(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([digest(given), digest(expected)]);
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
    if (!(await tokensEqual(match[1]!, expected))) {
      return c.json({ error: 'forbidden', message: 'the admin token is not valid' }, 403);
    }
    await next();
  };
}
