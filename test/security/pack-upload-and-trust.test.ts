import { beforeAll, describe, expect, inject, it } from 'vitest';
import { adminApi } from '../../src/admin/admin-api.js';
import { packUploadPipeline } from '../../src/admin/pack-ingest.js';
import { setTelemetrySink } from '../../src/edge/telemetry.js';
import type { Env } from '../../src/env.js';
import { channelObjectFor } from '../../src/objects.js';
import { buildPack } from '../../src/pack/builder.js';
import { sha256Hex } from '../../src/pack/digest.js';
import { publicKeyToPem } from '../../src/pack/keys.js';
import { generateKeyPair } from '../../src/pack/signing.js';
import { signPackArchive } from '../../src/pack/writer.js';
import { listPacks } from '../../src/pack-store/pack-index.js';
import { deliverRecorded, injectedSession, RecordingEgress } from '../support/channel-session.js';
import { componentPackSource, ECHOER_MANIFEST } from '../support/pack-sources.js';
import { ECHO_FLOW, testEnv, webchatMessage } from '../support/runtime-fixtures.js';

beforeAll(() => {
  setTelemetrySink(() => {});
});

const utf8 = new TextEncoder();
const AUTH = { authorization: 'Bearer test-admin-token' };

function packSource(version: string, label: string, packId = 'upload-pack'): Map<string, Uint8Array> {
  return new Map([
    [
      'pack.yaml',
      utf8.encode(
        `pack_id: ${packId}\nversion: ${version}\nkind: application\npublisher: tests\nflows:\n  - id: echo\n    file: flows/echo.ygtc\n`,
      ),
    ],
    ['flows/echo.ygtc', utf8.encode(ECHO_FLOW(label))],
  ]);
}

function api(env: Env) {
  const app = adminApi(() => packUploadPipeline);
  return (path: string, init: RequestInit) => app.request(`http://x${path}`, init, env);
}

describe('POST /admin/v1/packs', () => {
  it('under strict, a pack signed by an untrusted key is rejected with 422 and nothing is stored', async () => {
    const trusted = generateKeyPair();
    const attacker = generateKeyPair();
    const signed = signPackArchive(buildPack(packSource('1.0.0', 'evil')).bytes, attacker.seed).bytes;
    const strict = { ...testEnv, PACK_TRUST_POLICY: 'strict', PACK_TRUSTED_KEYS: publicKeyToPem(trusted.publicKey) };

    const res = await api(strict)('/packs', { method: 'POST', headers: AUTH, body: signed });

    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ error: 'pack_rejected', policy: 'strict' });
    expect((await listPacks(testEnv.PACK_INDEX)).filter((p) => p.pack_id === 'upload-pack')).toEqual([]);
    expect((await testEnv.PACKS.list({ prefix: 'packs/' })).objects).toEqual([]);
  });

  it('a pack built and signed by the pack tools uploads (201), activates, and answers the next message', async () => {
    const key = generateKeyPair();
    const signed = signPackArchive(buildPack(packSource('1.0.0', 'uploaded')).bytes, key.seed).bytes;
    const strict = { ...testEnv, PACK_TRUST_POLICY: 'strict', PACK_TRUSTED_KEYS: publicKeyToPem(key.publicKey) };
    const call = api(strict);

    const res = await call('/packs', { method: 'POST', headers: AUTH, body: signed });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { pack_id: string; version: string; digest: string };
    expect(body).toMatchObject({ pack_id: 'upload-pack', version: '1.0.0' });
    expect(body.digest).toMatch(/^sha256:[0-9a-f]{64}$/);

    const act = await call('/tenants/up/packs/upload-pack', {
      method: 'PUT',
      headers: AUTH,
      body: JSON.stringify({ digest: body.digest }),
    });
    expect(act.status).toBe(200);

    const msg = webchatMessage('up', 'c', 'via upload');
    const { result, sent } = await deliverRecorded(msg);
    expect(result.outcome).toMatchObject({ pack_id: 'upload-pack', pack_digest: body.digest, run_status: 'done' });
    expect(sent.map((m) => m.envelope.text)).toEqual(['uploaded: via upload']);
  });
});

const nodeWasm = Uint8Array.from(atob(inject('componentFixtures').node), (c) => c.charCodeAt(0));

/** A pack whose one component `echoer` has the given bytes as its wasm. */
function echoerPack(packId: string, wasm: Uint8Array): Map<string, Uint8Array> {
  return componentPackSource({ packId, wasm, manifest: ECHOER_MANIFEST, flowId: 'echo', flow: ECHO_FLOW(packId) });
}

/** Every R2 key under the prefixes an upload writes to (storage is shared by the tests of this file). */
async function storedKeys(): Promise<string[]> {
  const keys: string[] = [];
  for (const prefix of ['packs/', 'models/', 'components/']) {
    keys.push(...(await testEnv.PACKS.list({ prefix })).objects.map((o) => o.key));
  }
  return keys;
}

/** The pack index with every `INSERT INTO packs` failing, as a D1 outage at the last step would. */
function failingPackInsert(db: D1Database): D1Database {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'prepare')
        return (sql: string) => {
          if (/^\s*INSERT INTO packs/.test(sql)) throw new Error('D1 is unavailable');
          return target.prepare(sql);
        };
      const value = Reflect.get(target, prop);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('a failed upload stores nothing', () => {
  it('an upload whose component is not Wasm answers 422 naming the component and leaves no object in R2 and no index row', async () => {
    const bytes = buildPack(echoerPack('not-wasm-pack', utf8.encode('this is not a wasm binary'))).bytes;
    const before = await storedKeys();
    const rowsBefore = await listPacks(testEnv.PACK_INDEX);

    const res = await api(testEnv)('/packs', { method: 'POST', headers: AUTH, body: bytes });

    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: string; component: string; message: string };
    expect(body).toMatchObject({ error: 'component_rejected', component: 'echoer' });
    expect(body.message).toMatch(/component "echoer".*not a WebAssembly binary/);
    expect(await storedKeys()).toEqual(before);
    expect(await listPacks(testEnv.PACK_INDEX)).toEqual(rowsBefore);
  });

  it('an upload whose index row cannot be written removes the archive, the model and the transpiled artifacts it stored', async () => {
    const bytes = buildPack(echoerPack('row-fails-pack', nodeWasm)).bytes;
    const env = { ...testEnv, PACK_INDEX: failingPackInsert(testEnv.PACK_INDEX) };
    const before = await storedKeys();
    const rowsBefore = await listPacks(testEnv.PACK_INDEX);
    expect(before.some((k) => k.startsWith(`components/${sha256Hex(nodeWasm)}/`))).toBe(false);

    const res = await api(env)('/packs', { method: 'POST', headers: AUTH, body: bytes });

    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: 'upload_failed' });
    expect(await storedKeys()).toEqual(before);
    expect(await listPacks(testEnv.PACK_INDEX)).toEqual(rowsBefore);

    // Nothing half-stored is left to shadow the retry: the same bytes upload and transpile again.
    const retry = await api(testEnv)('/packs', { method: 'POST', headers: AUTH, body: bytes });
    expect(retry.status).toBe(201);
    expect((await storedKeys()).some((k) => k.startsWith(`components/${sha256Hex(nodeWasm)}/`))).toBe(true);
  });
});

describe('the trust policy in force applies at every upload and activation', () => {
  const trusted = generateKeyPair();
  const strict = { ...testEnv, PACK_TRUST_POLICY: 'strict', PACK_TRUSTED_KEYS: publicKeyToPem(trusted.publicKey) };

  async function uploadUnderDev(bytes: Uint8Array): Promise<string> {
    const res = await api(testEnv)('/packs', { method: 'POST', headers: AUTH, body: bytes });
    expect(res.status).toBe(201);
    return ((await res.json()) as { digest: string }).digest;
  }

  it('after PACK_TRUST_POLICY becomes strict, an unsigned pack uploaded under dev is refused at re-upload and at activation', async () => {
    const unsigned = buildPack(packSource('1.0.0', 'unsigned', 'dev-era-pack')).bytes;
    const digest = await uploadUnderDev(unsigned);

    const again = await api(strict)('/packs', { method: 'POST', headers: AUTH, body: unsigned });
    expect(again.status).toBe(422);
    expect(await again.json()).toMatchObject({ error: 'pack_rejected', policy: 'strict', message: expect.stringMatching(/unsigned/) });

    const act = await api(strict)('/tenants/tightened/packs/dev-era-pack', {
      method: 'PUT',
      headers: AUTH,
      body: JSON.stringify({ digest }),
    });
    expect(act.status).toBe(422);
    expect(await act.json()).toMatchObject({ error: 'pack_rejected', policy: 'strict', message: expect.stringMatching(/unsigned/) });
    const active = (await (await api(strict)('/tenants/tightened/packs', { headers: AUTH })).json()) as { packs: unknown[] };
    expect(active.packs).toEqual([]);
  });

  it('a pack signed by a key since removed from PACK_TRUSTED_KEYS is refused at activation', async () => {
    const retired = generateKeyPair();
    const signed = signPackArchive(buildPack(packSource('1.0.0', 'retired', 'retired-key-pack')).bytes, retired.seed).bytes;
    const before = { ...strict, PACK_TRUSTED_KEYS: publicKeyToPem(retired.publicKey) };
    const res = await api(before)('/packs', { method: 'POST', headers: AUTH, body: signed });
    expect(res.status).toBe(201);

    const act = await api(strict)('/tenants/rotated/packs/retired-key-pack', {
      method: 'PUT',
      headers: AUTH,
      body: JSON.stringify({ version: '1.0.0' }),
    });
    expect(act.status).toBe(422);
    expect(await act.json()).toMatchObject({ error: 'pack_rejected', policy: 'strict' });
  });

  it('a pack signed by a trusted key, uploaded under dev, activates once the policy is strict', async () => {
    const signed = signPackArchive(buildPack(packSource('1.0.0', 'signed', 'signed-dev-pack')).bytes, trusted.seed).bytes;
    const digest = await uploadUnderDev(signed);

    const act = await api(strict)('/tenants/tightened/packs/signed-dev-pack', {
      method: 'PUT',
      headers: AUTH,
      body: JSON.stringify({ digest }),
    });
    expect(act.status).toBe(200);
  });

  it('under strict, an unsigned pack activated under dev is no longer run: its tenant has no active pack and the user is told', async () => {
    const digest = await uploadUnderDev(buildPack(packSource('1.0.0', 'unsigned', 'still-active-pack')).bytes);
    const act = await api(testEnv)('/tenants/legacy/packs/still-active-pack', {
      method: 'PUT',
      headers: AUTH,
      body: JSON.stringify({ digest }),
    });
    expect(act.status).toBe(200);
    const underDev = await deliverRecorded(webchatMessage('legacy', 'c', 'before'));
    expect(underDev.sent.map((m) => m.envelope.text)).toEqual(['unsigned: before']);

    const msg = webchatMessage('legacy', 'c', 'after');
    const egress = new RecordingEgress();
    const session = injectedSession(channelObjectFor(strict, msg.envelope), { egress, env: strict });
    await expect(session.deliver(msg)).rejects.toThrow(/NoActivePack/);
    expect(egress.sent.map((m) => m.envelope.text)).toEqual([
      'Sorry, something went wrong while handling your message. Please try again later.',
    ]);
  });
});
