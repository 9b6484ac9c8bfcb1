import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { buildPack } from '../../src/pack/builder.js';
import { webhookBody, webhookResponse } from '../../src/webhook/webhook.js';
import { activate, seedPack, testEnv } from '../support/runtime-fixtures.js';

const HOOK_FLOW = `id: hook
type: http
nodes:
  count:
    state.get: { key: calls }
    routing: [ { to: bump } ]
  bump:
    state.set: { key: calls, value: "{{node.count.value}}x" }
    routing: [ { to: answer } ]
  answer:
    emit.response: { method: "{{in.method}}", q: "{{in.query.q}}", text: "{{in.body.text}}", ua: "{{in.headers.x-test}}", seen: "{{node.bump.value}}" }
    routing: out
`;

const PLAIN_FLOW = `id: plain
type: event
nodes:
  answer:
    emit.log: { text: "ok" }
    routing: out
`;

const CHAT_FLOW = `id: chat
type: messaging
nodes:
  hi:
    emit.response: { text: hi }
    routing: out
`;

async function setup(tenant: string): Promise<void> {
  const digest = await seedPack(`hooks-${tenant}`, '1.0.0', [HOOK_FLOW, PLAIN_FLOW, CHAT_FLOW]);
  await activate(tenant, `hooks-${tenant}`, digest);
}

describe('ANY /v1/webhook/{tenant}/{flow}', () => {
  it('runs the named http flow with the upstream request shape and returns its output as JSON', async () => {
    await setup('wh1');
    const res = await SELF.fetch('http://runner/v1/webhook/wh1/hook?q=42', { method: 'POST', body: 'hello', headers: { 'X-Test': 'yes' } });
    expect(res.status).toBe(200);
    // An emitting flow's output is the list of emitted payloads (upstream output assembly).
    const body = (await res.json()) as Record<string, string>[];
    expect(body).toEqual([{ method: 'POST', q: '42', text: 'hello', ua: 'yes', seen: 'x' }]);
  });

  it('replays the first response for a repeated Idempotency-Key without running the flow again', async () => {
    await setup('wh2');
    const call = () =>
      SELF.fetch('http://runner/v1/webhook/wh2/hook', { method: 'POST', body: 'x', headers: { 'Idempotency-Key': 'k-1' } });
    const [a, b] = await Promise.all([call(), call()]);
    const c = await call();
    const bodies = await Promise.all([a.json(), b.json(), c.json()]);
    expect(bodies[0]).toEqual(bodies[1]);
    expect(bodies[0]).toEqual(bodies[2]);
    expect(c.headers.get('idempotent-replayed')).toBe('true');
    // The state counter moved once for the key, once more for a new key.
    const fresh = (await (
      await SELF.fetch('http://runner/v1/webhook/wh2/hook', { method: 'POST', headers: { 'Idempotency-Key': 'k-2' } })
    ).json()) as { seen: string }[];
    expect(fresh[0]?.seen).toBe('xx');
  });

  it('answers an event flow whose output has no status with 200 JSON', async () => {
    await setup('wh3');
    const res = await SELF.fetch('http://runner/v1/webhook/wh3/plain', { method: 'PUT' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([{ text: 'ok' }]);
  });

  it('answers 404 for an unknown flow, 409 for a messaging flow and 404 for a tenant with no pack', async () => {
    await setup('wh4');
    expect((await SELF.fetch('http://runner/v1/webhook/wh4/nope')).status).toBe(404);
    const wrong = await SELF.fetch('http://runner/v1/webhook/wh4/chat');
    expect(wrong.status).toBe(409);
    expect(await wrong.json()).toMatchObject({ error: 'WrongFlowKind' });
    const none = await SELF.fetch('http://runner/v1/webhook/nobody/hook');
    expect(none.status).toBe(404);
    expect(await none.json()).toMatchObject({ error: 'NoActivePack' });
  });

  it('refuses a body above 1 MiB with 413 and a bad tenant id with 400', async () => {
    await setup('wh5');
    const big = await SELF.fetch('http://runner/v1/webhook/wh5/hook', { method: 'POST', body: new Uint8Array(1024 * 1024 + 1) });
    expect(big.status).toBe(413);
    const bad = await SELF.fetch('http://runner/v1/webhook/bad%20tenant/hook');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'invalid_tenant' });
  });
});

describe('webhook request and response mapping (upstream §2.1)', () => {
  it('passes an empty body as null, UTF-8 as {text} and other bytes as {base16}', () => {
    expect(webhookBody(new Uint8Array())).toBeNull();
    expect(webhookBody(new TextEncoder().encode('héllo'))).toEqual({ text: 'héllo' });
    expect(webhookBody(new Uint8Array([0xff, 0x00, 0x10]))).toEqual({ base16: 'ff0010' });
  });

  it('answers a string output with a 200 text body', async () => {
    const res = webhookResponse('pong');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(await res.text()).toBe('pong');
  });

  it('takes status, headers and a {text} body from an object output', async () => {
    const res = webhookResponse({ status: 201, headers: { 'x-flow': 'hook' }, body: { text: 'created' } });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-flow')).toBe('hook');
    expect(await res.text()).toBe('created');
  });

  it('unwraps a {base16} body into bytes', async () => {
    const res = webhookResponse({ status: 200, body: { base16: 'cafe' } });
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(new Uint8Array([0xca, 0xfe]));
  });

  it('returns the whole object as JSON when it has no body or text', async () => {
    const res = webhookResponse({ status: 202, ok: true });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ status: 202, ok: true });
  });

  it('ignores a status outside 200..599', () => {
    expect(webhookResponse({ status: 42, text: 'x' }).status).toBe(200);
  });
});

// The runner serves every tenant's webhook flows and the WebChat page (which keeps its tokens in
// localStorage) from one origin: a flow's response must not run, set cookies or redirect there.

describe("the webhook's hot path", () => {
  const utf8 = new TextEncoder();
  const ADMIN = { authorization: 'Bearer test-admin-token' };
  const hookPack = (version: string) =>
    buildPack(
      new Map([
        [
          'pack.yaml',
          utf8.encode(
            `pack_id: hook-notice\nversion: ${version}\nkind: application\npublisher: tests\nflows:\n  - id: ping\n    file: flows/ping.ygtc\n`,
          ),
        ],
        [
          'flows/ping.ygtc',
          utf8.encode(`id: ping\ntype: http\nnodes:\n  answer:\n    emit.response: { text: "v${version}" }\n    routing: out\n`),
        ],
      ]),
    ).bytes;
  const admin = (path: string, init: RequestInit) =>
    SELF.fetch(`http://runner/admin/v1${path}`, { ...init, headers: { ...ADMIN, ...(init.headers ?? {}) } });
  const publish = async (version: string) => {
    const uploaded = await admin('/packs', { method: 'POST', body: hookPack(version) });
    expect(uploaded.status).toBe(201);
    const activated = await admin('/tenants/wh-hot/packs/hook-notice', { method: 'PUT', body: JSON.stringify({ version }) });
    expect(activated.status).toBe(200);
  };
  const ping = async () => {
    const res = await SELF.fetch('http://runner/v1/webhook/wh-hot/ping');
    return { status: res.status, body: await res.text() };
  };

  it('a call reads no pack index once its object holds the packs, and every activation change through the admin API reaches the very next call', async () => {
    await publish('1.0.0');
    expect(await ping()).toMatchObject({ status: 200, body: expect.stringContaining('v1.0.0') });
    await publish('2.0.0');
    expect(await ping()).toMatchObject({ status: 200, body: expect.stringContaining('v2.0.0') });

    // Removed behind the admin API's back: the object keeps answering from what it holds.
    await testEnv.PACK_INDEX.prepare("DELETE FROM activations WHERE tenant = 'wh-hot'").run();
    expect(await ping()).toMatchObject({ status: 200, body: expect.stringContaining('v2.0.0') });

    await publish('3.0.0');
    expect(await ping()).toMatchObject({ status: 200, body: expect.stringContaining('v3.0.0') });
    expect((await admin('/tenants/wh-hot/packs/hook-notice', { method: 'DELETE' })).status).toBe(204);
    expect((await ping()).status).toBe(404);
  });
});
