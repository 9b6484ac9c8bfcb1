import { describe, expect, it } from 'vitest';
import { buildFixtures } from '../../../test/support/wat-components.js';
import { instantiationPlan } from './component-plan.js';
import { fixupShape, shimSlots, shortCircuitShim } from './shim-plan.js';

const tools = await import('@bytecodealliance/jco-transpile/wasm-tools');
const wat = async (text: string): Promise<Uint8Array> => new Uint8Array(await tools.parse(text));
const fixtures = await buildFixtures();

/** A wit-component-shaped shim with two slots; `slot1` is the i32.const of function 1. */
const shim = (slot1 = 1) => `(module
  (type (func (param i32 i32)))
  (type (func (param i64) (result i32)))
  (table 2 2 funcref)
  (export "0" (func 0))
  (export "1" (func 1))
  (export "$imports" (table 0))
  (func (type 0) (param i32 i32) local.get 0 local.get 1 i32.const 0 call_indirect (type 0))
  (func (type 1) (param i64) (result i32) local.get 0 i32.const ${slot1} call_indirect (type 1)))`;

const fixup = (order = '0 1') => `(module
  (type (func (param i32 i32)))
  (type (func (param i64) (result i32)))
  (import "actual" "0" (func (type 0)))
  (import "actual" "1" (func (type 1)))
  (import "shim" "$imports" (table 2 2 funcref))
  (elem (i32.const 0) func ${order}))`;

describe('wit-component shim and fixup recognition', () => {
  it('recognises a shim whose export i calls table slot i, and a fixup that fills slot i with import i', async () => {
    expect(shimSlots(await wat(shim()))).toBe(2);
    expect(fixupShape(await wat(fixup()), 2)).toEqual({ funcs: 'actual', table: 'shim' });
  });

  it('refuses a shim calling another slot, and a fixup filling the slots in another order or for another slot count', async () => {
    expect(shimSlots(await wat(shim(0)))).toBeNull();
    expect(fixupShape(await wat(fixup('1 0')), 2)).toBeNull();
    expect(fixupShape(await wat(fixup()), 3)).toBeNull();
    // A module that does more than routing (here: a memory) is not a shim.
    expect(shimSlots(await wat(shim().replace('(table 2 2 funcref)', '(table 2 2 funcref) (memory 1)')))).toBeNull();
  });
});

describe('shortCircuitShim', () => {
  it("drops the WASI fixture's shim and fixup instances: the main module's imports become the lowered functions", () => {
    const { plan, coreModules } = instantiationPlan(fixtures.wasi);
    const short = shortCircuitShim(plan, coreModules);
    expect(short.instances.filter((i) => i.kind === 'instantiate').map((i) => (i as { module: number }).module)).toEqual([0]);
    const same = short.funcs.filter((f) => f.kind === 'same') as { func: number }[];
    expect(same.length).toBeGreaterThan(0);
    for (const f of same) expect(short.funcs[f.func]!.kind).toBe('lower');
  });

  it('leaves a plan whose shim module does not verify unchanged', () => {
    const { plan, coreModules } = instantiationPlan(fixtures.wasi);
    const shimIndex = (plan.instances.find((i) => i.kind === 'instantiate') as { module: number }).module;
    const tampered = coreModules.map((m, i) => (i === shimIndex ? new Uint8Array([...m.subarray(0, 8)]) : m));
    expect(shortCircuitShim(plan, tampered)).toBe(plan);
  });
});
