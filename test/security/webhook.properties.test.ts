// Properties of the generic webhook under hostile requests (fast-check): any method, path,
// query, headers and body is answered with the flow's response or a typed 4xx (`{"error"}`),
// never a 5xx, within a bounded time, and a refused request changes nothing the flow keeps.
import { runInDurableObject, SELF } from 'cloudflare:test';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { setTelemetrySink } from '../../src/edge/telemetry.js';
import { channelObject, WEBHOOK_CHANNEL } from '../../src/objects.js';
import { WEBHOOK_MAX_BODY_BYTES } from '../../src/webhook/webhook.js';
import { expectTypedRefusal, propertyParameters, withinTime } from '../support/properties.js';
import { activate, seedPack, testEnv } from '../support/runtime-fixtures.js';
import { allRows } from '../support/sqlite-rows.js';

const TENANT = 'prop-hook';
const REQUEST_MS = 5_000;

/** Counts its calls in state and answers with pieces of the request, so it touches every part of it. */
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
    emit.response: { method: "{{in.method}}", q: "{{in.query.q}}", text: "{{in.body.text}}", hex: "{{in.body.base16}}", h: "{{in.headers}}" }
    routing: out
`;

beforeAll(async () => {
  setTelemetrySink(() => {});
  await activate(TENANT, 'prop-hook', await seedPack('prop-hook', '1.0.0', [HOOK_FLOW]));
});

const hookObject = () =>
  channelObject(testEnv, { env: testEnv.GREENTIC_ENV, tenant: TENANT, team: 'default', channel: WEBHOOK_CHANNEL }, 'hook');

/** The webhook object's rows, but for `channel_meta`: the identity its first call claims, which is no flow state. */
async function hookRows(): Promise<Record<string, string[]>> {
  const rows = await runInDurableObject(hookObject(), (_o, state) => allRows(state.storage.sql));
  delete rows['channel_meta'];
  return rows;
}

const segment = fc.oneof(fc.stringMatching(/^[a-z][a-z0-9_-]{0,20}$/), fc.string({ maxLength: 40 }).map(encodeURIComponent));
/** Header names the fetch API lets a caller set; the ones it manages itself are left out. */
const headerName = fc
  .stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,30}$/)
  .filter(
    (n) =>
      !['content-length', 'transfer-encoding', 'host', 'connection', 'upgrade', 'expect', 'te', 'keep-alive'].includes(n.toLowerCase()),
  );
const headerValue = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,80}[\x21-\x7e])?$/);

const request = fc.record({
  // Every method the Workers runtime lets a request carry.
  method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'),
  tenant: fc.oneof({ weight: 3, arbitrary: fc.constant(TENANT) }, { weight: 1, arbitrary: segment }),
  flow: fc.oneof({ weight: 3, arbitrary: fc.constant('hook') }, { weight: 1, arbitrary: segment }),
  query: fc.dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 60 }), { maxKeys: 6 }),
  headers: fc.dictionary(headerName, headerValue, { maxKeys: 8 }),
  idempotencyKey: fc.option(fc.oneof(fc.string({ maxLength: 20 }), fc.stringMatching(/^[a-z]{250,300}$/)), { nil: undefined }),
  body: fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 4, arbitrary: fc.uint8Array({ maxLength: 2_000 }) },
    { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 500 }) },
    { weight: 1, arbitrary: fc.constant(new Uint8Array(WEBHOOK_MAX_BODY_BYTES + 1)) },
  ),
});

describe('generic webhook under arbitrary requests', () => {
  it('any request is answered by the flow or refused with a typed 4xx, never a 5xx, and a refused one changes no flow state', async () => {
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const before = await hookRows();
        const url = new URL(`http://runner/v1/webhook/${r.tenant}/${r.flow}`);
        for (const [k, v] of Object.entries(r.query)) url.searchParams.append(k, v);
        const headers = new Headers(r.headers);
        if (r.idempotencyKey !== undefined) headers.set('Idempotency-Key', r.idempotencyKey.trim() === '' ? ' ' : r.idempotencyKey);
        const withBody = r.body !== undefined && r.method !== 'GET' && r.method !== 'HEAD';
        const res = await withinTime(REQUEST_MS, `${r.method} webhook`, () =>
          SELF.fetch(url, { method: r.method, headers, ...(withBody ? { body: r.body } : {}) }),
        );
        expect(res.status, `${r.method} ${url.pathname}`).toBeLessThan(500);
        if (res.status < 400) return;
        if (r.method === 'HEAD') expect(res.status).toBeGreaterThanOrEqual(400);
        else await expectTypedRefusal(res, (b) => (b as { error?: unknown } | null)?.error);
        expect(await hookRows()).toEqual(before);
      }),
      propertyParameters(80),
    );
  });
});
