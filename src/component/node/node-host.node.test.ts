import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildFixtureComponents } from '../../../test/support/fixture-components.js';
import { decodeCbor } from '../../pack/cbor.js';
import { createHostApi } from '../edge/host-policy.js';
import { payloadForInvoke } from './described-component.js';
import { directoryStore, grantsFromManifest, LOCAL_SCOPE, localGrants, memoryStore, secretsStoreFrom } from './local-stores.js';
import { type ComponentGrants, loadComponentInNode, type NodeComponent, type NodeHostOptions, readWasmFile } from './node-host.js';
import { NodeHostError } from './node-host-error.js';

const FIXTURE_MANIFEST = new URL('../../../test/fixtures/components/echo/component.manifest.json', import.meta.url);

let wasmPath = '';
let wasm: Uint8Array;
let fixtureGrants: ComponentGrants;

beforeAll(async () => {
  const built = await buildFixtureComponents({ only: ['echo'] });
  wasmPath = built.echo as string;
  wasm = await readWasmFile(wasmPath);
  fixtureGrants = grantsFromManifest(JSON.parse(await readFile(FIXTURE_MANIFEST, 'utf8')));
}, 600_000);

const opened: NodeComponent[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
});

async function load(opts: NodeHostOptions = {}): Promise<NodeComponent> {
  const c = await loadComponentInNode(wasm, wasmPath, { grants: fixtureGrants, log: () => {}, ...opts });
  opened.push(c);
  return c;
}

describe('node host: describe and invoke', () => {
  it('describe() lists the fixture operations with CBOR schemas decoded', async () => {
    const d = await (await load()).describe();
    expect(d).toMatchObject({
      abi: 'greentic:component/node@0.6.0',
      name: 'echo',
      version: '0.1.0',
      capabilities: ['host:state', 'host:secrets'],
    });
    expect(d!.ops.map((o) => o.name)).toEqual(['echo', 'count', 'recall', 'secret', 'fail', 'trap', 'spin']);
    expect(d!.ops[0]?.input).toEqual({
      content_type: 'application/cbor',
      schema: { inline_cbor: { type: 'object', properties: {}, required: [], additional: { type: 'allow' } } },
    });
  });

  it('invoke() echoes the input with the operation injected, as upstream harness does', async () => {
    const out = await (await load()).invoke('echo', { text: 'hi', n: 1.5 });
    expect(out).toEqual({
      ok: true,
      resultOk: true,
      output: {
        ok: true,
        echo: { text: 'hi', n: 1.5, operation: 'echo' },
        ctx: { tenant: 'local', env: 'dev', flow: 'local', step: 'local', attempt: 0 },
      },
    });
  });

  it('non-object input is wrapped as {input}', () => {
    expect(decodeCbor(payloadForInvoke('x', 'hello'))).toEqual({ input: 'hello', operation: 'x' });
    expect(decodeCbor(payloadForInvoke('x', { operation: 'kept' }))).toEqual({ operation: 'kept' });
  });

  it('an unknown op is answered in the output, not as an error', async () => {
    expect(await (await load()).invoke('nope', {})).toMatchObject({ ok: true, output: { ok: false, error: 'unsupported op: nope' } });
  });

  it('a node-error from the component keeps code, retryable, backoff and decoded details', async () => {
    expect(await (await load()).invoke('fail', { retryable: true })).toEqual({
      ok: false,
      error: { code: 'fixture.fail', message: 'failed on request', retryable: true, backoffMs: 250, details: { op: 'fail' } },
    });
  });

  it('a trap surfaces as NodeHostError Trap', async () => {
    const c = await load();
    await expect(c.invoke('trap', {})).rejects.toMatchObject({ code: 'Trap' });
    // A trap poisons the instance, so later calls fail too instead of running on broken state.
    await expect(c.invoke('echo', {})).rejects.toMatchObject({ code: 'Trap' });
  });
});

describe('node host: state store', () => {
  it('state written by one instance is read by the next through a state folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gc-state-'));
    const first = await load({ state: directoryStore(dir) });
    expect(await first.invoke('count', {})).toMatchObject({ output: { ok: true, count: 1 } });
    const second = await load({ state: directoryStore(dir) });
    expect(await second.invoke('count', {})).toMatchObject({ output: { ok: true, count: 2 } });
    expect(await second.invoke('recall', { key: 'counter' })).toMatchObject({ output: { ok: true, value: 2 } });
  });

  it('reading a missing key gives state.read.miss', async () => {
    expect(await (await load({ state: memoryStore() })).invoke('recall', { key: 'absent' })).toMatchObject({
      output: { ok: false, error: 'state.read.miss' },
    });
  });

  it('a write the manifest does not grant gives state.write.denied', async () => {
    const grants = { ...fixtureGrants, state: { read: true, write: false, delete: false } };
    expect(await (await load({ grants })).invoke('count', {})).toMatchObject({ output: { ok: false, error: 'state.write.denied' } });
  });

  it('a read the manifest does not grant gives state.read.denied', async () => {
    const grants = { ...fixtureGrants, state: { read: false, write: true, delete: false } };
    expect(await (await load({ grants })).invoke('recall', {})).toMatchObject({ output: { ok: false, error: 'state.read.denied' } });
  });
});

describe('node host: secrets', () => {
  it('a declared secret supplied to the run is returned', async () => {
    expect(await (await load({ secrets: { FIXTURE_TOKEN: 's3cret' } })).invoke('secret', { name: 'FIXTURE_TOKEN' })).toMatchObject({
      output: { ok: true, value: 's3cret' },
    });
  });

  it('a declared secret with no value reads as none (the edge rule)', async () => {
    expect(await (await load({ secrets: {} })).invoke('secret', { name: 'FIXTURE_TOKEN' })).toMatchObject({
      output: { ok: true, value: null },
    });
  });

  it('a supplied secret the manifest does not declare is denied', async () => {
    expect(await (await load({ secrets: { OTHER: 'x' } })).invoke('secret', { name: 'OTHER' })).toMatchObject({
      output: { ok: false, error: 'denied' },
    });
  });

  it('without a manifest exactly the supplied secrets are granted', async () => {
    const c = await load({ grants: localGrants(['OTHER']), secrets: { OTHER: 'x' } });
    expect(await c.invoke('secret', { name: 'OTHER' })).toMatchObject({ output: { ok: true, value: 'x' } });
    expect(await c.invoke('secret', { name: 'FIXTURE_TOKEN' })).toMatchObject({ output: { ok: false, error: 'denied' } });
  });

  it('a key with ".." is an invalid-key', async () => {
    expect(await (await load({ grants: localGrants([]) })).invoke('secret', { name: '../etc' })).toMatchObject({
      output: { ok: false, error: 'invalid-key' },
    });
  });
});

describe('node host: malformed input', () => {
  it('bytes without the wasm header are WasmInvalid', async () => {
    await expect(loadComponentInNode(new TextEncoder().encode('not wasm at all'), 'x.wasm')).rejects.toMatchObject({ code: 'WasmInvalid' });
  });

  it('a core module is NotAComponent', async () => {
    const core = Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    await expect(loadComponentInNode(core, 'core.wasm')).rejects.toMatchObject({ code: 'NotAComponent' });
  });

  it('a truncated component is WasmInvalid and names the file', async () => {
    const err = await loadComponentInNode(wasm.subarray(0, 4096), 'cut.wasm', { cacheDir: await mkdtemp(join(tmpdir(), 'gc-tp-')) }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NodeHostError);
    expect(err).toMatchObject({ code: 'WasmInvalid' });
    expect((err as Error).message).toContain('cut.wasm');
  });

  it('a missing file is WasmUnreadable', async () => {
    await expect(readWasmFile('/nonexistent/x.wasm')).rejects.toMatchObject({ code: 'WasmUnreadable' });
  });
});

describe('grantsFromManifest', () => {
  it('applies the edge rules: declared secret keys, state flags (delete implies write), http only with an allow-list', () => {
    const g = grantsFromManifest(
      {
        capabilities: { host: { state: { read: true, delete: true }, secrets: { required: [{ key: 'A' }] }, http: { client: true } } },
        secret_requirements: [{ key: 'B' }],
      },
      'm.json',
      ['api.example.com'],
    );
    expect(g.secrets).toEqual(['A', 'B']);
    expect(g.state).toEqual({ read: true, write: true, delete: true });
    expect(g.http?.allowHosts).toEqual(['api.example.com']);
  });

  it("applies the edge's secret write rules: put needs a writable grant and never overrides a supplied (operator) value", async () => {
    const manifest = { capabilities: { host: { secrets: { required: [{ key: 'READ_ONLY' }], writable: ['TOKEN', 'SESSION'] } } } };
    const api = createHostApi(LOCAL_SCOPE, grantsFromManifest(manifest, 'm.json'), {
      state: memoryStore(),
      secrets: secretsStoreFrom({ TOKEN: 'supplied' }),
      http: async () => new Response(null, { status: 599 }),
      telemetry: { log: () => undefined },
    });
    const bytes = (s: string) => new TextEncoder().encode(s);
    expect(await api.secretsPut('READ_ONLY', bytes('x'))).toMatchObject({ ok: false, error: { code: 'denied' } });
    expect(await api.secretsPut('TOKEN', bytes('mine'))).toMatchObject({ ok: false, error: { code: 'denied' } });
    expect(await api.secretsGet('TOKEN')).toEqual({ ok: true, value: bytes('supplied') });
    expect(await api.secretsPut('SESSION', bytes('s1'))).toEqual({ ok: true, value: null });
    expect(await api.secretsGet('SESSION')).toEqual({ ok: true, value: bytes('s1') });
    expect(localGrants(['TOKEN']).secretsWritable).toEqual([]);
  });

  it('a manifest that is not an object is ManifestInvalid', () => {
    expect(() => grantsFromManifest([], 'm.json')).toThrowError(expect.objectContaining({ code: 'ManifestInvalid' }) as Error);
  });
});
