import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildFixtures } from '../../../test/support/wat-components.js';
import { DirectPath } from '../isolate/greentic-abi.js';
import type { InstantiationPlan } from '../isolate/instantiation-plan.js';
import { instantiatePlan, planIsDirect } from '../isolate/plan-instantiate.js';
import { type LogLine, wasiImports } from '../isolate/wasi.js';
import { nodeBindgenGenerator } from '../node/node-bindgen.js';
import { instantiationPlan, PlanError } from './component-plan.js';
import { shortCircuitShim } from './shim-plan.js';
import { planOf, transpileComponent } from './transpile.js';

const fixtures = await buildFixtures();
const compile = (bytes: Uint8Array): WebAssembly.Module =>
  new (WebAssembly.Module as unknown as new (b: Uint8Array) => WebAssembly.Module)(bytes);

/** A component binary: the preamble and the given sections (`[id, body]`). */
function component(...sections: [number, number[]][]): Uint8Array {
  const out = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
  for (const [id, body] of sections) out.push(id, body.length, ...body);
  return new Uint8Array(out);
}

describe('instantiationPlan', () => {
  it('reads the WASI fixture: shim first, then the main module with its five WASI interfaces, then the fixup filling the shim table', () => {
    const { plan, coreModules } = instantiationPlan(fixtures.wasi);
    expect(plan.modules).toBe(3);
    expect(coreModules).toHaveLength(3);
    const steps = plan.instances.filter((i) => i.kind === 'instantiate');
    expect(steps.map((s) => s.module)).toEqual([1, 0, 2]);
    expect(steps[1]!.args.map(([name]) => name)).toEqual([
      'wasi:random/random@0.2.3',
      'wasi:clocks/wall-clock@0.2.0',
      'wasi:cli/stdout@0.2.1',
      'wasi:io/streams@0.2.1',
      'wasi:cli/exit@0.2.1',
    ]);
    const lowers = plan.funcs.filter((f) => f.kind === 'lower');
    // Functions that write results into guest memory are lowered with the main module's memory.
    expect(lowers).toContainEqual({ kind: 'lower', fn: 'wasi:clocks/wall-clock@0.2.0#now', memory: 0 });
    expect(lowers).toContainEqual({ kind: 'lower', fn: 'wasi:random/random@0.2.3#get-random-u64' });
    expect(plan.memories).toEqual([[plan.instances.indexOf(steps[1]!), 'memory']]);
    // Each embedded module is a core module in its own right.
    for (const m of coreModules) expect(() => compile(m)).not.toThrow();
  });

  it('every fixture component has a plan whose lowered functions the isolate serves', () => {
    for (const bytes of Object.values(fixtures)) expect(planIsDirect(instantiationPlan(bytes).plan)).toBe(true);
  });

  it('rejects a core module, truncated bytes and sections the plan cannot express with PlanError', () => {
    const core = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    expect(() => instantiationPlan(core)).toThrow(new PlanError('not a WebAssembly component'));
    expect(() => instantiationPlan(fixtures.wasi.subarray(0, fixtures.wasi.length - 7))).toThrow(PlanError);
    expect(() => instantiationPlan(component([9, [0x00, 0x00, 0x00]]))).toThrow(/start functions are not supported/);
    // canon resource.new: resources defined by the component itself.
    expect(() => instantiationPlan(component([8, [0x01, 0x02, 0x00]]))).toThrow(/resources defined by the component/);
    // canon lower of function 0 when no function exists.
    expect(() => instantiationPlan(component([8, [0x01, 0x01, 0x00, 0x00, 0x00]]))).toThrow(
      /lowered function 0 is not an export of an imported instance/,
    );
    // A core instance instantiating module 0 before any module is defined.
    expect(() => instantiationPlan(component([2, [0x01, 0x00, 0x00, 0x00]]))).toThrow(/module 0, which is not defined yet/);
  });

  it('a tampered component (random bytes overwritten or cut) yields a plan or a PlanError, never another exception', () => {
    const base = fixtures.wasi;
    // Half the edits land in the last third, where the component-level sections follow the core modules.
    const position = fc.oneof(fc.nat(base.length - 1), fc.integer({ min: Math.floor((base.length * 2) / 3), max: base.length - 1 }));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(position, fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.nat(base.length),
        (edits, cut) => {
          const bytes = base.slice(0, Math.max(8, cut));
          for (const [at, value] of edits) if (at < bytes.length) bytes[at] = value;
          try {
            const { plan, coreModules } = instantiationPlan(bytes);
            // The shim check reads the embedded modules, tampered or not, without throwing.
            shortCircuitShim(plan, coreModules);
          } catch (err) {
            if (!(err instanceof PlanError)) throw err;
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('planIsDirect refuses a plan lowering a function or dropping a resource the isolate does not serve', () => {
    const plan = (funcs: InstantiationPlan['funcs']): InstantiationPlan => ({
      modules: 0,
      instances: [],
      funcs,
      memories: [],
      tables: [],
      globals: [],
    });
    expect(planIsDirect(plan([{ kind: 'lower', fn: 'wasi:io/streams@0.2.4#[method]output-stream.write', memory: 0 }]))).toBe(true);
    expect(planIsDirect(plan([{ kind: 'lower', fn: 'wasi:sockets/tcp@0.2.0#[method]tcp-socket.connect' }]))).toBe(false);
    expect(planIsDirect(plan([{ kind: 'lower', fn: 'wasi:io/streams@0.3.0#[method]output-stream.write' }]))).toBe(false);
    expect(planIsDirect(plan([{ kind: 'lower', fn: 'greentic:component/control@0.6.0#should-cancel' }]))).toBe(true);
    expect(planIsDirect(plan([{ kind: 'lower', fn: 'greentic:state/state-store@2.0.0#read' }]))).toBe(false);
    expect(planIsDirect(plan([{ kind: 'drop', resource: 'wasi:http/types@0.2.0#fields' }]))).toBe(false);
    expect(planIsDirect(plan([{ kind: 'drop', resource: 'wasi:io/poll@0.2.9#pollable' }]))).toBe(true);
  });
});

describe('planOf and transpileComponent', () => {
  it('records the plan with each module index mapped to the jco file holding its bytes', async () => {
    const { descriptor } = await transpileComponent(fixtures.wasi, nodeBindgenGenerator);
    expect(descriptor.plan?.modules).toHaveLength(3);
    expect([...descriptor.plan!.modules].sort()).toEqual([...descriptor.coreModules].sort());
    const { coreModules } = instantiationPlan(fixtures.wasi);
    // Files listed in another order still match by content.
    const files = coreModules.map((m, i): [string, Uint8Array] => [`f${i}.wasm`, m]).reverse();
    expect(planOf(fixtures.wasi, files)?.modules).toEqual(['f0.wasm', 'f1.wasm', 'f2.wasm']);
  });

  it('leaves the plan out when a jco file differs from the embedded module', () => {
    const { coreModules } = instantiationPlan(fixtures.wasi);
    const files = coreModules.map((m, i): [string, Uint8Array] => [`f${i}.wasm`, i === 1 ? m.slice(0, -1) : m]);
    expect(planOf(fixtures.wasi, files)).toBeUndefined();
  });
});

describe('instantiatePlan', () => {
  for (const shortCircuit of [false, true]) {
    it(`instantiates the WASI fixture without glue${shortCircuit ? ', shim and fixup' : ''} and invokes it: stdout reaches the call logs`, async () => {
      const read = instantiationPlan(fixtures.wasi);
      const plan = shortCircuit ? shortCircuitShim(read.plan, read.coreModules) : read.plan;
      const logs: LogLine[] = [];
      const loaded: number[] = [];
      const direct = new DirectPath({
        host: () => {
          throw new Error('no host');
        },
        charge: () => undefined,
        shouldCancel: () => false,
      });
      const module = (i: number) => (loaded.push(i), compile(read.coreModules[i]!));
      instantiatePlan(
        direct,
        plan,
        module,
        (m, imports) => new WebAssembly.Instance(m, imports),
        wasiImports(() => ({ environment: [], logs }), { assets: null }),
      );
      expect(direct.ready).toBe(true);
      // Shim (1), main (0) and fixup (2); the short-circuited plan loads the main module alone.
      expect(loaded).toEqual(shortCircuit ? [0] : [1, 0, 2]);
      const envelope = {
        ctx: { tenantId: 't', envId: 'e', traceId: 'x', correlationId: 'x', deadlineMs: 0n, attempt: 1, i18nId: 'en' },
        flowId: 'f',
        stepId: 's',
        componentId: 'c',
        attempt: 1,
        payloadCbor: new Uint8Array([0xf6]),
      };
      expect(await direct.invoke('print', envelope)).toMatchObject({ ok: true, outputCbor: new Uint8Array([0xf6]) });
      expect(logs).toEqual([{ stream: 'stdout', line: 'hello from wasi' }]);
      await expect(direct.invoke('x', envelope)).rejects.toThrow(/wasi:cli\/exit with failure/);
    });
  }
});
