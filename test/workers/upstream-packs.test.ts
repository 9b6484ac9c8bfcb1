// Real upstream packs (greentic-demo builds, unmodified) load here: components declared only in
// the component_sources extension or by the components/<id>.wasm convention are verified,
// transpiled and invoked.
import { beforeAll, describe, expect, it } from 'vitest';
import { adminApi } from '../../src/admin/admin-api.js';
import { packUploadPipeline } from '../../src/admin/pack-ingest.js';
import { assetReader } from '../../src/component/edge/card-invocation.js';
import { componentInvoker } from '../../src/component/edge/invoker.js';
import { edgeComponentRunner } from '../../src/component/edge/worker-wiring.js';
import { setTelemetrySink } from '../../src/edge/telemetry.js';
import type { Env } from '../../src/env.js';
import { packEntryFlow } from '../../src/flow/entry-flow.js';
import { FlowExecutor } from '../../src/flow/executor.js';
import { buildPack } from '../../src/pack/builder.js';
import { sha256Hex } from '../../src/pack/digest.js';
import { openPack } from '../../src/pack/reader.js';
import { packArchive } from '../../src/pack/writer.js';
import { archiveKey, loadPackAssets, loadPackModel, type PackModel } from '../../src/pack-store/pack-store.js';
import { testEnv } from '../support/runtime-fixtures.js';
import { UPSTREAM_PACK_NAMES, type UpstreamPackName, upstreamPack } from '../support/upstream-packs.js';

const AUTH = { authorization: 'Bearer test-admin-token' };
const CARD_ID = 'ai.greentic.component-adaptive-card';
const CARD_SHA = '9e2d586f2137ad4c987387a56c63126186735499498d0d020908e4d232e7c818';

beforeAll(() => {
  setTelemetrySink(() => {});
});

const env: Env = { ...testEnv, PACK_TRUST_POLICY: 'dev' };
const app = adminApi(() => packUploadPipeline);
const call = (path: string, init: RequestInit) => app.request(`http://x${path}`, init, env);

async function upload(bytes: Uint8Array): Promise<Response> {
  return call('/packs', { method: 'POST', headers: AUTH, body: bytes });
}

/** The archive with one entry's bytes replaced (manifest untouched; the SBOM is regenerated). */
function withEntry(archive: Uint8Array, name: string, data: Uint8Array): Uint8Array {
  const opened = openPack(archive);
  const groups = [...opened.entries]
    .filter(([n]) => n !== 'manifest.cbor' && n !== 'sbom.cbor')
    .map(([n, d]) => new Map([[n, n === name ? data : d]]));
  return packArchive(opened.manifestBytes, groups).bytes;
}

describe('component sources', () => {
  it('a pack with components: [] has the component its component_sources extension declares verified, transpiled and listed', async () => {
    const res = await upload(await upstreamPack('quickstart'));
    expect(res.status).toBe(201);
    const { digest } = (await res.json()) as { digest: string };
    const artifacts = await testEnv.PACKS.list({ prefix: `components/${CARD_SHA}/` });
    expect(artifacts.objects.length).toBeGreaterThan(0);
    const model = await loadPackModel(testEnv.PACKS, digest);
    expect(model.components).toEqual([
      { id: CARD_ID, digest: `sha256:${CARD_SHA}`, manifest: { capabilities: { host: { state: { read: true, write: true } } } } },
    ]);
  });

  it('a component whose wasm does not hash to its component_sources digest is rejected at upload, naming the component and both digests', async () => {
    const original = await upstreamPack('quickstart');
    const wasmPath = `components/${CARD_ID}.wasm`;
    const wasm = openPack(original).entries.get(wasmPath)!;
    const tampered = withEntry(original, wasmPath, wasm.subarray(0, wasm.length - 1));
    const res = await upload(tampered);
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: string; message: string };
    expect(body.error).toBe('pack_rejected');
    expect(body.message).toContain(`component-digest-mismatch: ${wasmPath}`);
    expect(body.message).toContain(`pins sha256:${CARD_SHA}`);
    expect(await testEnv.PACKS.head(archiveKey(`sha256:${sha256Hex(tampered)}`))).toBeNull();
  });

  it('a component listed in the manifest without a sources entry is loaded from components/<id>.wasm', async () => {
    const res = await upload(await upstreamPack('telco-x'));
    expect(res.status).toBe(201);
    const { digest } = (await res.json()) as { digest: string };
    const model = await loadPackModel(testEnv.PACKS, digest);
    expect(model.components.map((c) => c.id)).toEqual(['component-telco-present']);
    const sha = model.components[0]!.digest!.replace('sha256:', '');
    expect((await testEnv.PACKS.list({ prefix: `components/${sha}/` })).objects.length).toBeGreaterThan(0);
  });
});

async function uploadAndActivate(tenant: string, bytes: Uint8Array): Promise<Response> {
  const res = await upload(bytes);
  expect([200, 201]).toContain(res.status);
  const { pack_id, digest } = (await res.json()) as { pack_id: string; digest: string };
  return call(`/tenants/${tenant}/packs/${pack_id}`, { method: 'PUT', headers: AUTH, body: JSON.stringify({ digest }) });
}

describe('activation', () => {
  it.each(UPSTREAM_PACK_NAMES)('the upstream %s pack uploads under the dev policy and activates', async (name) => {
    const res = await uploadAndActivate(`up-${name}`, await upstreamPack(name));
    expect(res.status).toBe(200);
  });

  it('activating helpdesk-itsm answers 200 and lists its empty flows as warnings', async () => {
    const res = await uploadAndActivate('helpdesk', await upstreamPack('helpdesk-itsm'));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { warnings: string[] };
    expect(body.warnings).toEqual([
      'flow "create_ticket_flow" has no nodes',
      'flow "jira_oauth_flow" has no nodes',
      'flow "knowledge_base_flow" has no nodes',
      'flow "on_event" has no nodes',
      'flow "on_message" has no nodes',
    ]);
  });

  it('activating a pack none of whose flows can start answers 422 with the reason, and activates nothing', async () => {
    const utf8 = new TextEncoder();
    const source = new Map([
      [
        'pack.yaml',
        utf8.encode(
          'pack_id: no-components\nversion: 1.0.0\nkind: application\npublisher: tests\nflows:\n  - id: main\n    file: flows/main.ygtc\n',
        ),
      ],
      [
        'flows/main.ygtc',
        utf8.encode(
          'id: main\ntype: messaging\nnodes:\n  show:\n    component.exec: { component: card, operation: run }\n    routing: out\n',
        ),
      ],
    ]);
    const res = await uploadAndActivate('cannot-run', buildPack(source).bytes);
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: string; message: string; warnings: string[] };
    expect(body.error).toBe('pack_cannot_run');
    expect(body.message).toBe(
      'no flow of the pack can run: "main" starts at node "show", whose component "card" the pack does not contain',
    );
    expect(body.warnings).toContain('flow "main" node "show" calls component "card", which the pack does not contain');
    const active = (await (await call('/tenants/cannot-run/packs', { headers: AUTH })).json()) as { packs: unknown[] };
    expect(active.packs).toEqual([]);
  });
});

/** A runner for an uploaded pack, wired as a turn wires it (engine-binding.ts). */
function runnerOf(model: PackModel) {
  const components = model.components.map((c) => ({ id: c.id, sha256: c.digest!.replace('sha256:', ''), manifest: c.manifest as never }));
  const assets = () => loadPackAssets(testEnv.PACKS, model);
  return edgeComponentRunner(
    env,
    { packId: model.pack_id, digest: model.digest, components, assets },
    { tenant: 'assets', tenantPolicy: { httpAllowHosts: [] } },
  );
}

async function uploadedModel(name: UpstreamPackName): Promise<PackModel> {
  const res = await upload(await upstreamPack(name));
  expect([200, 201]).toContain(res.status);
  return loadPackModel(testEnv.PACKS, ((await res.json()) as { digest: string }).digest);
}

describe('pack assets for components', () => {
  it("a real component reads the pack's assets at /assets: the adaptive card renders an asset card the host did not inline", async () => {
    const model = await uploadedModel('quickstart');
    const res = await runnerOf(model).invoke({
      component: CARD_ID,
      op: 'run',
      input: { card_source: 'asset', card_spec: { asset_path: 'assets/cards/about_card.json' } },
      flowId: 'main',
      stepId: 'show_about_card',
    });
    expect(res.ok ? undefined : res.error).toBeUndefined();
    const card = (res as { output: { renderedCard: { body: { text?: string }[] } } }).output.renderedCard;
    expect(card.body[0]?.text).toBe('🏠 About Greentic');
  });

  it("a card node's invocation gets the card inlined, the i18n bundles and the user's locale, and renders in that locale", async () => {
    const model = await uploadedModel('hr-onboarding');
    const runner = runnerOf(model);
    const invoker = componentInvoker(
      () => runner,
      async () => assetReader(await loadPackAssets(testEnv.PACKS, model)),
    );
    const mapping = model.flows[0]!.nodes.show_welcome_card!.input.mapping;
    const ctx = { packId: model.pack_id, flowId: 'main', nodeId: 'show_welcome_card', attempt: 1, resumed: false };
    const en = await invoker.invoke({ kind: 'component', id: CARD_ID }, 'run', mapping, ctx);
    const fr = await invoker.invoke({ kind: 'component', id: CARD_ID }, 'run', mapping, { ...ctx, locale: 'fr' });
    expect(en.ok && fr.ok).toBe(true);
    const enCard = (en as unknown as { output: { renderedCard: Record<string, unknown> } }).output.renderedCard;
    const frCard = (fr as unknown as { output: { renderedCard: Record<string, unknown> } }).output.renderedCard;
    expect(frCard.lang).toBe('fr');
    expect(JSON.stringify(frCard.body)).not.toBe(JSON.stringify(enCard.body));
    expect(JSON.stringify(enCard.body)).not.toContain('{{i18n:');
  });
});

describe('entry flows of the upstream packs run their components', () => {
  const message = (text: string) => ({ id: 'm1', channel: 'webchat', session_id: 'conv-1', text, metadata: { locale: 'en' } });

  async function runEntry(name: UpstreamPackName, text: string) {
    const model = await uploadedModel(name);
    const entry = packEntryFlow(model.flows, 'messaging');
    if (!entry.ok) throw new Error(entry.message);
    const runner = runnerOf(model);
    const invoker = componentInvoker(
      () => runner,
      async () => assetReader(await loadPackAssets(testEnv.PACKS, model)),
    );
    const result = await new FlowExecutor({ packId: model.pack_id, invoker }).run(entry.flow, message(text));
    if (result.status !== 'done') throw new Error(`${name}: ${result.status}`);
    return { flow: entry.flow.id, result };
  }

  it.each(['quickstart', 'hr-onboarding', 'helpdesk-itsm'] as const)(
    '%s: every card node of the entry flow renders its card',
    async (name) => {
      const { result } = await runEntry(name, 'hi');
      expect(result.error).toBeUndefined();
      const outputs = Object.entries(result.nodeOutputs);
      expect(outputs.length).toBeGreaterThan(0);
      for (const [node, out] of outputs) {
        expect(out.ok, node).toBe(true);
        expect((out.payload as { renderedCard?: { type?: string } }).renderedCard?.type, node).toBe('AdaptiveCard');
      }
    },
  );

  it('telco-x: the presentation component answers a typed request with cards, and the next: route reaches respond_telco', async () => {
    const { result } = await runEntry('telco-x', 'port utilisation');
    expect(result.error).toBeUndefined();
    const presented = result.nodeOutputs.present_telco?.payload as { messages?: { type: string }[] };
    expect(presented.messages?.length).toBeGreaterThan(0);
    expect(result.nodeOutputs.respond_telco).toBeDefined();
  });

  it('quickstart-app: the msg2events component extracts an event and the next: route runs echo_result', async () => {
    const { flow, result } = await runEntry('quickstart-app', 'hello there');
    expect(flow).toBe('on_message');
    expect(result.error).toBeUndefined();
    expect(result.nodeOutputs.extract_event?.ok).toBe(true);
    expect(JSON.stringify(result.output)).toContain('Received: hello there');
  });
});
