import { beforeAll, describe, expect, inject, it } from 'vitest';
import { adminApi } from '../../src/admin/admin-api.js';
import { packUploadPipeline } from '../../src/admin/pack-ingest.js';
import { setTelemetrySink } from '../../src/edge/telemetry.js';
import type { Env } from '../../src/env.js';
import { buildPack } from '../../src/pack/builder.js';
import { sha256Hex } from '../../src/pack/digest.js';
import { publicKeyToPem } from '../../src/pack/keys.js';
import { generateKeyPair } from '../../src/pack/signing.js';
import { signPackArchive } from '../../src/pack/writer.js';
import { deliverIngress, deliverRecorded } from '../support/channel-session.js';
import { componentPackSource } from '../support/pack-sources.js';
import { testEnv, webchatMessage } from '../support/runtime-fixtures.js';

const fixtures = inject('componentFixtures');
const nodeWasm = Uint8Array.from(atob(fixtures.node), (c) => c.charCodeAt(0));
const _utf8 = new TextEncoder();
const AUTH = { authorization: 'Bearer test-admin-token' };

beforeAll(() => {
  setTelemetrySink(() => {});
});

const MANIFEST = {
  id: 'echoer',
  version: '1.0.0',
  supports: ['messaging'],
  world: 'greentic:component/component@0.6.0',
  profiles: { supported: [] },
  capabilities: { wasi: {}, host: { state: { read: true, write: true } } },
  operations: [{ name: 'echo', input_schema: {}, output_schema: {} }],
  resources: {},
};

// The fixture dispatches on the first letter of the op: `e…` echoes its payload; `w:<key>` writes
// the payload to state; `r:<key>` reads it back.
const FLOW = `id: main
type: messaging
nodes:
  call:
    component.exec:
      component: echoer
      operation: echo
      input: { text: "echo: {{in.text}}" }
    routing: [ { to: remember } ]
  remember:
    component.exec:
      component: echoer
      operation: "w:last"
      input: { last: "{{in.text}}" }
    routing: [ { to: answer } ]
  answer:
    emit.response: { text: "{{node.call.text}}" }
    routing: out
`;

function packSource(packId: string, manifest: object = MANIFEST): Map<string, Uint8Array> {
  return componentPackSource({ packId, wasm: nodeWasm, manifest, flowId: 'main', flow: FLOW });
}

describe('a message runs a real component end to end', () => {
  it('an uploaded pack transpiles its component once and answers a message through it', async () => {
    expect(fixtures.error).toBeUndefined();
    const key = generateKeyPair();
    const signed = signPackArchive(buildPack(packSource('component-pack')).bytes, key.seed).bytes;
    const env: Env = { ...testEnv, PACK_TRUST_POLICY: 'strict', PACK_TRUSTED_KEYS: publicKeyToPem(key.publicKey) };
    const app = adminApi(() => packUploadPipeline);
    const call = (path: string, init: RequestInit) => app.request(`http://x${path}`, init, env);

    const res = await call('/packs', { method: 'POST', headers: AUTH, body: signed });
    expect(res.status).toBe(201);
    const { digest } = (await res.json()) as { digest: string };
    // The component's artifacts are stored under its own sha256, ready for the Dynamic Worker.
    const artifacts = await testEnv.PACKS.list({ prefix: `components/${sha256Hex(nodeWasm)}/` });
    expect(artifacts.objects.length).toBeGreaterThan(0);
    expect(
      (await call('/tenants/comp/packs/component-pack', { method: 'PUT', headers: AUTH, body: JSON.stringify({ digest }) })).status,
    ).toBe(200);

    const msg = webchatMessage('comp', 'c1', 'hello wasm');
    const { result, sent } = await deliverRecorded(msg);
    expect(result.outcome).toMatchObject({ pack_id: 'component-pack', run_status: 'done' });
    expect(sent.map((m) => m.envelope.text)).toEqual(['echo: hello wasm']);
  });

  it("a pack component's resources.memory_mb reaches the component runner with its capabilities", async () => {
    const key = generateKeyPair();
    const signed = signPackArchive(
      buildPack(packSource('limited-pack', { ...MANIFEST, resources: { memory_mb: 8 } })).bytes,
      key.seed,
    ).bytes;
    const inspected = await packUploadPipeline.inspect(signed, { policy: 'strict', trustedKeys: publicKeyToPem(key.publicKey) });
    expect(inspected.ok).toBe(true);
    const [echoer] = (inspected as { components: { id: string; manifest?: unknown }[] }).components;
    expect(echoer).toMatchObject({
      id: 'echoer',
      manifest: { capabilities: { host: { state: { read: true, write: true } } }, resources: { memory_mb: 8 } },
    });
  });

  it('a message for a tenant with no active pack is refused with NoActivePack (dead-lettered, the user is told)', async () => {
    const msg = webchatMessage('comp-other', 'c1', 'hello');
    await expect(deliverIngress(testEnv, msg)).rejects.toThrow(/NoActivePack/);
  });
});
