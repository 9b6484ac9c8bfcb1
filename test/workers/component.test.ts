import { env, exports } from 'cloudflare:workers';
import { afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { ensureComponentArtifacts, loadArtifacts } from '../../src/component/edge/artifact-store.js';
import { EdgeTranspiler } from '../../src/component/edge/edge-transpiler.js';
import { type HostProps, HostTarget } from '../../src/component/edge/host-entrypoint.js';
import { componentSecretKey, operatorSecretKey, type TenantPolicy } from '../../src/component/edge/host-policy.js';
import { componentInvoker } from '../../src/component/edge/invoker.js';
import { type PackComponent, packIsolateModules } from '../../src/component/edge/pack-isolate-modules.js';
import { ComponentRunner } from '../../src/component/edge/runner.js';
import { edgeComponentRunner, transpilePackComponents } from '../../src/component/edge/worker-wiring.js';
import { ISOLATE_RUNTIME, ISOLATE_RUNTIME_WASI } from '../../src/component/generated/isolate-modules.js';
import type { HostApi } from '../../src/component/isolate/protocol.js';
import { ComponentError, transpileComponent } from '../../src/component/upload/transpile.js';
import { readSecretObject } from '../../src/edge/secret-objects.js';
import type { Env } from '../../src/env.js';

const bindings = env as unknown as Env;
const hostExports = exports as unknown as { ComponentHost(opts: { props: HostProps }): HostApi };
const fixtures = inject('componentFixtures');
const bytes = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
const nodeFixture = bytes(fixtures.node);
const wasiFixture = bytes(fixtures.wasi);
const runtimeFixture = bytes(fixtures.runtime);
const fsFixture = bytes(fixtures.fs);
const legacyFixture = bytes(fixtures.legacy);
const http10Fixture = bytes(fixtures.http10);

let nodeSha = '';
let wasiSha = '';
let runtimeSha = '';
let fsSha = '';
let legacySha = '';
let http10Sha = '';
let packSeq = 0;

const allCaps: PackComponent['manifest'] = {
  capabilities: {
    host: {
      state: { read: true, write: true, delete: true },
      secrets: { required: [{ key: 'API_TOKEN' }], writable: ['API_TOKEN'] },
      http: { client: true },
    },
  },
};

type HostKind = 'ctx.exports ComponentHost' | 'RpcTarget HostTarget';
const hostFactories: Record<HostKind, (props: HostProps) => HostApi> = {
  'ctx.exports ComponentHost': (props) => hostExports.ComponentHost({ props }),
  'RpcTarget HostTarget': (props) => new HostTarget(props, bindings),
};

function baseRunner(
  opts: {
    tenant?: string;
    manifest?: PackComponent['manifest'];
    policy?: TenantPolicy;
    digest?: string;
    host?: HostKind;
    glue?: boolean;
  } = {},
): ComponentRunner {
  const digest = opts.digest ?? `test-pack-${++packSeq}`;
  return new ComponentRunner(
    {
      packId: 'fixtures',
      digest,
      components: [
        { id: 'fixture', sha256: nodeSha, manifest: opts.manifest ?? allCaps },
        { id: 'wasi', sha256: wasiSha },
        { id: 'runtime', sha256: runtimeSha },
        {
          id: 'fs',
          sha256: fsSha,
          manifest: {
            capabilities: {
              wasi: { filesystem: { mode: 'read_only', mounts: [{ name: 'assets', host_class: 'assets', guest_path: '/assets' }] } },
            },
          },
        },
        { id: 'fs-none', sha256: fsSha },
        { id: 'legacy', sha256: legacySha },
        { id: 'http10', sha256: http10Sha, manifest: opts.manifest ?? allCaps },
      ],
      // CBOR text "card" and CBOR {"a": 1}
      assets: { 'hello.cbor': new Uint8Array([0x64, 0x63, 0x61, 0x72, 0x64]), 'cards/a.cbor': new Uint8Array([0xa1, 0x61, 0x61, 0x01]) },
    },
    {
      loader: bindings.LOADER,
      bucket: bindings.PACKS,
      host: hostFactories[opts.host ?? 'ctx.exports ComponentHost'],
      env: 'dev',
      tenant: opts.tenant ?? 'acme',
      team: 'support',
      tenantPolicy: opts.policy ?? { httpAllowHosts: ['api.allowed.test'] },
      cpuMs: 50,
      forceGlue: opts.glue,
    },
  );
}

const runner = baseRunner;
const call = (op: string, input: unknown = {}) => ({ component: 'fixture', op, input, flowId: 'main', stepId: 'n1' });

beforeAll(async () => {
  if (fixtures.error) throw new Error(fixtures.error);
  const transpiler = new EdgeTranspiler(bindings.LOADER);
  nodeSha = (await ensureComponentArtifacts(bindings.PACKS, nodeFixture, transpiler)).descriptor.sha256;
  wasiSha = (await ensureComponentArtifacts(bindings.PACKS, wasiFixture, transpiler)).descriptor.sha256;
  runtimeSha = (await ensureComponentArtifacts(bindings.PACKS, runtimeFixture, transpiler)).descriptor.sha256;
  fsSha = (await ensureComponentArtifacts(bindings.PACKS, fsFixture, transpiler)).descriptor.sha256;
  legacySha = (await ensureComponentArtifacts(bindings.PACKS, legacyFixture, transpiler)).descriptor.sha256;
  http10Sha = (await ensureComponentArtifacts(bindings.PACKS, http10Fixture, transpiler)).descriptor.sha256;
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('transpile at the edge', () => {
  it('stores artifacts under components/<sha256>/ and does not transpile the same digest twice', async () => {
    const transpiler = new EdgeTranspiler(bindings.LOADER);
    const spy = vi.spyOn(transpiler, 'generate');
    const again = await ensureComponentArtifacts(bindings.PACKS, nodeFixture, transpiler);
    expect(again.transpiled).toBe(false);
    expect(spy).not.toHaveBeenCalled();
    expect(again.descriptor).toMatchObject({ sha256: nodeSha, dialect: 'node@0.6.0', exportName: 'greentic:component/node@0.6.0' });
    const listed = await bindings.PACKS.list({ prefix: `components/${nodeSha}/` });
    expect(listed.objects.map((o) => o.key.split('/').pop()).sort()).toEqual(
      ['descriptor.json', again.descriptor.glue, ...again.descriptor.coreModules].sort(),
    );
  });

  it('artifacts stored before instantiation plans were recorded are transpiled again on upload and gain the plan', async () => {
    const key = `components/${wasiSha}/descriptor.json`;
    const stored = (await (await bindings.PACKS.get(key))!.json()) as Record<string, unknown>;
    expect(stored.plan).toMatchObject({ modules: expect.any(Array), graph: { modules: 3 } });
    await bindings.PACKS.put(key, JSON.stringify({ ...stored, plan: undefined }));
    const again = await ensureComponentArtifacts(bindings.PACKS, wasiFixture, new EdgeTranspiler(bindings.LOADER));
    expect(again.transpiled).toBe(true);
    expect(again.descriptor.plan).toEqual(stored.plan);
  });

  it('rejects a malformed component with a clear error and keeps transpiling afterwards', async () => {
    const transpiler = new EdgeTranspiler(bindings.LOADER);
    const garbage = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00, 0x07, 0xff, 0xff, 0xff]);
    await expect(ensureComponentArtifacts(bindings.PACKS, garbage, transpiler)).rejects.toMatchObject({
      code: 'component.transpile-failed',
    });
    await expect(ensureComponentArtifacts(bindings.PACKS, new Uint8Array([1, 2, 3]), transpiler)).rejects.toBeInstanceOf(ComponentError);
    // Same component plus a custom section: a new digest that must still transpile.
    const tag = [...new TextEncoder().encode('variant')];
    const variant = new Uint8Array([...nodeFixture, 0x00, tag.length + 1, tag.length, ...tag]);
    const res = await ensureComponentArtifacts(bindings.PACKS, variant, transpiler);
    expect(res.transpiled).toBe(true);
  });
});

describe('Worker wiring', () => {
  it('transpilePackComponents names the failing component; edgeComponentRunner runs a prepared pack', async () => {
    await expect(transpilePackComponents(bindings, [{ id: 'broken', wasm: new Uint8Array([1, 2, 3]) }])).rejects.toThrow(
      /component "broken"/,
    );
    const [prepared] = await transpilePackComponents(bindings, [{ id: 'fixture', wasm: nodeFixture }]);
    expect(prepared).toEqual({ id: 'fixture', sha256: nodeSha, dialect: 'node@0.6.0', transpiled: false });
    const r = edgeComponentRunner(
      bindings,
      { packId: 'wired', digest: `wired-${Date.now()}`, components: [{ id: 'fixture', sha256: nodeSha, manifest: allCaps }] },
      {
        tenant: 'acme',
        tenantPolicy: { httpAllowHosts: [] },
      },
    );
    expect(await r.invoke(call('w:wired', { v: 1 }))).toMatchObject({ ok: true });
    expect(await r.invoke(call('r:wired'))).toMatchObject({ ok: true, output: { v: 1 } });
    expect(await r.invoke(call('loop'))).toMatchObject({ ok: false, error: { code: 'timeout' } });
  });
});

describe('node@0.6.0 components in a Dynamic Worker', () => {
  it('describe returns the component descriptor', async () => {
    const res = await runner().describe('fixture');
    expect(res.ok).toBe(true);
    expect(res.descriptor).toMatchObject({ name: 'fixture', version: '0.1.0', capabilities: [], ops: [] });
  });

  it('invoke round-trips canonical CBOR payloads', async () => {
    const input = { hello: 'world', n: 3, list: [1, 'two', { three: true }] };
    const res = await runner().invoke(call('echo', input));
    expect(res).toMatchObject({ ok: true, output: input });
  });

  it('a node-error keeps its code, retryable flag and backoff', async () => {
    const res = await runner().invoke(call('fail'));
    expect(res).toMatchObject({ ok: false, error: { code: 'fail', message: 'asked to fail', retryable: true, backoffMs: 250 } });
  });

  it('plugs into the flow executor as a ComponentInvoker', async () => {
    const r = runner();
    const invoker = componentInvoker(() => r);
    const ctx = { packId: 'fixtures', flowId: 'main', nodeId: 'n1', attempt: 1, resumed: false };
    expect(await invoker.invoke({ kind: 'component', id: 'fixture', config: { a: 1 } }, 'echo', { text: 'hi' }, ctx)).toEqual({
      ok: true,
      output: { text: 'hi', config: { a: 1 } },
    });
    expect(await invoker.invoke({ kind: 'component', id: 'fixture' }, 'fail', 'x', ctx)).toMatchObject({
      ok: false,
      error: { code: 'fail', retryable: true, backoffMs: 250 },
    });
  });

  it('an infinite loop is stopped by the CPU budget with code timeout, and the next call works', async () => {
    const r = runner();
    const res = await r.invoke(call('loop'));
    expect(res).toMatchObject({ ok: false, error: { code: 'timeout', retryable: false } });
    expect(await r.invoke(call('echo', { after: 'loop' }))).toMatchObject({ ok: true, output: { after: 'loop' } });
  });

  it('a trap becomes a node error and the next invocation gets a fresh instance', async () => {
    const r = runner();
    const res = await r.invoke(call('trap'));
    expect(res).toMatchObject({ ok: false, error: { code: 'trap' } });
    expect(await r.invoke(call('echo', { after: 'trap' }))).toMatchObject({ ok: true, output: { after: 'trap' } });
  });

  it('allocating until memory runs out becomes a node error and the next invocation works', async () => {
    const r = runner();
    const res = await r.invoke(call('oom'));
    expect(res.ok).toBe(false);
    expect(await r.invoke(call('echo', { after: 'oom' }))).toMatchObject({ ok: true, output: { after: 'oom' } });
  });

  for (const glue of [false, true]) {
    it(`a manifest memory limit (resources.memory_mb) makes memory.grow past it fail, and the same call succeeds without one${glue ? ' (through jco glue)' : ''}`, async () => {
      const limited = runner({ manifest: { ...allCaps, resources: { memory_mb: 8 } }, glue });
      expect(await limited.invoke(call('m', { grew: 16 }))).toMatchObject({ ok: false, error: { code: 'trap', retryable: false } });
      expect(await limited.invoke(call('echo', { after: 'm' }))).toMatchObject({ ok: true, output: { after: 'm' } });
      expect(await runner({ glue }).invoke(call('m', { grew: 16 }))).toMatchObject({ ok: true, output: { grew: 16 } });
    });
  }

  it('limits.memory_mb of component.manifest.json caps memory too, and the smaller of the two limits wins', async () => {
    const tighter = runner({ manifest: { ...allCaps, limits: { memory_mb: 8 }, resources: { memory_mb: 64 } } });
    expect(await tighter.invoke(call('m'))).toMatchObject({ ok: false, error: { code: 'trap' } });
    const roomy = runner({ manifest: { ...allCaps, limits: { memory_mb: 64 }, resources: { memory_mb: 32 } } });
    expect(await roomy.invoke(call('m', { grew: 16 }))).toMatchObject({ ok: true, output: { grew: 16 } });
  });

  it("a component whose memory starts above its limit fails with oom, and the pack's other components still run", async () => {
    // The fixture's memory starts at 2 pages (128 KiB); a limit of 1 page cannot hold it.
    const r = runner({ manifest: { ...allCaps, resources: { memory_mb: 1 / 16 } } });
    const res = await r.invoke(call('echo', { x: 1 }));
    expect(res).toMatchObject({ ok: false, error: { code: 'oom', retryable: false } });
    expect((res as { error: { message: string } }).error.message).toBe(
      'component fixture cannot run: its memory starts at 0.13 MiB, above its limit of 0.06 MiB',
    );
    expect(await r.invoke({ component: 'wasi', op: 'print', input: {}, flowId: 'f', stepId: 's' })).toMatchObject({ ok: true });
  });

  it('stdout becomes structured log lines returned with the result', async () => {
    const res = await runner().invoke({ component: 'wasi', op: 'print', input: {}, flowId: 'f', stepId: 's' });
    expect(res).toMatchObject({ ok: true, output: null, logs: [{ stream: 'stdout', line: 'hello from wasi' }] });
  });

  it('wasi:cli/exit becomes a node error with code exit, and the next call works', async () => {
    const r = runner();
    expect(await r.invoke({ component: 'wasi', op: 'x', input: {}, flowId: 'f', stepId: 's' })).toMatchObject({
      ok: false,
      error: { code: 'exit', retryable: false },
    });
    expect(await r.invoke({ component: 'wasi', op: 'print', input: {}, flowId: 'f', stepId: 's' })).toMatchObject({ ok: true });
  });

  it('a component importing WASI 0.2.0, 0.2.1 and 0.2.3 interfaces runs with clocks and random', async () => {
    const before = Math.floor(Date.now() / 1000);
    const res = await runner().invoke({ component: 'wasi', op: 'run', input: {}, flowId: 'f', stepId: 's' });
    // invoke on the direct path while jco's glue serves the WASI imports (the Rust wasip2 shape).
    expect(res).toMatchObject({ ok: true, via: 'direct' });
    const out = (res as { output: Uint8Array }).output;
    expect(out).toBeInstanceOf(Uint8Array);
    const seconds = Number(new DataView(out.buffer, out.byteOffset).getBigUint64(8, true));
    expect(seconds).toBeGreaterThanOrEqual(before);
    expect(seconds).toBeLessThanOrEqual(before + 60);
  });
});

describe('WASI filesystem', () => {
  it('a component with a read_only mount reads pack assets under /assets', async () => {
    const r = runner();
    const inv = (component: string, op: string) => r.invoke({ component, op, input: {}, flowId: 'f', stepId: 's' });
    expect(await inv('fs', 'hello.cbor')).toMatchObject({ ok: true, output: 'card' });
    expect(await inv('fs', 'cards/a.cbor')).toMatchObject({ ok: true, output: { a: 1 } });
    expect(await inv('fs', 'missing.cbor')).toMatchObject({ ok: false, error: { code: 'fs' } });
    expect(await inv('fs', '../../etc/passwd')).toMatchObject({ ok: false, error: { code: 'fs' } });
  });

  it("a component without a filesystem capability still reads the pack's assets at /assets, as upstream preopens them for every component", async () => {
    expect(await runner().invoke({ component: 'fs-none', op: 'hello.cbor', input: {}, flowId: 'f', stepId: 's' })).toMatchObject({
      ok: true,
      output: 'card',
    });
  });
});

describe('other ABI dialects', () => {
  it('detects the descriptor world (component-runtime@0.6.0) and runs it with CBOR in and out', async () => {
    const r = runner();
    const res = await r.invoke({ component: 'runtime', op: 'run', input: { text: 'via run' }, flowId: 'f', stepId: 's' });
    expect(res).toMatchObject({ ok: true, output: { text: 'via run' } });
    const d = await r.describe('runtime');
    expect(d.ok).toBe(true);
    expect(Array.from(d.describeCbor ?? [])).toEqual([0xa1, 0x62, 0x69, 0x64, 0x62, 0x72, 0x74]);
  });

  it('runs a legacy JSON node@0.4.0 component: JSON in and out, err(node-error) with JSON details', async () => {
    const r = runner();
    const inv = (op: string, input: unknown) => r.invoke({ component: 'legacy', op, input, flowId: 'f', stepId: 's' });
    expect(await inv('echo', { text: 'json', n: [1, 2] })).toMatchObject({ ok: true, output: { text: 'json', n: [1, 2] } });
    expect(await inv('fail', {})).toMatchObject({
      ok: false,
      error: { code: 'fail', message: 'legacy fail', retryable: true, backoffMs: 100, details: { x: 1 } },
    });
    const d = await r.describe('legacy');
    expect(JSON.parse(d.describeJson ?? 'null')).toEqual({ name: 'legacy' });
  });

  it('a component exporting no known Greentic ABI is rejected with the exports it has', async () => {
    const generator = {
      generate: async () => ({
        ok: true,
        files: [['component.js', new Uint8Array()]] as [string, Uint8Array][],
        exports: [['wasi:cli/run@0.2.0', 'instance']] as [string, string][],
      }),
    };
    await expect(transpileComponent(wasiFixture, generator)).rejects.toMatchObject({
      code: 'component.abi-unsupported',
      message: expect.stringContaining('wasi:cli/run@0.2.0'),
    });
  });
});

describe('the direct canonical-ABI path', () => {
  it('node@0.6.0 invoke and its host imports run on the direct path, not through the glue', async () => {
    const r = runner({ host: 'RpcTarget HostTarget' });
    expect(await r.invoke(call('echo', { a: 1 }))).toMatchObject({ ok: true, via: 'direct' });
    expect(await r.invoke(call('w:direct', { b: 2 }))).toMatchObject({ ok: true, via: 'direct' });
    expect(await r.invoke(call('r:direct'))).toMatchObject({ ok: true, output: { b: 2 }, via: 'direct' });
    expect(await runner({ glue: true }).invoke(call('echo', { a: 1 }))).toMatchObject({ ok: true, via: 'glue' });
  });

  it('a component importing only Greentic host functions is loaded without jco glue: its isolate holds the main core module alone', async () => {
    const art = await loadArtifacts(bindings.PACKS, nodeSha);
    expect(art.descriptor.coreModules.length).toBeGreaterThan(1);
    const modules = packIsolateModules([{ component: { id: 'fixture', sha256: nodeSha }, art }], { glue: false });
    expect(Object.keys(modules).sort()).toEqual(['c0/component.core.wasm', 'main.js', 'runtime.js']);
    expect(modules['main.js']).toContain('"directMain":"component.core.wasm"');
    // The lean runtime: no WASI implementation or plan executor to parse in this pack's isolate.
    expect(modules['runtime.js']).toBe(ISOLATE_RUNTIME);
    expect(ISOLATE_RUNTIME.length).toBeLessThan(ISOLATE_RUNTIME_WASI.length);
    expect(modules['main.js']).not.toContain(art.descriptor.glue);
    // The glue isolate (describe, forceGlue) gets the glue and every core module.
    const withGlue = packIsolateModules([{ component: { id: 'fixture', sha256: nodeSha }, art }], { glue: true });
    expect(Object.keys(withGlue).sort()).toEqual(
      ['main.js', 'runtime.js', `c0/${art.descriptor.glue}`, ...art.descriptor.coreModules.map((m) => `c0/${m}`)].sort(),
    );
  });

  it('a component importing WASI is loaded without jco glue from its instantiation plan: its isolate holds the main core module, no shim, fixup or glue', async () => {
    const art = await loadArtifacts(bindings.PACKS, wasiSha);
    expect([...art.descriptor.plan!.modules].sort()).toEqual([...art.descriptor.coreModules].sort());
    const modules = packIsolateModules([{ component: { id: 'wasi', sha256: wasiSha }, art }], { glue: false });
    // wit-component's shim and fixup only route imports through a table; the plan hands them over directly.
    expect(Object.keys(modules).sort()).toEqual(['c0/component.core.wasm', 'main.js', 'runtime.js']);
    expect(modules['main.js']).toContain('"plan":{"graph":');
    expect(modules['main.js']).not.toContain('directMain');
    expect(modules['runtime.js']).toBe(ISOLATE_RUNTIME_WASI);
    expect(await runner().invoke({ component: 'wasi', op: 'now', input: {}, flowId: 'f', stepId: 's' })).toMatchObject({
      ok: true,
      via: 'direct',
    });
  });

  it('a WASI component whose artifacts carry no plan, or whose plan lowers a function the isolate does not serve, keeps its jco glue', async () => {
    const art = await loadArtifacts(bindings.PACKS, wasiSha);
    const unplanned = { ...art, descriptor: { ...art.descriptor, plan: undefined } };
    const graph = art.descriptor.plan!.graph;
    const sockets = {
      ...art,
      descriptor: {
        ...art.descriptor,
        plan: {
          ...art.descriptor.plan!,
          graph: { ...graph, funcs: [...graph.funcs, { kind: 'lower' as const, fn: 'wasi:sockets/tcp@0.2.0#[method]tcp-socket.connect' }] },
        },
      },
    };
    for (const variant of [unplanned, sockets]) {
      const modules = packIsolateModules([{ component: { id: 'wasi', sha256: wasiSha }, art: variant }], { glue: false });
      expect(Object.keys(modules)).toContain(`c0/${art.descriptor.glue}`);
      expect(modules['main.js']).not.toContain('"plan"');
      // The glue serves WASI from the WASI runtime.
      expect(modules['runtime.js']).toBe(ISOLATE_RUNTIME_WASI);
    }
  });

  it('a glue-free pack isolate is built without reading the glue from R2; the glue isolate (describe) needs it', async () => {
    // A copy of the WASI fixture under its own digest (one extra custom section), glue deleted.
    const tag = [...new TextEncoder().encode('no-glue')];
    const copy = new Uint8Array([...wasiFixture, 0x00, tag.length + 1, tag.length, ...tag]);
    const { descriptor } = await ensureComponentArtifacts(bindings.PACKS, copy, new EdgeTranspiler(bindings.LOADER));
    await bindings.PACKS.delete(`components/${descriptor.sha256}/${descriptor.glue}`);
    const r = new ComponentRunner(
      { packId: 'no-glue', digest: `no-glue-${++packSeq}`, components: [{ id: 'w', sha256: descriptor.sha256 }] },
      {
        loader: bindings.LOADER,
        bucket: bindings.PACKS,
        host: hostFactories['RpcTarget HostTarget'],
        env: 'dev',
        tenant: 'acme',
        tenantPolicy: { httpAllowHosts: [] },
      },
    );
    expect(await r.invoke({ component: 'w', op: 'print', input: {}, flowId: 'f', stepId: 's' })).toMatchObject({
      ok: true,
      via: 'direct',
      logs: [{ line: 'hello from wasi' }],
    });
    await expect(r.describe('w')).rejects.toThrow(/incomplete artifacts/);
  });

  it('WASI components give the same outputs, logs and node errors without glue as through jco glue', async () => {
    const ops: [string, string][] = [
      ['wasi', 'print'],
      ['wasi', 'x'],
      ['wasi', 'print'],
      ['fs', 'hello.cbor'],
      ['fs', 'cards/a.cbor'],
      ['fs', 'missing.cbor'],
      ['fs', '../../etc/passwd'],
      ['fs-none', 'hello.cbor'],
    ];
    const results: Record<string, unknown[]> = {};
    for (const path of ['direct', 'glue'] as const) {
      const r = runner({ glue: path === 'glue' });
      results[path] = [];
      for (const [component, op] of ops) {
        const res = await r.invoke({ component, op, input: {}, flowId: 'f', stepId: 's' });
        results[path]!.push(
          res.ok ? { ok: true, output: res.output, logs: res.logs, via: res.via } : { ok: false, error: res.error, logs: res.logs },
        );
      }
    }
    const strip = (xs: unknown[]) => xs.map((x) => ({ ...(x as object), via: undefined }));
    expect(strip(results.direct!)).toEqual(strip(results.glue!));
    expect(results.direct!.filter((x) => (x as { via?: string }).via === 'direct')).toHaveLength(
      results.direct!.filter((x) => (x as { ok: boolean }).ok).length,
    );
    expect(results.direct![0]).toMatchObject({ ok: true, logs: [{ stream: 'stdout', line: 'hello from wasi' }] });
    expect(results.direct![1]).toMatchObject({ ok: false, error: { code: 'exit' } });
    expect(results.direct![3]).toMatchObject({ ok: true, output: 'card' });
  });

  it('describe of a component loaded without glue is answered by the pack glue isolate, and invoke keeps working', async () => {
    const r = runner();
    expect(await r.invoke(call('echo', { a: 1 }))).toMatchObject({ ok: true, output: { a: 1 }, via: 'direct' });
    const d = await r.describe('fixture');
    expect(d.ok).toBe(true);
    expect(await r.invoke(call('echo', { a: 2 }))).toMatchObject({ ok: true, output: { a: 2 }, via: 'direct' });
  });

  it('gives the same outputs, node errors and host results as jco glue for every fixture operation', async () => {
    const scope = (tenant: string) => ({ env: 'dev', tenant, team: 'support', pack: 'fixtures', component: 'fixture' });
    vi.spyOn(globalThis, 'fetch').mockImplementation(async () => new Response(new Uint8Array([0x62, 0x6f, 0x6b]), { status: 200 }));
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const ops: [string, unknown][] = [
      ['echo', { text: 'grüße ✓', n: -3, big: 2 ** 40, list: [1, 'two', { three: true }], bytes: new Uint8Array([0, 255]) }],
      ['echo', ''],
      ['fail', {}],
      ['w:k1', { count: 7 }],
      ['r:k1', {}],
      ['d:k1', {}],
      ['r:k1', {}],
      ['k:API_TOKEN', {}],
      ['k:OTHER', {}],
      ['h:https://api.allowed.test/v1', {}],
      ['h:https://evil.example/', {}],
      ['g:hello', {}],
    ];
    const results: Record<string, unknown[]> = {};
    for (const [path, tenant] of [
      ['direct', 'abi-direct'],
      ['glue', 'abi-glue'],
    ] as const) {
      await bindings.PACKS.put(operatorSecretKey(scope(tenant), 'API_TOKEN'), new Uint8Array([0x63, 0x61, 0x62, 0x63]));
      const r = runner({ host: 'RpcTarget HostTarget', tenant, glue: path === 'glue' });
      results[path] = [];
      for (const [op, input] of ops) {
        const res = await r.invoke(call(op, input));
        results[path]!.push(res.ok ? { ok: true, output: res.output, via: res.via } : { ok: false, error: res.error });
      }
    }
    // Each path runs as its own tenant (separate state); host messages name it.
    const strip = (xs: unknown[]) =>
      xs
        .map((x) => ({ ...(x as object), via: undefined }))
        .map(
          (x) =>
            JSON.parse(
              JSON.stringify(x, (_k, v: unknown) => (typeof v === 'string' ? v.replace(/abi-(direct|glue)/g, 'T') : v)),
            ) as unknown,
        );
    expect(strip(results.direct!)).toEqual(strip(results.glue!));
    expect(results.direct!.filter((x) => (x as { via?: string }).via === 'direct')).toHaveLength(
      results.direct!.filter((x) => (x as { ok: boolean }).ok).length,
    );
    expect(results.direct![2]).toMatchObject({ ok: false, error: { code: 'fail', retryable: true, backoffMs: 250 } });
  });
});

const hostPaths: [HostKind, 'direct' | 'glue'][] = [
  ['RpcTarget HostTarget', 'direct'],
  ['RpcTarget HostTarget', 'glue'],
  ['ctx.exports ComponentHost', 'direct'],
];

describe.each(hostPaths)('host imports through %s (%s ABI path)', (host, path) => {
  const runner = (opts: Parameters<typeof baseRunner>[0] = {}) => baseRunner({ ...opts, glue: path === 'glue' });
  it('state write then read round-trips through the state store', async () => {
    const r = runner({ host });
    const value = { count: 7 };
    expect(await r.invoke(call('w:counter', value))).toMatchObject({ ok: true });
    expect(await r.invoke(call('r:counter'))).toMatchObject({ ok: true, output: value });
    expect(await r.invoke(call('d:counter'))).toMatchObject({ ok: true });
    expect(await r.invoke(call('r:counter'))).toMatchObject({ ok: false, error: { code: 'state.read.miss' } });
  });

  it('state operations the manifest does not grant are denied with upstream codes', async () => {
    const r = runner({ host, manifest: { capabilities: { host: { state: { read: false, write: false } } } } });
    expect(await r.invoke(call('r:x'))).toMatchObject({ ok: false, error: { code: 'state.read.denied' } });
    expect(await r.invoke(call('w:x', 1))).toMatchObject({ ok: false, error: { code: 'state.write.denied' } });
    expect(await r.invoke(call('d:x'))).toMatchObject({ ok: false, error: { code: 'state.delete.denied' } });
  });

  it('secrets: a declared key the tenant has is readable; an undeclared key is denied', async () => {
    const scope = { env: 'dev', tenant: 'acme', team: 'support', pack: 'fixtures', component: 'fixture' };
    await bindings.PACKS.put(operatorSecretKey(scope, 'API_TOKEN'), new Uint8Array([0x63, 0x61, 0x62, 0x63]));
    await bindings.PACKS.put(operatorSecretKey(scope, 'OTHER'), new Uint8Array([0x61, 0x78]));
    const r = runner({ host });
    expect(await r.invoke(call('k:API_TOKEN'))).toMatchObject({ ok: true, output: 'abc' });
    expect(await r.invoke(call('k:OTHER'))).toMatchObject({ ok: false, error: { code: 'denied' } });
  });

  it('secrets-store 1.1: put stores a writable key for the team and get reads it back; an undeclared key is denied', async () => {
    const tenant = `writer-${++packSeq}`;
    const r = runner({ host, tenant });
    const http10 = (op: string, input: unknown = {}) => r.invoke({ ...call(op, input), component: 'http10' });
    expect(await http10('G:API_TOKEN')).toMatchObject({ ok: true, output: null });
    expect(await http10('P:API_TOKEN', 'rotated')).toMatchObject({ ok: true });
    expect(await http10('G:API_TOKEN')).toMatchObject({ ok: true, output: 'rotated' });
    // Written in the team's component namespace, which the 1.0 reader of the same pack also reads.
    expect(await r.invoke(call('k:API_TOKEN'))).toMatchObject({ ok: true, output: 'rotated' });
    const scope = { env: 'dev', tenant, team: 'support', pack: 'fixtures', component: 'http10' };
    expect(await bindings.PACKS.head(operatorSecretKey(scope, 'API_TOKEN'))).toBeNull();
    expect(await readSecretObject(bindings.PACKS, bindings.SECRETS_ENCRYPTION_KEYS, componentSecretKey(scope, 'API_TOKEN'))).toEqual(
      new Uint8Array([0x67, ...new TextEncoder().encode('rotated')]),
    );
    expect(await http10('P:OTHER', 'x')).toMatchObject({ ok: false, error: { code: 'denied' } });
    expect(await http10('G:OTHER')).toMatchObject({ ok: false, error: { code: 'denied' } });
    expect(await runner({ host, tenant: `${tenant}-b` }).invoke({ ...call('G:API_TOKEN'), component: 'http10' })).toMatchObject({
      ok: true,
      output: null,
    });
  });

  it('http-client 1.1 and 1.0 reach only hosts on the tenant allow-list', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch').mockImplementation(async (req) => {
      const url = new URL(req instanceof Request ? req.url : String(req));
      return new Response(new Uint8Array([0x62, 0x6f, 0x6b]), { status: 200, headers: { 'x-host': url.hostname } });
    });
    const r = runner({ host });
    expect(await r.invoke(call('h:https://api.allowed.test/v1'))).toMatchObject({ ok: true, output: 'ok' });
    const http10 = (op: string) => r.invoke({ ...call(op), component: 'http10' });
    expect(await http10('H:https://api.allowed.test/v1.0')).toMatchObject({ ok: true, output: 'ok' });
    expect(await r.invoke(call('h:https://evil.example/steal'))).toMatchObject({ ok: false, error: { code: 'denied' } });
    expect(await http10('H:https://evil.example/steal')).toMatchObject({ ok: false, error: { code: 'denied' } });
    expect(fetchSpy).toHaveBeenCalledTimes(2);
  });

  it('http-client is denied when the manifest does not request it', async () => {
    const r = runner({ host, manifest: { capabilities: { host: {} } } });
    expect(await r.invoke(call('h:https://api.allowed.test/v1'))).toMatchObject({ ok: false, error: { code: 'denied' } });
  });

  it('telemetry log fields reach the parent as one structured log line naming the component', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
    expect(await runner({ host }).invoke(call('g:hello telemetry'))).toMatchObject({ ok: true });
    const entry = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.source === 'component');
    expect(entry).toMatchObject({ tenant: 'acme', pack: 'fixtures', component: 'fixture', fields: { msg: 'hello telemetry' } });
  });

  it("tenant A's component cannot read tenant B's state or secrets", async () => {
    const digest = `shared-pack-${Date.now()}`;
    const a = runner({ host, tenant: 'tenant-a', digest });
    const b = runner({ host, tenant: 'tenant-b', digest });
    expect(await b.invoke(call('w:private', { owner: 'b' }))).toMatchObject({ ok: true });
    expect(await a.invoke(call('r:private'))).toMatchObject({ ok: false, error: { code: 'state.read.miss' } });
    const scopeB = { env: 'dev', tenant: 'tenant-b', pack: 'fixtures', component: 'fixture' };
    await bindings.PACKS.put(operatorSecretKey(scopeB, 'API_TOKEN'), new Uint8Array([0x61, 0x62]));
    expect(await b.invoke(call('k:API_TOKEN'))).toMatchObject({ ok: true, output: 'b' });
    expect(await a.invoke(call('k:API_TOKEN'))).toMatchObject({ ok: true, output: null });
  });
});
