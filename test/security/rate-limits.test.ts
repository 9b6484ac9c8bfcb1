// Rate limits on the public entry points (RATE_LIMITS). The tests' wrangler vars switch limits off
// (as for local development and the benchmarks), so each test runs the Worker's app with its own
// RATE_LIMITS, over the real RateLimiter objects.
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { gcra, type RateLimiter } from '../../src/edge/rate-limiter.js';
import { clientAddress, parseRateLimits, type RateLimitsConfig, ruleFor } from '../../src/edge/rate-limits.js';
import { setTelemetrySink } from '../../src/edge/telemetry.js';
import { rateLimiter, type WorkerEnv } from '../../src/objects.js';
import { app } from '../../src/worker.js';
import { testEnv } from '../support/runtime-fixtures.js';
import { until } from '../support/until.js';

beforeAll(() => {
  setTelemetrySink(() => {});
});

const ADMIN = 'test-admin-token';
let ipCounter = 0;

/** A client address no other test uses, so each test starts with empty counters. */
function freshIp(): string {
  ipCounter++;
  return `198.51.${Math.floor(ipCounter / 250)}.${ipCounter % 250}`;
}

/** A tenant id no other test (or earlier run in this pool) uses. */
function freshTenant(label: string): string {
  return `${label}-${crypto.randomUUID().slice(0, 8)}`;
}

function withLimits(config: RateLimitsConfig | 'off' | undefined): WorkerEnv {
  return { ...testEnv, RATE_LIMITS: config === undefined ? undefined : config === 'off' ? 'off' : JSON.stringify(config) };
}

function call(env: WorkerEnv, path: string, init: RequestInit & { ip?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.ip !== undefined) headers.set('cf-connecting-ip', init.ip);
  return Promise.resolve(app.fetch(new Request(`http://runner${path}`, { ...init, headers }), env));
}

async function statuses(n: number, once: () => Promise<Response>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await once()).status);
  return out;
}

async function expectLimited(res: Response, limit: string): Promise<void> {
  expect(res.status).toBe(429);
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);
  const body = (await res.json()) as { error: unknown; limit?: string };
  const named = typeof body.error === 'object' && body.error !== null ? (body.error as { limit: string }).limit : body.limit;
  expect(named).toBe(limit);
}

async function mint(env: WorkerEnv, tenant: string, ip: string): Promise<{ token: string; conversationId: string }> {
  const res = await call(env, `/v1/messaging/webchat/${tenant}/token`, { method: 'POST', ip });
  expect(res.status).toBe(200);
  return (await res.json()) as { token: string; conversationId: string };
}

describe('rate limits answer 429 with Retry-After and the limit name', () => {
  it('token minting is limited per tenant and client address, across both minting routes', async () => {
    const env = withLimits({ defaults: { token: { limit: 3, period: 60 } } });
    const [a, b] = [freshTenant('tok-a'), freshTenant('tok-b')];
    const ip = freshIp();
    const first = await statuses(2, () => call(env, `/v1/messaging/webchat/${a}/token`, { method: 'POST', ip }));
    const third = await call(env, `/v1/messaging/webchat/${a}/v3/directline/tokens/generate`, { method: 'POST', ip });
    expect([...first, third.status]).toEqual([200, 200, 200]);
    const refused = await call(env, `/v1/messaging/webchat/${a}/token`, {
      method: 'POST',
      ip,
      headers: { Origin: 'https://shop.example' },
    });
    // A browser can read the refusal: CORS headers are on it too.
    expect(refused.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    await expectLimited(refused, 'token');
    // Another address of the same tenant, and the same address on another tenant, are not affected.
    expect((await call(env, `/v1/messaging/webchat/${a}/token`, { method: 'POST', ip: freshIp() })).status).toBe(200);
    expect((await call(env, `/v1/messaging/webchat/${b}/token`, { method: 'POST', ip })).status).toBe(200);
  });

  it('conversation starts are limited per tenant: tenant A burst does not limit tenant B', async () => {
    const env = withLimits({ defaults: { conversation: { limit: 2, period: 60 } } });
    const [a, b] = [freshTenant('conv-a'), freshTenant('conv-b')];
    const start = async (tenant: string) => {
      const { token } = await mint(env, tenant, freshIp());
      return call(env, `/v1/messaging/webchat/${tenant}/v3/directline/conversations`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}` },
      });
    };
    expect(await statuses(2, () => start(a))).toEqual([201, 201]);
    await expectLimited(await start(a), 'conversation');
    expect((await start(b)).status).toBe(201);
  });

  it('WebChat posts are limited per conversation', async () => {
    const env = withLimits({ defaults: { webchat_post: { limit: 2, period: 60 } } });
    const tenant = freshTenant('post');
    const open = async () => {
      const { token, conversationId } = await mint(env, tenant, freshIp());
      const started = await call(env, `/v1/messaging/webchat/${tenant}/v3/directline/conversations`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}` },
      });
      expect(started.status).toBe(201);
      return () =>
        call(env, `/v1/messaging/webchat/${tenant}/v3/directline/conversations/${conversationId}/activities`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          body: JSON.stringify({ type: 'typing', from: { id: 'u1' } }),
        });
    };
    const [first, second] = [await open(), await open()];
    expect(await statuses(2, first)).toEqual([200, 200]);
    await expectLimited(await first(), 'webchat_post');
    expect((await second()).status).toBe(200);
  });

  it('webhook calls are limited per tenant, before the body is read', async () => {
    const env = withLimits({ defaults: { webhook: { limit: 2, period: 60 } } });
    const [a, b] = [freshTenant('hook-a'), freshTenant('hook-b')];
    // No pack is active: each call is a 404, and still counts.
    expect(await statuses(2, () => call(env, `/v1/webhook/${a}/anything`, { method: 'POST', body: 'x' }))).toEqual([404, 404]);
    const refused = await call(env, `/v1/webhook/${a}/other`, { method: 'POST', body: 'x' });
    expect(refused.headers.get('x-content-type-options')).toBe('nosniff');
    await expectLimited(refused, 'webhook');
    expect((await call(env, `/v1/webhook/${b}/anything`, { method: 'POST', body: 'x' })).status).toBe(404);
  });

  it('admin authentication failures are limited per address; past the limit even the right token waits there', async () => {
    const env = withLimits({ defaults: { admin_auth: { limit: 3, period: 300 } } });
    const ip = freshIp();
    const attempt = (token: string | undefined, from = ip) =>
      call(env, '/admin/v1/packs', { ip: from, headers: token === undefined ? {} : { Authorization: `Bearer ${token}` } });
    expect([(await attempt('guess-1')).status, (await attempt(undefined)).status, (await attempt('guess-2')).status]).toEqual([
      403, 401, 403,
    ]);
    await expectLimited(await attempt('guess-3'), 'admin_auth');
    await expectLimited(await attempt(ADMIN), 'admin_auth');
    expect((await attempt(ADMIN, freshIp())).status).toBe(200);
  });

  it('successful admin calls are never counted', async () => {
    const env = withLimits({ defaults: { admin_auth: { limit: 2, period: 300 } } });
    const ip = freshIp();
    expect(await statuses(8, () => call(env, '/admin/v1/packs', { ip, headers: { Authorization: `Bearer ${ADMIN}` } }))).toEqual(
      Array(8).fill(200),
    );
  });
});

describe('configuring RATE_LIMITS', () => {
  it('"off" switches every limit off', async () => {
    const env = withLimits('off');
    const tenant = freshTenant('off');
    const ip = freshIp();
    expect(new Set(await statuses(12, () => call(env, `/v1/messaging/webchat/${tenant}/token`, { method: 'POST', ip })))).toEqual(
      new Set([200]),
    );
    expect(new Set(await statuses(12, () => call(env, '/admin/v1/packs', { ip, headers: { Authorization: 'Bearer nope' } })))).toEqual(
      new Set([403]),
    );
  });

  it('unset means the built-in limits, on', async () => {
    const env = withLimits(undefined);
    const ip = freshIp();
    const results = await statuses(11, () => call(env, '/admin/v1/packs', { ip, headers: { Authorization: 'Bearer nope' } }));
    expect(results.slice(0, 10)).toEqual(Array(10).fill(403));
    expect(results[10]).toBe(429);
  });

  it('a tenant override replaces the default for that tenant only, and "off" frees a tenant or one limit', async () => {
    const [big, small, free] = [freshTenant('big'), freshTenant('small'), freshTenant('free')];
    const env = withLimits({
      defaults: { webhook: { limit: 2, period: 60 }, token: 'off' },
      tenants: { [big]: { webhook: { limit: 5, period: 60 } }, [free]: 'off' },
    });
    const hits = (tenant: string) => statuses(6, () => call(env, `/v1/webhook/${tenant}/x`));
    expect(await hits(big)).toEqual([404, 404, 404, 404, 404, 429]);
    expect(await hits(small)).toEqual([404, 404, 429, 429, 429, 429]);
    expect(await hits(free)).toEqual(Array(6).fill(404));
    const ip = freshIp();
    expect(new Set(await statuses(5, () => call(env, `/v1/messaging/webchat/${small}/token`, { method: 'POST', ip })))).toEqual(
      new Set([200]),
    );
  });

  it('a sharded limit spreads one tenant over several objects and never allows more than its limit in total', async () => {
    const env = withLimits({ defaults: { webhook: { limit: 8, period: 3600, shards: 4 } } });
    const tenant = freshTenant('shard');
    const results = await statuses(40, () => call(env, `/v1/webhook/${tenant}/x`));
    const allowed = results.filter((s) => s === 404).length;
    expect(allowed).toBeLessThanOrEqual(8);
    expect(allowed).toBeGreaterThanOrEqual(2);
    expect(results.filter((s) => s === 429).length).toBe(40 - allowed);
  });

  it('rejects malformed configuration with a message naming the problem', () => {
    expect(parseRateLimits('{"defaults": {"webhook": {"limit": 0, "period": 60}}}')).toMatchObject({
      error: expect.stringContaining('defaults.webhook'),
    });
    expect(parseRateLimits('{"defaults": {"uploads": "off"}}')).toMatchObject({ error: expect.stringContaining('uploads') });
    expect(parseRateLimits('{"tenants": {"a": {"admin_auth": "off"}}}')).toMatchObject({ error: expect.stringContaining('admin_auth') });
    expect(parseRateLimits('not json')).toEqual({ error: 'RATE_LIMITS is neither "off" nor JSON' });
  });

  it('an invalid configuration falls back to the built-in limits, never to none', () => {
    expect(ruleFor({ RATE_LIMITS: '{"defaults": 5}' }, 'webhook', 'any')).toEqual({ limit: 3000, period: 60, shards: 1 });
  });
});

describe('the counters', () => {
  it('GCRA allows a burst of the limit, then tells exactly when the next request fits', () => {
    const rule = { limit: 4, period: 60 };
    let tat = 0;
    const now = 1_000_000;
    for (let i = 0; i < 4; i++) {
      const step = gcra(tat, now, rule);
      expect(step.verdict.allowed).toBe(true);
      tat = step.tat;
    }
    expect(gcra(tat, now, rule).verdict).toEqual({ allowed: false, retryAfter: 15 });
    expect(gcra(tat, now + 14_999, rule).verdict.allowed).toBe(false);
    expect(gcra(tat, now + 15_000, rule).verdict).toEqual({ allowed: true, remaining: 0 });
  });

  it('a counter survives the eviction of its object', async () => {
    const stub = rateLimiter(testEnv, `evict-${crypto.randomUUID()}`);
    const rule = { limit: 2, period: 600 };
    expect((await stub.hit(rule)).allowed).toBe(true);
    expect((await stub.hit(rule)).allowed).toBe(true);
    await evictDurableObject(stub);
    expect(await stub.hit(rule)).toMatchObject({ allowed: false });
  });

  it('a counter object keeps nothing once its bucket is full again', async () => {
    const stub = rateLimiter(testEnv, `expire-${crypto.randomUUID()}`);
    const stored = () => runInDurableObject(stub, (_o: RateLimiter, state) => [...state.storage.kv.list()].length);
    // One request of 4 per second: its bucket is full again a quarter of a second later.
    await stub.hit({ limit: 4, period: 1 });
    expect(await stored()).toBe(1);
    // The alarm set for that moment deletes the state (an alarm that fired early re-arms instead).
    await until(async () => ((await stored()) === 0 ? true : (await runDurableObjectAlarm(stub), undefined)), 'the counter to expire');
  });

  it('an IPv6 client counts by its /64, an IPv4 client by its address', () => {
    const at = (ip: string) => clientAddress(new Request('http://x/', { headers: { 'CF-Connecting-IP': ip } }));
    expect(at('2001:db8:1:2:aaaa::1')).toBe(at('2001:0db8:0001:0002:ffff:ffff:ffff:ffff'));
    expect(at('2001:db8:1:2::1')).not.toBe(at('2001:db8:1:3::1'));
    expect(at('203.0.113.7')).toBe('203.0.113.7');
    expect(at('203.0.113.7')).not.toBe(at('203.0.113.8'));
  });
});
