import { beforeAll, describe, expect, it } from 'vitest';
import { adminApi } from '../../src/admin/admin-api.js';
import { packUploadPipeline } from '../../src/admin/pack-ingest.js';
import { setTelemetrySink } from '../../src/edge/telemetry.js';
import type { Env } from '../../src/env.js';
import { buildPack } from '../../src/pack/builder.js';
import { publicKeyToPem } from '../../src/pack/keys.js';
import { generateKeyPair } from '../../src/pack/signing.js';
import { signPackArchive } from '../../src/pack/writer.js';
import { listPacks } from '../../src/pack-store/pack-index.js';
import { deliverRecorded } from '../support/channel-session.js';
import { ECHO_FLOW, testEnv, webchatMessage } from '../support/runtime-fixtures.js';

beforeAll(() => {
  setTelemetrySink(() => {});
});

const utf8 = new TextEncoder();
const AUTH = { authorization: 'Bearer test-admin-token' };

function packSource(version: string, label: string): Map<string, Uint8Array> {
  return new Map([
    [
      'pack.yaml',
      utf8.encode(
        `pack_id: upload-pack\nversion: ${version}\nkind: application\npublisher: tests\nflows:\n  - id: echo\n    file: flows/echo.ygtc\n`,
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
