import { describe, expect, it } from 'vitest';
import {
  componentSecretKey,
  createHostApi,
  formerComponentSecretKey,
  grantsFor,
  type HostStores,
  hostAllowed,
  MAX_SECRET_BYTES,
  MAX_STATE_VALUE_BYTES,
  operatorSecretKey,
  stateStorageKey,
} from '../../src/component/edge/host-policy.js';
import { FUEL_EXPORT, meterCoreModule } from '../../src/component/wasm/fuel.js';
import { capCoreModuleMemory, MemoryLimitError } from '../../src/component/wasm/memory-cap.js';
import { WasmRewriteError } from '../../src/component/wasm/reader.js';
import type { Env } from '../../src/env.js';
import { memoryKeyValueStore } from '../support/memory-stores.js';

function stores(http: HostStores['http'] = async () => new Response('x')): HostStores & {
  state: ReturnType<typeof memoryKeyValueStore>;
  secrets: ReturnType<typeof memoryKeyValueStore>;
  logged: [string, string][][];
} {
  const logged: [string, string][][] = [];
  return { state: memoryKeyValueStore(), secrets: memoryKeyValueStore(), http, telemetry: { log: (_s, f) => void logged.push(f) }, logged };
}

const scope = { env: 'dev', tenant: 'acme', team: 'support', pack: 'p1', component: 'c1' };
const bytes = (s: string) => new TextEncoder().encode(s);

describe('grantsFor', () => {
  it('reads state flags, declared secrets and http from the manifest; delete implies write', () => {
    const g = grantsFor(
      {
        capabilities: { host: { state: { read: true, delete: true }, secrets: { required: [{ key: 'B' }] }, http: { client: true } } },
        secret_requirements: [{ key: 'A' }],
      },
      { httpAllowHosts: ['api.example.com'], httpTimeoutMs: 90_000 },
    );
    expect(g.state).toEqual({ read: true, write: true, delete: true });
    expect(g.secrets).toEqual(['A', 'B']);
    expect(g.secretsWritable).toEqual([]);
    expect(g.http).toEqual({ allowHosts: ['api.example.com'], defaultTimeoutMs: 60_000, maxTimeoutMs: 60_000 });
  });

  it('an empty manifest grants no state, no secrets and no http', () => {
    const g = grantsFor({}, { httpAllowHosts: ['x.test'] });
    expect(g).toMatchObject({ secrets: [], secretsWritable: [], state: { read: false, write: false, delete: false }, http: null });
  });

  it('only keys listed in capabilities.host.secrets.writable may be put; a writable key is also readable', () => {
    const g = grantsFor(
      { capabilities: { host: { secrets: { required: [{ key: 'A' }], writable: ['W', 'W'] } } } },
      { httpAllowHosts: [] },
    );
    expect(g.secrets).toEqual(['A', 'W']);
    expect(g.secretsWritable).toEqual(['W']);
  });
});

describe('createHostApi', () => {
  it('keys state by env/tenant/team/pack so two scopes never share a key', async () => {
    const s = stores();
    const api = createHostApi(
      scope,
      grantsFor({ capabilities: { host: { state: { read: true, write: true } } } }, { httpAllowHosts: [] }),
      s,
    );
    expect(await api.stateWrite('k', bytes('v'))).toEqual({ ok: true, value: null });
    expect([...s.state.data.keys()]).toEqual([stateStorageKey(scope, 'k')]);
    expect(stateStorageKey(scope, 'k')).not.toBe(stateStorageKey({ ...scope, tenant: 'other' }, 'k'));
    expect(stateStorageKey(scope, 'k')).not.toBe(stateStorageKey({ ...scope, team: undefined }, 'k'));
    const other = createHostApi(
      { ...scope, pack: 'p2' },
      grantsFor({ capabilities: { host: { state: { read: true } } } }, { httpAllowHosts: [] }),
      s,
    );
    expect(await other.stateRead('k')).toMatchObject({ ok: false, error: { code: 'state.read.miss' } });
  });

  it('a state write larger than MAX_STATE_VALUE_BYTES is denied and stores nothing', async () => {
    const s = stores();
    const api = createHostApi(
      scope,
      grantsFor({ capabilities: { host: { state: { read: true, write: true } } } }, { httpAllowHosts: [] }),
      s,
    );
    expect(await api.stateWrite('k', new Uint8Array(MAX_STATE_VALUE_BYTES))).toEqual({ ok: true, value: null });
    expect(await api.stateWrite('big', new Uint8Array(MAX_STATE_VALUE_BYTES + 1))).toMatchObject({
      ok: false,
      error: { code: 'state.write.denied', message: expect.stringContaining(`limit ${MAX_STATE_VALUE_BYTES}`) },
    });
    expect([...s.state.data.keys()]).toEqual([stateStorageKey(scope, 'k')]);
  });

  it('denies each state operation the manifest does not grant, with upstream codes', async () => {
    const api = createHostApi(scope, grantsFor({}, { httpAllowHosts: [] }), stores());
    expect(await api.stateRead('k')).toMatchObject({ ok: false, error: { code: 'state.read.denied' } });
    expect(await api.stateWrite('k', bytes('v'))).toMatchObject({ ok: false, error: { code: 'state.write.denied' } });
    expect(await api.stateDelete('k')).toMatchObject({ ok: false, error: { code: 'state.delete.denied' } });
  });

  it("secrets: undeclared → denied, malformed → invalid-key, declared but absent → none; the operator's value wins over a component's", async () => {
    const s = stores();
    const api = createHostApi(scope, grantsFor({ secret_requirements: [{ key: 'TOKEN' }, { key: 'MISSING' }] }, { httpAllowHosts: [] }), s);
    await s.secrets.put(componentSecretKey({ ...scope, team: undefined }, 'TOKEN'), bytes('tenant-wide write'));
    expect(await api.secretsGet('TOKEN')).toEqual({ ok: true, value: bytes('tenant-wide write') });
    await s.secrets.put(formerComponentSecretKey(scope, 'TOKEN')!, bytes('former team write'));
    expect(await api.secretsGet('TOKEN')).toEqual({ ok: true, value: bytes('former team write') });
    await s.secrets.put(componentSecretKey(scope, 'TOKEN'), bytes('team write'));
    expect(await api.secretsGet('TOKEN')).toEqual({ ok: true, value: bytes('team write') });
    await s.secrets.put(operatorSecretKey(scope, 'TOKEN'), bytes('operator'));
    expect(await api.secretsGet('TOKEN')).toEqual({ ok: true, value: bytes('operator') });
    expect(await api.secretsGet('MISSING')).toEqual({ ok: true, value: null });
    expect(await api.secretsGet('OTHER')).toMatchObject({ ok: false, error: { code: 'denied' } });
    expect(await api.secretsGet('../etc')).toMatchObject({ ok: false, error: { code: 'invalid-key' } });
  });

  it("secrets put: a writable key lands in the team's component namespace; a declared-only, undeclared or oversized put is denied", async () => {
    const s = stores();
    const manifest = { capabilities: { host: { secrets: { required: [{ key: 'READ_ONLY' }], writable: ['TOKEN'] } } } };
    const api = createHostApi(scope, grantsFor(manifest, { httpAllowHosts: [] }), s);
    await s.secrets.put(formerComponentSecretKey(scope, 'TOKEN')!, bytes('former'));
    expect(await api.secretsPut('TOKEN', bytes('rotated'))).toEqual({ ok: true, value: null });
    expect(await s.secrets.get(componentSecretKey(scope, 'TOKEN'))).toEqual(bytes('rotated'));
    expect(await s.secrets.get(formerComponentSecretKey(scope, 'TOKEN')!)).toBeNull();
    expect(await s.secrets.get(operatorSecretKey(scope, 'TOKEN'))).toBeNull();
    expect(await api.secretsGet('TOKEN')).toEqual({ ok: true, value: bytes('rotated') });
    expect(await api.secretsPut('READ_ONLY', bytes('x'))).toMatchObject({
      ok: false,
      error: { code: 'denied', message: expect.stringContaining('capabilities.host.secrets.writable') },
    });
    expect(await api.secretsPut('OTHER', bytes('x'))).toMatchObject({ ok: false, error: { code: 'denied' } });
    expect(await api.secretsPut('../etc', bytes('x'))).toMatchObject({ ok: false, error: { code: 'invalid-key' } });
    const big = await api.secretsPut('TOKEN', new Uint8Array(MAX_SECRET_BYTES + 1));
    expect(big).toMatchObject({ ok: false, error: { code: 'denied', message: expect.stringContaining(`limit ${MAX_SECRET_BYTES}`) } });
    expect(await api.secretsGet('TOKEN')).toEqual({ ok: true, value: bytes('rotated') });
  });

  it("a component's put never changes what an operator-set secret reads: it is denied", async () => {
    const s = stores();
    const api = createHostApi(
      scope,
      grantsFor({ capabilities: { host: { secrets: { writable: ['TOKEN'] } } } }, { httpAllowHosts: [] }),
      s,
    );
    await s.secrets.put(operatorSecretKey(scope, 'TOKEN'), bytes('operator'));
    expect(await api.secretsPut('TOKEN', bytes('mine'))).toMatchObject({
      ok: false,
      error: { code: 'denied', message: expect.stringContaining("the tenant's operator has set it") },
    });
    expect(await api.secretsGet('TOKEN')).toEqual({ ok: true, value: bytes('operator') });
    expect(await s.secrets.get(componentSecretKey(scope, 'TOKEN'))).toBeNull();
  });

  it('http: only allow-listed hosts are fetched; others are denied before any request', async () => {
    const seen: string[] = [];
    const s = stores(async (req) => {
      seen.push(req.url);
      return new Response('hello', { status: 201, headers: { 'x-a': '1' } });
    });
    const api = createHostApi(
      scope,
      grantsFor({ capabilities: { host: { http: { client: true } } } }, { httpAllowHosts: ['api.example.com', '*.svc.test'] }),
      s,
    );
    const ok = await api.httpSend({ method: 'GET', url: 'https://api.example.com/x', headers: [] }, null);
    expect(ok).toMatchObject({ ok: true, value: { status: 201, body: bytes('hello') } });
    expect(await api.httpSend({ method: 'GET', url: 'https://a.svc.test/', headers: [] }, null)).toMatchObject({ ok: true });
    expect(await api.httpSend({ method: 'GET', url: 'https://evil.test/', headers: [] }, null)).toMatchObject({
      ok: false,
      error: { code: 'denied' },
    });
    expect(await api.httpSend({ method: 'GET', url: 'file:///etc/passwd', headers: [] }, null)).toMatchObject({
      ok: false,
      error: { code: 'denied' },
    });
    expect(seen).toEqual(['https://api.example.com/x', 'https://a.svc.test/']);
  });

  it('http: a request slower than its timeout fails with code timeout', async () => {
    const s = stores(
      (req) =>
        new Promise((_resolve, reject) => {
          req.signal.addEventListener('abort', () => reject(new Error('aborted')));
        }),
    );
    const api = createHostApi(
      scope,
      grantsFor({ capabilities: { host: { http: { client: true } } } }, { httpAllowHosts: ['slow.test'] }),
      s,
    );
    expect(await api.httpSend({ method: 'GET', url: 'https://slow.test/', headers: [] }, 20)).toMatchObject({
      ok: false,
      error: { code: 'timeout' },
    });
  });

  it('hostAllowed matches exact hosts and *.suffix patterns only', () => {
    expect(hostAllowed(new URL('https://api.example.com/'), ['api.example.com'])).toBe(true);
    expect(hostAllowed(new URL('https://api.example.com.evil.test/'), ['api.example.com'])).toBe(false);
    expect(hostAllowed(new URL('https://x.example.com/'), ['*.example.com'])).toBe(true);
    expect(hostAllowed(new URL('https://example.com/'), ['*.example.com'])).toBe(false);
  });
});

/** (module (memory 1) (func (loop (br 0)))) */
const LOOP_MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00, 0x05, 0x03, 0x01, 0x00, 0x01,
  0x0a, 0x09, 0x01, 0x07, 0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b,
]);

describe('meterCoreModule', () => {
  it('adds an exported fuel global, a check at the top of every loop, and caps memories', () => {
    const out = meterCoreModule(LOOP_MODULE, { memoryCapPages: 32 });
    const text = new TextDecoder('latin1').decode(out);
    expect(text).toContain(FUEL_EXPORT);
    // memory section: 1 memory, flags 1 (has max), min 1, max 32
    expect(Array.from(out)).toEqual(expect.arrayContaining([0x05, 0x04, 0x01, 0x01, 0x01, 0x20]));
    // loop header (0x03 0x40) is now followed by global.get 0 / i32.eqz / if … unreachable
    const loopAt = out.findIndex((b, i) => b === 0x03 && out[i + 1] === 0x40 && out[i + 2] === 0x23);
    expect(Array.from(out.slice(loopAt, loopAt + 9))).toEqual([0x03, 0x40, 0x23, 0x00, 0x45, 0x04, 0x40, 0x00, 0x0b]);
  });

  it("capCoreModuleMemory lowers a metered module's memory maximum and keeps the rest byte for byte", () => {
    const metered = meterCoreModule(LOOP_MODULE, { memoryCapPages: 2048 });
    const capped = capCoreModuleMemory(metered, 16);
    // memory section: flags 1, min 1, max 16 (was 2048, a two-byte LEB128)
    expect(Array.from(capped)).toEqual(expect.arrayContaining([0x05, 0x04, 0x01, 0x01, 0x01, 0x10]));
    expect(capped.length).toBe(metered.length - 1);
    const memoryAt = (b: Uint8Array) => b.findIndex((x, i) => x === 0x05 && b[i + 2] === 0x01 && b[i + 3] === 0x01);
    expect(Array.from(capped.subarray(memoryAt(capped) + 6))).toEqual(Array.from(metered.subarray(memoryAt(metered) + 7)));
    expect(WebAssembly.validate(capped)).toBe(true);
  });

  it('capCoreModuleMemory refuses a module whose memory starts above the limit', () => {
    // (memory 1) = 64 KiB against a limit of 0 pages is impossible; 1 page against a cap of 1 fits.
    expect(() => capCoreModuleMemory(LOOP_MODULE, 0)).toThrow(MemoryLimitError);
    expect(() => capCoreModuleMemory(LOOP_MODULE, 0)).toThrow('its memory starts at 0.06 MiB, above its limit of 0 MiB');
    expect(capCoreModuleMemory(LOOP_MODULE, 1).length).toBe(LOOP_MODULE.length + 1);
  });

  it('rejects bytes that are not a core module', () => {
    expect(() => meterCoreModule(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]))).toThrow(WasmRewriteError);
  });
});

describe('hostTargetFactory', () => {
  it('answers each component with its own grants, also when targets are reused across calls', async () => {
    const { env } = await import('cloudflare:test');
    const { hostTargetFactory } = await import('../../src/component/edge/host-entrypoint.js');
    const host = hostTargetFactory(env as unknown as Env);
    const reader = grantsFor({ capabilities: { host: { state: { read: true } } } }, { httpAllowHosts: [] });
    const none = grantsFor({}, { httpAllowHosts: [] });
    const base = { env: 'dev', tenant: 'acme', pack: 'p1' };
    const codeOf = (r: Awaited<ReturnType<ReturnType<typeof host>['stateRead']>>) => (r.ok ? 'ok' : r.error.code);
    expect(codeOf(await host({ ...base, component: 'c1', grants: reader }).stateRead('k'))).toBe('state.read.miss');
    expect(codeOf(await host({ ...base, component: 'c2', grants: none }).stateRead('k'))).toBe('state.read.denied');
    // Same component again, then with its grants withdrawn (a new policy): never a stale target.
    expect(codeOf(await host({ ...base, component: 'c1', grants: reader }).stateRead('k'))).toBe('state.read.miss');
    expect(codeOf(await host({ ...base, component: 'c1', grants: none }).stateRead('k'))).toBe('state.read.denied');
    expect(codeOf(await host({ ...base, tenant: 'other', component: 'c2', grants: reader }).stateRead('k'))).toBe('state.read.miss');
  });
});
