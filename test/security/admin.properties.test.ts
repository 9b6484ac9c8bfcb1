// Properties of the admin API under hostile requests (fast-check): any method, path, query and
// body, with no token, a wrong one or the right one, is answered with success or a typed 4xx
// (`{"error"}`), never a 5xx, within a bounded time. Without the token nothing is ever stored;
// with it, a refused request leaves every D1 row and R2 object as it was.
import { SELF } from 'cloudflare:test';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { operatorSecretKey } from '../../src/component/edge/host-policy.js';
import { setTelemetrySink } from '../../src/edge/telemetry.js';
import { expectTypedRefusal, propertyParameters, withinTime } from '../support/properties.js';
import { activate, ECHO_FLOW, seedPack, testEnv } from '../support/runtime-fixtures.js';
import { storageSnapshot } from '../support/storage-snapshot.js';

const REQUEST_MS = 5_000;
let seededDigest = '';

beforeAll(async () => {
  setTelemetrySink(() => {});
  seededDigest = await seedPack('prop-admin', '1.0.0', [ECHO_FLOW('admin')]);
  await activate('t1', 'prop-admin', seededDigest);
  await testEnv.PACKS.put(operatorSecretKey({ env: testEnv.GREENTIC_ENV, tenant: 't1' }, 'api.key'), 'v');
});

const junk = fc.string({ maxLength: 40 }).map(encodeURIComponent);
const tenant = fc.oneof(fc.constant('t1'), fc.stringMatching(/^[a-z][a-z0-9_-]{0,12}$/), junk);
const packId = fc.oneof(fc.constant('prop-admin'), fc.stringMatching(/^[a-z][a-z0-9._-]{0,12}$/), junk);
const secretKey = fc.oneof(fc.constant('api.key'), fc.stringMatching(/^[a-z][a-z0-9._/-]{0,20}$/), junk, fc.constant('..%2F..%2Fpacks'));
const deadLetterId = fc.oneof(fc.stringMatching(/^[0-9a-f]{32}$/), junk);

const path = fc.oneof(
  fc.constant('/admin/v1/packs'),
  junk.map((s) => `/admin/v1/packs/${s}`),
  tenant.map((t) => `/admin/v1/tenants/${t}/packs`),
  fc.tuple(tenant, packId).map(([t, p]) => `/admin/v1/tenants/${t}/packs/${p}`),
  tenant.map((t) => `/admin/v1/tenants/${t}/secrets`),
  fc.tuple(tenant, secretKey).map(([t, k]) => `/admin/v1/tenants/${t}/secrets/${k}`),
  fc.constant('/admin/v1/dead-letters'),
  deadLetterId.map((id) => `/admin/v1/dead-letters/${id}`),
  deadLetterId.map((id) => `/admin/v1/dead-letters/${id}/replay`),
  junk.map((s) => `/admin/v1/${s}`),
  fc.constant('/admin/v1'),
);
const query = fc.dictionary(
  fc.oneof(fc.constantFrom('tenant', 'channel', 'source', 'limit', 'cursor', 'team', 'env'), fc.string({ maxLength: 10 })),
  fc.oneof(fc.string({ maxLength: 30 }), fc.integer().map(String)),
  { maxKeys: 4 },
);
const body = fc.oneof(
  fc.constant(undefined),
  fc.uint8Array({ maxLength: 500 }),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.oneof(fc.constant('1.0.0'), fc.string({ maxLength: 12 })).map((version) => JSON.stringify({ version })),
  fc
    .oneof(fc.constant(''), fc.stringMatching(/^[0-9a-f]{64}$/))
    .map((hex) => JSON.stringify({ digest: hex === '' ? 'x' : `sha256:${hex}` })),
);
const RIGHT = 'Bearer test-admin-token';
const auth = fc.oneof(
  { weight: 3, arbitrary: fc.constant(RIGHT) },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom('Bearer', 'Bearer ', 'Basic dGVzdDp0ZXN0', 'bearer test-admin-tokenx', `${RIGHT} `) },
  { weight: 1, arbitrary: fc.stringMatching(/^[\x21-\x7e]{1,80}$/).map((t) => `Bearer ${t}`) },
);

describe('admin API under arbitrary requests', () => {
  it('any request is served or refused with a typed 4xx, never a 5xx; without the token, or when refused, nothing is stored', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'), path, query, body, auth, async (method, p, q, b, a) => {
        const before = await storageSnapshot(testEnv);
        const url = new URL(`http://runner${p}`);
        for (const [k, v] of Object.entries(q)) url.searchParams.append(k, v);
        const res = await withinTime(REQUEST_MS, `${method} ${p}`, () =>
          SELF.fetch(url, {
            method,
            headers: a === undefined ? {} : { Authorization: a },
            ...(b === undefined || method === 'GET' ? {} : { body: b }),
          }),
        );
        expect(res.status, `${method} ${url.pathname}${url.search}`).toBeLessThan(500);
        const authorized = a === RIGHT || a === `${RIGHT} `;
        if (!authorized) expect([401, 403]).toContain(res.status);
        if (res.status < 400) {
          await res.arrayBuffer();
          return;
        }
        await expectTypedRefusal(res, (body) => (body as { error?: unknown } | null)?.error);
        expect(await storageSnapshot(testEnv)).toEqual(before);
      }),
      propertyParameters(100),
    );
  });

  it('deactivating a pack that is not active answers 404 and leaves the tenant generation (and every other row) as it was', async () => {
    const before = await storageSnapshot(testEnv);
    const res = await SELF.fetch('http://runner/admin/v1/tenants/t1/packs/never-active', {
      method: 'DELETE',
      headers: { Authorization: RIGHT },
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: 'not_active' });
    expect(await storageSnapshot(testEnv)).toEqual(before);
  });
});
