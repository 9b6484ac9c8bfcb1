import { SELF } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { setTelemetrySink } from '../../src/edge/telemetry.js';
import { buildPack } from '../../src/pack/builder.js';
import { ECHO_FLOW, seedPack } from '../support/runtime-fixtures.js';

beforeAll(() => {
  setTelemetrySink(() => {});
});

const AUTH = { authorization: 'Bearer test-admin-token' };
const utf8 = new TextEncoder();

/** Uploads an unsigned one-flow pack through the admin API (the test deployment runs `dev`); returns its digest. */
async function uploadPack(packId: string, version: string, label: string): Promise<string> {
  const pack = buildPack(
    new Map([
      [
        'pack.yaml',
        utf8.encode(
          `pack_id: ${packId}\nversion: ${version}\nkind: application\npublisher: tests\nflows:\n  - id: echo\n    file: flows/echo.ygtc\n`,
        ),
      ],
      ['flows/echo.ygtc', utf8.encode(ECHO_FLOW(label))],
    ]),
  );
  const res = await SELF.fetch('http://x/admin/v1/packs', { method: 'POST', headers: AUTH, body: pack.bytes });
  expect(res.status).toBe(201);
  return ((await res.json()) as { digest: string }).digest;
}

describe('admin API auth', () => {
  it('answers 401 with a JSON error when the bearer token is missing', async () => {
    const res = await SELF.fetch('http://x/admin/v1/packs');
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'unauthorized' });
  });

  it('answers 403 with a JSON error when the bearer token is wrong', async () => {
    const res = await SELF.fetch('http://x/admin/v1/packs', { headers: { authorization: 'Bearer nope' } });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: 'forbidden' });
  });
});

describe('admin API activation', () => {
  it('activates a pack by version for a tenant, lists it, and deactivates it', async () => {
    const digest = await uploadPack('admin-pack', '1.2.3', 'admin');

    const put = await SELF.fetch('http://x/admin/v1/tenants/acme/packs/admin-pack', {
      method: 'PUT',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ version: '1.2.3' }),
    });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ env: 'dev', tenant: 'acme', pack_id: 'admin-pack', version: '1.2.3', digest });

    const listed = (await (await SELF.fetch('http://x/admin/v1/tenants/acme/packs', { headers: AUTH })).json()) as {
      packs: { pack_id: string }[];
    };
    expect(listed.packs.map((p) => p.pack_id)).toEqual(['admin-pack']);
    const other = (await (await SELF.fetch('http://x/admin/v1/tenants/someone-else/packs', { headers: AUTH })).json()) as {
      packs: unknown[];
    };
    expect(other.packs).toEqual([]);

    const all = (await (await SELF.fetch('http://x/admin/v1/packs', { headers: AUTH })).json()) as { packs: { digest: string }[] };
    expect(all.packs.map((p) => p.digest)).toContain(digest);

    const del = await SELF.fetch('http://x/admin/v1/tenants/acme/packs/admin-pack', { method: 'DELETE', headers: AUTH });
    expect(del.status).toBe(204);
    const again = await SELF.fetch('http://x/admin/v1/tenants/acme/packs/admin-pack', { method: 'DELETE', headers: AUTH });
    expect(again.status).toBe(404);
  });

  it('refuses to activate a version that was never uploaded', async () => {
    const res = await SELF.fetch('http://x/admin/v1/tenants/acme/packs/ghost', {
      method: 'PUT',
      headers: AUTH,
      body: JSON.stringify({ version: '9.9.9' }),
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: 'pack_not_found' });
  });
});

describe('GET /readyz', () => {
  it('answers 503 with a reason while no pack is active, 200 once one is', async () => {
    const before = await SELF.fetch('http://x/readyz');
    expect(before.status).toBe(503);
    expect(((await before.json()) as { reasons: string[] }).reasons).toEqual(['no pack is active in env "dev"']);

    await uploadPack('ready-pack', '1.0.0', 'r');
    await SELF.fetch('http://x/admin/v1/tenants/acme/packs/ready-pack', {
      method: 'PUT',
      headers: AUTH,
      body: JSON.stringify({ version: '1.0.0' }),
    });
    const after = await SELF.fetch('http://x/readyz');
    expect(after.status).toBe(200);
    expect(await after.json()).toMatchObject({ status: 'ready', active_packs: 1 });
  });
});

describe('admin API activation verifies the stored archive', () => {
  it('refuses with 409 to activate a pack whose archive is not in storage, asking for the upload again', async () => {
    // seedPack records an index row and a model but no archive, as a lost R2 object would leave it.
    await seedPack('archive-lost', '1.0.0', [ECHO_FLOW('lost')]);

    const res = await SELF.fetch('http://x/admin/v1/tenants/lost/packs/archive-lost', {
      method: 'PUT',
      headers: AUTH,
      body: JSON.stringify({ version: '1.0.0' }),
    });

    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: 'pack_archive_missing', message: expect.stringMatching(/upload the pack again/) });
    const listed = (await (await SELF.fetch('http://x/admin/v1/tenants/lost/packs', { headers: AUTH })).json()) as { packs: unknown[] };
    expect(listed.packs).toEqual([]);
  });
});
