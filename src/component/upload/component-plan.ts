/**
 * A component's core instantiation graph, read from its binary: which core module is
 * instantiated with which arguments, in which order, and where each core import comes from (an
 * export of an earlier core instance, a host function lowered with a given memory and
 * `realloc`, or the drop of an imported resource). This is what jco's glue encodes in its
 * `instantiate` function; with the plan the component isolate can instantiate a component whose
 * main module imports WASI (and its preview-1 adapter, shim and fixup modules) without the glue.
 *
 * Only the top-level sections that wit-component emits for a synchronous component are
 * understood; nested components and component instances only shape the component's exports,
 * which the isolate reaches through the main module, so they are counted, not read. Anything
 * else (outer aliases, async canon built-ins,
 * UTF-16 strings, values, start functions) throws `PlanError` and the component keeps jco's glue.
 */
import type { CoreSort, InstantiationPlan, PlanInstance } from '../isolate/instantiation-plan.js';
import { Reader, WasmRewriteError } from '../wasm/reader.js';

export class PlanError extends Error {}

const CORE_SORTS: Record<number, CoreSort | 'type' | 'module' | 'instance'> = {
  0x00: 'func',
  0x01: 'table',
  0x02: 'memory',
  0x03: 'global',
  0x10: 'type',
  0x11: 'module',
  0x12: 'instance',
};

type ComponentSort = 'func' | 'value' | 'type' | 'component' | 'instance';
const COMPONENT_SORTS: Record<number, ComponentSort> = { 0x01: 'func', 0x02: 'value', 0x03: 'type', 0x04: 'component', 0x05: 'instance' };

/** What an entry of a component-level index space stands for, as far as the plan needs it. */
type Named = { name: string } | { alias: [instance: number, name: string] } | null;

interface Spaces {
  funcs: Named[];
  instances: Named[];
  types: Named[];
  components: number;
  values: number;
}

function coreSort(r: Reader): CoreSort | 'type' | 'module' | 'instance' {
  const b = r.byte();
  const sort = CORE_SORTS[b];
  if (!sort) throw new PlanError(`unknown core sort 0x${b.toString(16)} at byte ${r.pos - 1}`);
  return sort;
}

/** A component-level sort; core sorts come back as `core:<sort>`. */
function sortOf(r: Reader): ComponentSort | `core:${string}` {
  const b = r.byte();
  if (b === 0x00) return `core:${coreSort(r)}`;
  const sort = COMPONENT_SORTS[b];
  if (!sort) throw new PlanError(`unknown sort 0x${b.toString(16)} at byte ${r.pos - 1}`);
  return sort;
}

/** `importname'` / `exportname'`: a name, optionally followed by a version suffix. */
function externName(r: Reader): string {
  const b = r.byte();
  const name = r.name();
  if (b === 0x01) r.name();
  else if (b !== 0x00) throw new PlanError(`unknown extern name prefix 0x${b.toString(16)}`);
  return name;
}

function externDesc(r: Reader): ComponentSort | 'core:module' {
  const b = r.byte();
  switch (b) {
    case 0x00:
      if (r.byte() !== 0x11) throw new PlanError('core extern other than a module');
      r.u32();
      return 'core:module';
    case 0x01:
      r.u32();
      return 'func';
    case 0x03: {
      const bound = r.byte();
      if (bound === 0x00) r.u32();
      else if (bound !== 0x01) throw new PlanError(`unknown type bound 0x${bound.toString(16)}`);
      return 'type';
    }
    case 0x04:
      r.u32();
      return 'component';
    case 0x05:
      r.u32();
      return 'instance';
    default:
      throw new PlanError(b === 0x02 ? 'value imports and exports are not supported' : `unknown extern descriptor 0x${b.toString(16)}`);
  }
}

/** Adds an entry for `sort` to the component-level index spaces. */
function push(spaces: Spaces, sort: ComponentSort | 'core:module', entry: Named): void {
  switch (sort) {
    case 'func':
      spaces.funcs.push(entry);
      break;
    case 'instance':
      spaces.instances.push(entry);
      break;
    case 'type':
      spaces.types.push(entry);
      break;
    case 'component':
      spaces.components++;
      break;
    case 'value':
      spaces.values++;
      break;
    case 'core:module':
      throw new PlanError('core module imports are not supported');
  }
}

/** `namespace:package/interface@version#name` for an item exported by an imported instance. */
function importedItem(spaces: Spaces, entry: Named | undefined, what: string): string {
  if (!entry || !('alias' in entry)) throw new PlanError(`${what} is not an export of an imported instance`);
  const [instance, name] = entry.alias;
  const owner = spaces.instances[instance];
  if (!owner || !('name' in owner)) throw new PlanError(`${what} comes from instance ${instance}, which is not imported`);
  return `${owner.name}#${name}`;
}

export interface ReadPlan {
  plan: InstantiationPlan;
  /** The embedded core modules' bytes (views into the component), in index order. */
  coreModules: Uint8Array[];
}

/** Reads the instantiation plan of a component binary; throws `PlanError` when it uses anything the plan cannot express. */
export function instantiationPlan(bytes: Uint8Array): ReadPlan {
  try {
    return readPlan(bytes);
  } catch (err) {
    if (err instanceof WasmRewriteError) throw new PlanError(err.message);
    throw err;
  }
}

/** The instantiation plan, or null where `instantiationPlan` throws `PlanError`. */
export function instantiationPlanOrNull(bytes: Uint8Array): ReadPlan | null {
  try {
    return instantiationPlan(bytes);
  } catch (err) {
    if (err instanceof PlanError) return null;
    throw err;
  }
}

function readPlan(bytes: Uint8Array): ReadPlan {
  if (
    bytes.length < 8 ||
    bytes[0] !== 0 ||
    bytes[1] !== 0x61 ||
    bytes[2] !== 0x73 ||
    bytes[3] !== 0x6d ||
    bytes[6] !== 1 ||
    bytes[7] !== 0
  ) {
    throw new PlanError('not a WebAssembly component');
  }
  const plan: InstantiationPlan = { modules: 0, instances: [], funcs: [], memories: [], tables: [], globals: [] };
  const spaces: Spaces = { funcs: [], instances: [], types: [], components: 0, values: 0 };
  const coreModules: Uint8Array[] = [];
  const r = new Reader(bytes, 8);
  while (r.pos < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    const end = r.pos + size;
    if (end > bytes.length) throw new PlanError(`section ${id} at byte ${r.pos} runs past the end of the component`);
    const s = new Reader(bytes, r.pos, end);
    switch (id) {
      case 0: // custom
        break;
      case 1: // core module
        plan.modules++;
        coreModules.push(bytes.subarray(s.pos, end));
        break;
      case 2: // core instances
        for (let n = s.u32(); n > 0; n--) plan.instances.push(coreInstance(s, plan));
        break;
      case 3: // core types: not referenced by the plan
        break;
      case 4: // a nested component: wit-component wraps exported interfaces in one; its insides stay opaque
        spaces.components++;
        break;
      case 5: // component instances: they only shape the component's exports, which the plan does not use
        for (let n = s.u32(); n > 0; n--) {
          const kind = s.byte();
          if (kind === 0x00) s.u32();
          else if (kind !== 0x01) throw new PlanError(`unknown instance kind 0x${kind.toString(16)}`);
          for (let e = s.u32(); e > 0; e--) {
            if (kind === 0x00) s.name();
            else externName(s);
            sortOf(s);
            s.u32();
          }
          spaces.instances.push(null);
        }
        break;
      case 6: // aliases
        for (let n = s.u32(); n > 0; n--) alias(s, plan, spaces);
        break;
      case 7: // component types: only their number matters here
        for (let n = s.u32(); n > 0; n--) spaces.types.push(null);
        s.pos = end;
        break;
      case 8: // canonical built-ins
        for (let n = s.u32(); n > 0; n--) canon(s, plan, spaces);
        break;
      case 10: // imports
        for (let n = s.u32(); n > 0; n--) {
          const name = externName(s);
          push(spaces, externDesc(s), { name });
        }
        break;
      case 11: // exports: each one adds an index in its sort's space
        for (let n = s.u32(); n > 0; n--) {
          externName(s);
          const sort = sortOf(s);
          s.u32();
          const has = s.byte();
          if (has === 0x01) externDesc(s);
          else if (has !== 0x00) throw new PlanError(`unknown export type prefix 0x${has.toString(16)}`);
          if (sort.startsWith('core:')) throw new PlanError('core items exported from a component are not supported');
          push(spaces, sort as ComponentSort, null);
        }
        break;
      default:
        throw new PlanError(
          id === 9
            ? 'component start functions are not supported'
            : id === 12
              ? 'component values are not supported'
              : `unknown component section ${id}`,
        );
    }
    if (id !== 0 && id !== 1 && id !== 3 && id !== 4 && s.pos !== end) throw new PlanError(`section ${id} has ${end - s.pos} unread bytes`);
    r.pos = end;
  }
  check(plan);
  return { plan, coreModules };
}

function coreInstance(s: Reader, plan: InstantiationPlan): PlanInstance {
  const kind = s.byte();
  if (kind === 0x00) {
    const module = s.u32();
    const args: [string, number][] = [];
    for (let n = s.u32(); n > 0; n--) {
      const name = s.name();
      if (s.byte() !== 0x12) throw new PlanError('a core instantiation argument that is not an instance');
      args.push([name, s.u32()]);
    }
    if (module >= plan.modules) throw new PlanError(`core instance instantiates module ${module}, which is not defined yet`);
    return { kind: 'instantiate', module, args };
  }
  if (kind !== 0x01) throw new PlanError(`unknown core instance kind 0x${kind.toString(16)}`);
  const exports: [string, CoreSort, number][] = [];
  for (let n = s.u32(); n > 0; n--) {
    const name = s.name();
    const sort = coreSort(s);
    if (sort === 'type' || sort === 'module' || sort === 'instance') throw new PlanError(`core ${sort} in an export bundle`);
    exports.push([name, sort, s.u32()]);
  }
  return { kind: 'exports', exports };
}

function alias(s: Reader, plan: InstantiationPlan, spaces: Spaces): void {
  const sort = sortOf(s);
  const target = s.byte();
  if (target === 0x02) {
    // Outer aliases only appear inside nested components and type definitions.
    throw new PlanError('outer aliases are not supported');
  }
  const instance = s.u32();
  const name = s.name();
  if (target === 0x01) {
    if (instance >= plan.instances.length) throw new PlanError(`alias of core instance ${instance}, which does not exist yet`);
    switch (sort) {
      case 'core:func':
        plan.funcs.push({ kind: 'export', instance, name });
        return;
      case 'core:memory':
        plan.memories.push([instance, name]);
        return;
      case 'core:table':
        plan.tables.push([instance, name]);
        return;
      case 'core:global':
        plan.globals.push([instance, name]);
        return;
      default:
        throw new PlanError(`alias of a ${sort} core export`);
    }
  }
  if (target !== 0x00) throw new PlanError(`unknown alias target 0x${target.toString(16)}`);
  if (sort.startsWith('core:')) throw new PlanError('core item aliased from a component instance');
  push(spaces, sort as ComponentSort, { alias: [instance, name] });
}

interface CanonOptions {
  memory?: number;
  realloc?: number;
}

function canonOptions(s: Reader): CanonOptions {
  const opts: CanonOptions = {};
  for (let n = s.u32(); n > 0; n--) {
    const b = s.byte();
    switch (b) {
      case 0x00: // utf8
        break;
      case 0x01:
      case 0x02:
        throw new PlanError('UTF-16 string encodings are not supported');
      case 0x03:
        opts.memory = s.u32();
        break;
      case 0x04:
        opts.realloc = s.u32();
        break;
      case 0x05: // post-return: only on lifted exports, which the plan does not call
        s.u32();
        break;
      default:
        throw new PlanError(
          b === 0x06 || b === 0x07 ? 'async canonical options are not supported' : `unknown canonical option 0x${b.toString(16)}`,
        );
    }
  }
  return opts;
}

function canon(s: Reader, plan: InstantiationPlan, spaces: Spaces): void {
  const op = s.byte();
  switch (op) {
    case 0x00: {
      if (s.byte() !== 0x00) throw new PlanError('unknown canon lift encoding');
      s.u32();
      canonOptions(s);
      s.u32();
      spaces.funcs.push(null);
      return;
    }
    case 0x01: {
      if (s.byte() !== 0x00) throw new PlanError('unknown canon lower encoding');
      const f = s.u32();
      const opts = canonOptions(s);
      const fn = importedItem(spaces, spaces.funcs[f], `lowered function ${f}`);
      plan.funcs.push({ kind: 'lower', fn, ...opts });
      return;
    }
    case 0x03: {
      const rt = s.u32();
      plan.funcs.push({ kind: 'drop', resource: importedItem(spaces, spaces.types[rt], `dropped resource type ${rt}`) });
      return;
    }
    default:
      throw new PlanError(
        op === 0x02 || op === 0x04
          ? 'resources defined by the component are not supported'
          : `canonical built-in 0x${op.toString(16)} is not supported`,
      );
  }
}

/** Every reference in the plan points at something defined before it is used. */
function check(plan: InstantiationPlan): void {
  const sizes: Record<CoreSort, number> = {
    func: plan.funcs.length,
    memory: plan.memories.length,
    table: plan.tables.length,
    global: plan.globals.length,
  };
  plan.instances.forEach((inst, i) => {
    if (inst.kind === 'instantiate') {
      for (const [name, arg] of inst.args)
        if (arg >= i) throw new PlanError(`core instance ${i} argument ${name} refers to instance ${arg}, not yet created`);
    } else {
      for (const [name, sort, index] of inst.exports)
        if (index >= sizes[sort]) throw new PlanError(`core instance ${i} export ${name}: no ${sort} ${index}`);
    }
  });
  for (const f of plan.funcs) {
    if (
      f.kind === 'lower' &&
      ((f.memory !== undefined && f.memory >= plan.memories.length) || (f.realloc !== undefined && f.realloc >= plan.funcs.length))
    ) {
      throw new PlanError(`lowered ${f.fn} names a memory or realloc that does not exist`);
    }
  }
}
