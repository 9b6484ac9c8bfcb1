/**
 * Instantiates a node@0.6.0 component from its instantiation plan (upload/component-plan.ts) without
 * jco's glue: every core module in the plan's order, wired as the component wires them.
 * Greentic host functions get the direct path's trampolines (greentic-abi.ts), `control` is
 * answered here, WASI goes through wasi-abi.ts, calling the same implementation as the glue
 * (wasi.ts), with one handle table for the component's resources. `planIsDirect` is the parent's
 * check that a plan lowers nothing else. Only in the WASI runtime bundle (runtime-wasi.ts).
 */

import { isControlImport, isDirectHostFunction } from './direct-plan.js';
import type { DirectPath } from './greentic-abi.js';
import { CanonError, GuestMemory, HandleTable } from './guest-memory.js';
import type { InstantiationPlan, PlanFunc } from './instantiation-plan.js';
import { isDirectWasiFunction, isDirectWasiResource, wasiLowering, wasiResourceDrop } from './wasi-abi.js';

type CoreExports = Record<string, unknown>;
type Lower = Extract<PlanFunc, { kind: 'lower' }>;
type Realloc = (oldPtr: number, oldSize: number, align: number, newSize: number) => number;

const CONTROL_FUNCTIONS = new Set(['should-cancel', 'yield-now']);

/**
 * Whether a planned component can be instantiated without glue: every function it lowers is a
 * Greentic host function, a `control` function or a WASI 0.2 function the isolate serves, and
 * every resource it drops is a WASI resource the isolate hands out.
 */
export function planIsDirect(plan: InstantiationPlan): boolean {
  return plan.funcs.every((f) => {
    if (f.kind === 'export' || f.kind === 'same') return true;
    if (f.kind === 'drop') return isDirectWasiResource(f.resource);
    const hash = f.fn.indexOf('#');
    if (isControlImport(f.fn.slice(0, hash))) return CONTROL_FUNCTIONS.has(f.fn.slice(hash + 1));
    return isDirectHostFunction(f.fn) || isDirectWasiFunction(f.fn);
  });
}

const NO_REALLOC: Realloc = () => {
  throw new CanonError('this import was lowered without a realloc option');
};

/** Instantiates the plan's core modules in order; `direct` ends up holding the main instance (its `invoke`). */
export function instantiatePlan(
  direct: DirectPath,
  plan: InstantiationPlan,
  module: (index: number) => WebAssembly.Module,
  instantiate: (module: WebAssembly.Module, imports: WebAssembly.Imports) => WebAssembly.Instance,
  wasi: Record<string, Record<string, unknown>>,
): void {
  const { callbacks } = direct;
  const instances: CoreExports[] = [];
  const handles = new HandleTable();
  const funcs = new Map<number, unknown>();
  const item = ([instance, name]: [number, string]): unknown => {
    const value = instances[instance]?.[name];
    if (value === undefined) throw new CanonError(`core instance ${instance} has no export ${name}`);
    return value;
  };
  /**
   * The lowering's memory and realloc, resolved on first call: they belong to an instance created
   * after the import is wired. Lowerings with the same options share one GuestMemory (and its
   * views), and all lowerings without a memory share one empty memory.
   */
  const memories = new Map<string, GuestMemory>();
  const memoryOf = (memory: number | undefined, realloc: number | undefined): (() => GuestMemory) => {
    const key = `${memory ?? ''}:${realloc ?? ''}`;
    let mem: GuestMemory | undefined;
    return () => {
      if (mem) return mem;
      mem = memories.get(key);
      if (!mem) {
        // A lowering without a memory option moves only scalars and handles.
        const m = memory === undefined ? new WebAssembly.Memory({ initial: 0 }) : (item(plan.memories[memory]!) as WebAssembly.Memory);
        mem = new GuestMemory(m, realloc === undefined ? NO_REALLOC : (func(realloc) as Realloc));
        mem.handles = handles;
        memories.set(key, mem);
      }
      return mem;
    };
  };
  const lowered = (f: Lower): unknown => {
    const mem = memoryOf(f.memory, f.realloc);
    if (f.fn.startsWith('wasi:')) return wasiLowering(f.fn, wasi, mem, callbacks.charge);
    const hash = f.fn.indexOf('#');
    if (isControlImport(f.fn.slice(0, hash))) {
      const name = f.fn.slice(hash + 1);
      if (name === 'should-cancel') {
        return () => {
          callbacks.charge();
          return callbacks.shouldCancel() ? 1 : 0;
        };
      }
      if (name === 'yield-now') return () => callbacks.charge();
    }
    const host = direct.hostImport(f.fn, mem);
    if (!host) throw new CanonError(`${f.fn} is not a host function this isolate serves`);
    return host;
  };
  const func = (index: number): unknown => {
    if (funcs.has(index)) return funcs.get(index);
    const f = plan.funcs[index];
    if (!f) throw new CanonError(`the plan has no core function ${index}`);
    let value: unknown;
    if (f.kind === 'export') value = item([f.instance, f.name]);
    else if (f.kind === 'drop') value = wasiResourceDrop(f.resource, memoryOf(undefined, undefined));
    else if (f.kind === 'lower') value = lowered(f);
    else value = same(f.func);
    funcs.set(index, value);
    return value;
  };
  /**
   * A short-circuited shim slot: the function itself, or, when it is an export of an instance not
   * created yet (a preview-1 adapter needs the main module's memory first), a forwarder that looks
   * it up on its first call. Nothing below a forwarder may suspend (JSPI cannot suspend through a
   * JavaScript frame); the adapter's imports are WASI, which never does.
   */
  const same = (index: number): unknown => {
    const target = plan.funcs[index];
    if (target?.kind === 'export' && instances[target.instance] === undefined) {
      let fn: ((...args: unknown[]) => unknown) | null = null;
      return (...args: unknown[]) => (fn ??= func(index) as (...a: unknown[]) => unknown)(...args);
    }
    return func(index);
  };
  const sorts = { memory: plan.memories, table: plan.tables, global: plan.globals };
  let main = false;
  for (const inst of plan.instances) {
    if (inst.kind === 'exports') {
      const bag: CoreExports = {};
      for (const [name, sort, index] of inst.exports) bag[name] = sort === 'func' ? func(index) : item(sorts[sort][index]!);
      instances.push(bag);
      continue;
    }
    const imports: Record<string, CoreExports> = {};
    for (const [name, arg] of inst.args) imports[name] = instances[arg]!;
    const instance = instantiate(module(inst.module), imports as WebAssembly.Imports);
    instances.push(instance.exports as CoreExports);
    main = direct.adoptMain(instance) || main;
  }
  if (!main) throw new CanonError('no core instance of the component exports node@0.6.0 invoke with its memory and cabi_realloc');
}
