// Tenant secrets set through the admin API reach exactly the components that declare them, in
// exactly that tenant; values go in and never come back out.
import { SELF } from 'cloudflare:test';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { SecretListing } from '../../src/admin/secrets-api.js';
import type { ComponentRunner } from '../../src/component/edge/runner.js';
import { edgeComponentRunner, transpilePackComponents } from '../../src/component/edge/worker-wiring.js';
import { requireKeyring, secretDigest } from '../../src/edge/secret-cipher.js';
import { setTelemetrySink } from '../../src/edge/telemetry.js';
import { testEnv } from '../support/runtime-fixtures.js';

const fixtures = inject('componentFixtures');
const nodeWasm = Uint8Array.from(atob(fixtures.node), (c) => c.charCodeAt(0));
const http10Wasm = Uint8Array.from(atob(fixtures.http10), (c) => c.charCodeAt(0));
const AUTH = { authorization: 'Bearer test-admin-token' };
// The WAT fixture returns a secret's bytes as its CBOR output: 0x63 "xyz" is the CBOR text "xyz".
const CBOR_XYZ = new Uint8Array([0x63, 0x78, 0x79, 0x7a]);

let fixtureSha = '';
let http10Sha = '';
beforeAll(async () => {
  setTelemetrySink(() => {});
  if (fixtures.error) throw new Error(fixtures.error);
  const [prepared, http10] = await transpilePackComponents(testEnv, [
    { id: 'fixture', wasm: nodeWasm },
    { id: 'http10', wasm: http10Wasm },
  ]);
  fixtureSha = prepared!.sha256;
  http10Sha = http10!.sha256;
});

let packSeq = 0;
/**
 * The runtime's runner for one tenant: the fixture's manifest declares only API_TOKEN; `writer`
 * (secrets-store 1.1: `P:<key>` puts, `G:<key>` gets) may also write API_TOKEN and SESSION;
 * `reader` is the same component declaring both keys without a write grant.
 */
function runnerFor(tenant: string, team?: string): ComponentRunner {
  const required = [{ key: 'API_TOKEN' }, { key: 'SESSION' }];
  return edgeComponentRunner(
    testEnv,
    {
      packId: 'secrets-pack',
      digest: `secrets-pack-${++packSeq}`,
      components: [
        { id: 'fixture', sha256: fixtureSha, manifest: { capabilities: { host: { secrets: { required: [{ key: 'API_TOKEN' }] } } } } },
        {
          id: 'writer',
          sha256: http10Sha,
          manifest: { capabilities: { host: { secrets: { required, writable: ['API_TOKEN', 'SESSION'] } } } },
        },
        { id: 'reader', sha256: http10Sha, manifest: { capabilities: { host: { secrets: { required } } } } },
      ],
    },
    { tenant, ...(team === undefined ? {} : { team }), tenantPolicy: { httpAllowHosts: [] } },
  );
}
const readSecret = (r: ComponentRunner, key: string) =>
  r.invoke({ component: 'fixture', op: `k:${key}`, input: {}, flowId: 'main', stepId: 'n1' });

const putFrom = (r: ComponentRunner, component: 'writer' | 'reader', key: string, value: string) =>
  r.invoke({ component, op: `P:${key}`, input: value, flowId: 'main', stepId: 'n1' });
const getFrom = (r: ComponentRunner, component: 'writer' | 'reader', key: string) =>
  r.invoke({ component, op: `G:${key}`, input: {}, flowId: 'main', stepId: 'n1' });

/** The listing's keyed digest of a value under the test keyring's primary key. */
const digestOf = async (value: Uint8Array | string) =>
  secretDigest(
    (await requireKeyring(testEnv.SECRETS_ENCRYPTION_KEYS, 'test')).primary,
    typeof value === 'string' ? new TextEncoder().encode(value) : value,
  );

const secretUrl = (tenant: string, key?: string) =>
  `http://x/admin/v1/tenants/${tenant}/secrets${key === undefined ? '' : `/${encodeURIComponent(key)}`}`;
const putSecret = (tenant: string, key: string, value: Uint8Array | string) =>
  SELF.fetch(secretUrl(tenant, key), { method: 'PUT', headers: AUTH, body: value });
type Listed = Omit<SecretListing, 'updated_at'>;
const deleteSecret = (tenant: string, key: string, query = '') =>
  SELF.fetch(`${secretUrl(tenant, key)}${query}`, { method: 'DELETE', headers: AUTH });
async function listSecrets(tenant: string): Promise<{ text: string; json: { env: string; tenant: string; secrets: Listed[] } }> {
  const res = await SELF.fetch(secretUrl(tenant), { headers: AUTH });
  expect(res.status).toBe(200);
  const text = await res.text();
  return { text, json: JSON.parse(text) as never };
}

describe('admin secrets API', () => {
  it('a secret set for a tenant is read by a component that declares it (any team); an undeclared key stays denied', async () => {
    expect((await putSecret('sec-a', 'API_TOKEN', CBOR_XYZ)).status).toBe(201);
    expect((await putSecret('sec-a', 'OTHER', CBOR_XYZ)).status).toBe(201);
    expect(await readSecret(runnerFor('sec-a'), 'API_TOKEN')).toMatchObject({ ok: true, output: 'xyz' });
    expect(await readSecret(runnerFor('sec-a', 'support'), 'API_TOKEN')).toMatchObject({ ok: true, output: 'xyz' });
    expect(await readSecret(runnerFor('sec-a'), 'OTHER')).toMatchObject({ ok: false, error: { code: 'denied' } });
  });

  it("tenant B neither reads nor lists tenant A's secret", async () => {
    expect((await putSecret('sec-owner', 'API_TOKEN', CBOR_XYZ)).status).toBe(201);
    expect(await readSecret(runnerFor('sec-other'), 'API_TOKEN')).toMatchObject({ ok: true, output: null });
    expect((await listSecrets('sec-other')).json.secrets).toEqual([]);
    expect((await listSecrets('sec-owner')).json.secrets.map((s) => s.key)).toEqual(['API_TOKEN']);
  });

  it('the listing names keys with a keyed digest, key id and size of each value, never the value', async () => {
    const value = 'hunter2-do-not-print-me';
    expect((await putSecret('sec-list', 'b/nested', value)).status).toBe(201);
    expect((await putSecret('sec-list', 'A_KEY', 'x')).status).toBe(201);
    const { text, json } = await listSecrets('sec-list');
    expect(text).not.toContain(value);
    expect(json).toMatchObject({ env: 'dev', tenant: 'sec-list' });
    expect(json.secrets).toEqual([
      expect.objectContaining({ key: 'A_KEY', digest: await digestOf('x'), key_id: 'test', size: 1 }),
      expect.objectContaining({ key: 'b/nested', digest: await digestOf(value), key_id: 'test', size: value.length }),
    ]);
  });

  it('PUT replaces a value (200), DELETE removes it (204, then 404) and the component reads nothing', async () => {
    expect((await putSecret('sec-del', 'API_TOKEN', 'first')).status).toBe(201);
    const replaced = await putSecret('sec-del', 'API_TOKEN', CBOR_XYZ);
    expect(replaced.status).toBe(200);
    expect(await replaced.json()).toMatchObject({ key: 'API_TOKEN', digest: await digestOf(CBOR_XYZ), size: 4, unchanged: false });
    expect(await readSecret(runnerFor('sec-del'), 'API_TOKEN')).toMatchObject({ ok: true, output: 'xyz' });
    expect((await SELF.fetch(secretUrl('sec-del', 'API_TOKEN'), { method: 'DELETE', headers: AUTH })).status).toBe(204);
    expect(await readSecret(runnerFor('sec-del'), 'API_TOKEN')).toMatchObject({ ok: true, output: null });
    const again = await SELF.fetch(secretUrl('sec-del', 'API_TOKEN'), { method: 'DELETE', headers: AUTH });
    expect(again.status).toBe(404);
    expect(await again.json()).toMatchObject({ error: 'secret_not_found' });
  });

  it('refuses a value over 64 KiB with 413, an empty value, a key the host would not accept and a bad tenant with 400', async () => {
    const big = await putSecret('sec-limits', 'BIG', new Uint8Array(64 * 1024 + 1));
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error: 'secret_too_large' });
    expect((await putSecret('sec-limits', 'EXACT', new Uint8Array(64 * 1024).fill(0x61))).status).toBe(201);
    expect((await putSecret('sec-limits', 'EMPTY', new Uint8Array())).status).toBe(400);
    for (const key of ['bad key!', 'a..b', '/lead']) {
      const res = await putSecret('sec-limits', key, 'v');
      expect(res.status, key).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'invalid_key' });
    }
    expect((await putSecret('bad tenant!', 'K', 'v')).status).toBe(400);
    expect((await listSecrets('sec-limits')).json.secrets.map((s) => s.key)).toEqual(['EXACT']);
  });

  it('answers 401 without the admin token on every secrets route', async () => {
    expect((await putSecret('sec-auth', 'API_TOKEN', CBOR_XYZ)).status).toBe(201);
    for (const [method, url] of [
      ['GET', secretUrl('sec-auth')],
      ['PUT', secretUrl('sec-auth', 'API_TOKEN')],
      ['DELETE', secretUrl('sec-auth', 'API_TOKEN')],
    ] as const) {
      const res = await SELF.fetch(url, { method, ...(method === 'PUT' ? { body: 'stolen' } : {}) });
      expect(res.status, method).toBe(401);
    }
    expect(await readSecret(runnerFor('sec-auth'), 'API_TOKEN')).toMatchObject({ ok: true, output: 'xyz' });
  });
});

describe('admin secrets API: operator values and component-written values', () => {
  it("a component's put never changes what an admin-set secret reads", async () => {
    expect((await putSecret('sec-ow', 'API_TOKEN', CBOR_XYZ)).status).toBe(201);
    const r = runnerFor('sec-ow', 'support');
    expect(await putFrom(r, 'writer', 'API_TOKEN', 'mine')).toMatchObject({ ok: false, error: { code: 'denied' } });
    expect(await readSecret(r, 'API_TOKEN')).toMatchObject({ ok: true, output: 'xyz' });
    expect(await getFrom(r, 'writer', 'API_TOKEN')).toMatchObject({ ok: true, output: 'xyz' });
    expect(await readSecret(runnerFor('sec-ow'), 'API_TOKEN')).toMatchObject({ ok: true, output: 'xyz' });
    expect((await listSecrets('sec-ow')).json.secrets).toEqual([
      expect.objectContaining({ key: 'API_TOKEN', source: 'operator', team: null, digest: await digestOf(CBOR_XYZ) }),
    ]);
  });

  it('put of a secret without a write grant is denied, even when the manifest declares it', async () => {
    const r = runnerFor('sec-nogrant', 'support');
    expect(await putFrom(r, 'reader', 'SESSION', 'forged')).toMatchObject({ ok: false, error: { code: 'denied' } });
    expect(await getFrom(r, 'reader', 'SESSION')).toMatchObject({ ok: true, output: null });
    expect(await putFrom(r, 'writer', 'OTHER', 'x')).toMatchObject({ ok: false, error: { code: 'denied' } });
    expect((await listSecrets('sec-nogrant')).json.secrets).toEqual([]);
  });

  it('the admin API lists a component-written secret and deleting it removes what the component reads', async () => {
    const r = runnerFor('sec-cw', 'support');
    expect(await putFrom(r, 'writer', 'SESSION', 'abc')).toMatchObject({ ok: true });
    expect(await getFrom(r, 'reader', 'SESSION')).toMatchObject({ ok: true, output: 'abc' });
    const cbor = new Uint8Array([0x63, ...new TextEncoder().encode('abc')]);
    const { text, json } = await listSecrets('sec-cw');
    expect(text).not.toContain('abc');
    expect(json.secrets).toEqual([
      expect.objectContaining({
        key: 'SESSION',
        source: 'component',
        team: 'support',
        shadowed: false,
        digest: await digestOf(cbor),
        key_id: 'test',
        size: 4,
      }),
    ]);
    // Without ?source=component the DELETE names the operator's value, which does not exist.
    expect((await deleteSecret('sec-cw', 'SESSION')).status).toBe(404);
    expect((await deleteSecret('sec-cw', 'SESSION', '?source=component&team=other')).status).toBe(404);
    expect((await deleteSecret('sec-cw', 'SESSION', '?source=component&team=support')).status).toBe(204);
    expect(await getFrom(r, 'writer', 'SESSION')).toMatchObject({ ok: true, output: null });
    expect((await listSecrets('sec-cw')).json.secrets).toEqual([]);
    expect((await deleteSecret('sec-cw', 'SESSION', '?source=robot')).status).toBe(400);
  });

  it('rotating an admin secret is seen by the component afterwards, even after the component wrote that key', async () => {
    const r = runnerFor('sec-rot', 'support');
    expect(await putFrom(r, 'writer', 'API_TOKEN', 'mine')).toMatchObject({ ok: true });
    expect(await readSecret(r, 'API_TOKEN')).toMatchObject({ ok: true, output: 'mine' });
    expect((await putSecret('sec-rot', 'API_TOKEN', CBOR_XYZ)).status).toBe(201);
    expect(await readSecret(r, 'API_TOKEN')).toMatchObject({ ok: true, output: 'xyz' });
    expect(await getFrom(r, 'writer', 'API_TOKEN')).toMatchObject({ ok: true, output: 'xyz' });
    expect((await listSecrets('sec-rot')).json.secrets).toEqual([
      expect.objectContaining({ key: 'API_TOKEN', source: 'operator', team: null, shadowed: false }),
      expect.objectContaining({ key: 'API_TOKEN', source: 'component', team: 'support', shadowed: true }),
    ]);
    const rotated = new Uint8Array([0x63, 0x6e, 0x65, 0x77]); // CBOR text "new"
    expect((await putSecret('sec-rot', 'API_TOKEN', rotated)).status).toBe(200);
    expect(await readSecret(r, 'API_TOKEN')).toMatchObject({ ok: true, output: 'new' });
    expect((await deleteSecret('sec-rot', 'API_TOKEN', '?source=component&team=support')).status).toBe(204);
    expect((await deleteSecret('sec-rot', 'API_TOKEN')).status).toBe(204);
    expect(await readSecret(r, 'API_TOKEN')).toMatchObject({ ok: true, output: null });
  });

  it('a value stored at the former team-scoped key is still read, and the admin API lists and deletes it', async () => {
    // Before component writes had their own namespace, a put landed at secrets/<env>/<tenant>/<team>/<key>.
    await testEnv.PACKS.put('secrets/dev/sec-legacy/support/API_TOKEN', new Uint8Array([0x63, 0x6f, 0x6c, 0x64]));
    const r = runnerFor('sec-legacy', 'support');
    expect(await readSecret(r, 'API_TOKEN')).toMatchObject({ ok: true, output: 'old' });
    expect((await listSecrets('sec-legacy')).json.secrets).toEqual([
      expect.objectContaining({ key: 'API_TOKEN', source: 'component', team: 'support', shadowed: false, size: 4 }),
    ]);
    expect((await deleteSecret('sec-legacy', 'API_TOKEN', '?source=component&team=support')).status).toBe(204);
    expect(await readSecret(r, 'API_TOKEN')).toMatchObject({ ok: true, output: null });
    expect((await listSecrets('sec-legacy')).json.secrets).toEqual([]);
  });
});
