/**
 * wit-component routes the main module's imports that need its own memory or `realloc` (and a
 * preview-1 adapter's exports, which need the main module's memory) through two small modules:
 * a shim whose exported function `i` calls slot `i` of its table `$imports`, instantiated first,
 * and a fixup, instantiated last, whose element segment fills slot `i` with the function it
 * imports as `i`. The isolate's own lowerings read memory lazily, so it can hand the main module
 * the final functions directly. `shortCircuitShim` checks both modules do exactly that, byte for
 * byte, and rewrites the plan so neither is loaded: every alias of shim export `i` becomes the
 * function the fixup puts in slot `i` (`same`), and the two instances become empty.
 */
import type { InstantiationPlan, PlanFunc, PlanInstance } from '../isolate/instantiation-plan.js';
import { Reader, sectionsOf, WasmRewriteError } from '../wasm/reader.js';

const VALTYPES = new Set([0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f]);

/** Parameter counts of a module's function types, or null for a type this reader does not know. */
function paramCounts(body: Uint8Array): number[] | null {
  const r = new Reader(body);
  const out: number[] = [];
  for (let n = r.u32(); n > 0; n--) {
    if (r.byte() !== 0x60) return null;
    const params = r.u32();
    for (let i = 0; i < params; i++) if (!VALTYPES.has(r.byte())) return null;
    const results = r.u32();
    for (let i = 0; i < results; i++) if (!VALTYPES.has(r.byte())) return null;
    out.push(params);
  }
  return out;
}

type Sections = Map<number, Uint8Array>;

function sectionMap(wasm: Uint8Array, allowed: number[]): Sections | null {
  const map: Sections = new Map();
  for (const { id, body } of sectionsOf(wasm)) {
    if (id === 0) continue;
    if (!allowed.includes(id) || map.has(id)) return null;
    map.set(id, body);
  }
  return map;
}

/** The number of slots of a wit-component shim module, or null if the module is anything else. */
export function shimSlots(wasm: Uint8Array): number | null {
  try {
    // type, function, table, export, code: no imports, memories, globals, start or elements.
    const s = sectionMap(wasm, [1, 3, 4, 7, 10]);
    const types = s?.get(1) && paramCounts(s.get(1)!);
    if (!s || !types || !s.get(3) || !s.get(4) || !s.get(7) || !s.get(10)) return null;
    const funcs = new Reader(s.get(3)!);
    const funcTypes: number[] = [];
    for (let n = funcs.u32(); n > 0; n--) funcTypes.push(funcs.u32());
    const tables = new Reader(s.get(4)!);
    if (tables.u32() !== 1 || tables.byte() !== 0x70) return null;
    const exports = new Reader(s.get(7)!);
    const count = exports.u32();
    if (count !== funcTypes.length + 1) return null;
    for (let i = 0; i < count; i++) {
      const name = exports.name();
      const kind = exports.byte();
      const index = exports.u32();
      if (name === '$imports' ? kind !== 0x01 || index !== 0 : kind !== 0x00 || name !== String(index)) return null;
    }
    // Function i: `local.get 0 … local.get k-1; i32.const i; call_indirect (type of i) (table 0); end`.
    const code = new Reader(s.get(10)!);
    if (code.u32() !== funcTypes.length) return null;
    for (let i = 0; i < funcTypes.length; i++) {
      const end = code.u32() + code.pos;
      if (code.u32() !== 0) return null;
      const type = funcTypes[i]!;
      for (let j = 0; j < types[type]!; j++) if (code.byte() !== 0x20 || code.u32() !== j) return null;
      if (code.byte() !== 0x41 || code.s32() !== i) return null;
      if (code.byte() !== 0x11 || code.u32() !== type || code.byte() !== 0x00 || code.byte() !== 0x0b || code.pos !== end) return null;
    }
    return funcTypes.length;
  } catch (err) {
    if (err instanceof WasmRewriteError) return null;
    throw err;
  }
}

/**
 * For a wit-component fixup module: the import module names of its functions and of the table it
 * fills, when slot `i` gets the function imported as `i` and the module does nothing else.
 */
export function fixupShape(wasm: Uint8Array, slots: number): { funcs: string; table: string } | null {
  try {
    const s = sectionMap(wasm, [1, 2, 9]);
    if (!s?.get(2) || !s.get(9)) return null;
    const imports = new Reader(s.get(2)!);
    const funcIndexOf = new Map<string, number>();
    let funcModule: string | null = null;
    let tableModule: string | null = null;
    for (let n = imports.u32(); n > 0; n--) {
      const module = imports.name();
      const name = imports.name();
      const kind = imports.byte();
      if (kind === 0x00) {
        imports.u32();
        if ((funcModule ??= module) !== module || funcIndexOf.has(name)) return null;
        funcIndexOf.set(name, funcIndexOf.size);
      } else if (kind === 0x01 && name === '$imports' && tableModule === null) {
        if (imports.byte() !== 0x70) return null;
        const flags = imports.u32();
        imports.u32();
        if (flags & 1) imports.u32();
        tableModule = module;
      } else return null;
    }
    if (funcModule === null || tableModule === null || funcIndexOf.size !== slots) return null;
    // One active segment for table 0 at offset 0: `(elem (i32.const 0) func …)`.
    const elems = new Reader(s.get(9)!);
    if (elems.u32() !== 1 || elems.u32() !== 0) return null;
    if (elems.byte() !== 0x41 || elems.s32() !== 0 || elems.byte() !== 0x0b) return null;
    if (elems.u32() !== slots) return null;
    for (let i = 0; i < slots; i++) if (elems.u32() !== funcIndexOf.get(String(i))) return null;
    return { funcs: funcModule, table: tableModule };
  } catch (err) {
    if (err instanceof WasmRewriteError) return null;
    throw err;
  }
}

/**
 * The plan without its shim and fixup instances when both are wit-component's (see above); the
 * plan unchanged otherwise. `coreModules`: the component's embedded modules, in index order.
 */
export function shortCircuitShim(plan: InstantiationPlan, coreModules: Uint8Array[]): InstantiationPlan {
  const steps = plan.instances
    .map((inst, index) => ({ inst, index }))
    .filter((x): x is { inst: Extract<PlanInstance, { kind: 'instantiate' }>; index: number } => x.inst.kind === 'instantiate');
  for (const shim of steps) {
    if (shim.inst.args.length !== 0) continue;
    const slots = shimSlots(coreModules[shim.inst.module]!);
    if (slots === null) continue;
    for (const fixup of steps) {
      if (fixup.index <= shim.index) continue;
      const shape = fixupShape(coreModules[fixup.inst.module]!, slots);
      if (!shape || fixup.inst.args.length !== 2) continue;
      const bagIndex = fixup.inst.args.find(([name]) => name === shape.funcs)?.[1];
      const tableFrom = fixup.inst.args.find(([name]) => name === shape.table)?.[1];
      const bag = bagIndex === undefined ? undefined : plan.instances[bagIndex];
      if (bag?.kind !== 'exports' || tableFrom === undefined) continue;
      const table = plan.instances[tableFrom];
      const tableOk =
        tableFrom === shim.index ||
        (table?.kind === 'exports' &&
          table.exports.length === 1 &&
          table.exports[0]![1] === 'table' &&
          plan.tables[table.exports[0]![2]]?.[0] === shim.index);
      const slotFunc = new Map(bag.exports.filter(([, sort]) => sort === 'func').map(([name, , index]) => [name, index]));
      if (!tableOk || slotFunc.size !== slots || bag.exports.length !== slots) continue;
      return rewrite(plan, shim.index, fixup.index, slotFunc);
    }
  }
  return plan;
}

function rewrite(plan: InstantiationPlan, shim: number, fixup: number, slotFunc: Map<string, number>): InstantiationPlan {
  // Nothing but aliases of its functions and its table (used by the fixup) may refer to the shim.
  if (plan.memories.some(([i]) => i === shim) || plan.globals.some(([i]) => i === shim)) return plan;
  if (plan.instances.some((inst, i) => i !== fixup && inst.kind === 'instantiate' && inst.args.some(([, arg]) => arg === shim)))
    return plan;
  const shimTables = new Set(plan.tables.flatMap(([i], index) => (i === shim ? [index] : [])));
  const fromShim = (f: PlanFunc | undefined): boolean => f?.kind === 'export' && f.instance === shim;
  const funcs = plan.funcs.map((f): PlanFunc => {
    if (!fromShim(f)) return f;
    const target = slotFunc.get((f as { name: string }).name);
    return target === undefined || fromShim(plan.funcs[target]) ? f : { kind: 'same', func: target };
  });
  if (funcs.some(fromShim)) return plan;
  // A table of the shim may only reach the fixup (through the argument bag the fixup takes).
  const fixupArgs = new Set((plan.instances[fixup] as Extract<PlanInstance, { kind: 'instantiate' }>).args.map(([, arg]) => arg));
  const strayTable = plan.instances.some(
    (inst, i) =>
      !fixupArgs.has(i) && inst.kind === 'exports' && inst.exports.some(([, sort, index]) => sort === 'table' && shimTables.has(index)),
  );
  if (strayTable) return plan;
  const empty: PlanInstance = { kind: 'exports', exports: [] };
  const instances = plan.instances.map((inst, i) => (i === shim || i === fixup ? empty : inst));
  return { ...plan, instances, funcs };
}
