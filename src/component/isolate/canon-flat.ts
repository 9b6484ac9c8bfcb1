/**
 * Canonical ABI values passed as flat core-wasm arguments and results (an import's parameters
 * below MAX_FLAT_PARAMS, a result that fits one core value), for the functions the isolate lowers.
 */
import { type CanonType, camel, flagBits, flagsOf, type Layout, layoutOf, liftHandle, lowerHandle, readList, UINT_MAX } from './canon.js';
import { CanonError, type GuestMemory } from './guest-memory.js';

/** Element layouts of lists lifted from flat arguments, compiled once per type description. */
const elementLayouts = new WeakMap<CanonType, Layout>();

function elementLayout(type: CanonType): Layout {
  let l = elementLayouts.get(type);
  if (!l) elementLayouts.set(type, (l = layoutOf(type)));
  return l;
}

/**
 * Lowers a result that flattens to one core value (returned directly instead of through a
 * pointer): integers, bool, enum, flags and owned handles.
 */
export function lowerFlatResult(mem: GuestMemory, type: CanonType, v: unknown): number | bigint {
  switch (type.kind) {
    case 'bool':
      return v ? 1 : 0;
    case 'u8':
    case 'u16':
    case 'u32':
      return mem.int(v, type.kind, UINT_MAX[type.kind]!);
    case 'u64':
    case 's64':
      // An i64 result: the bits are what count, whatever the sign.
      return BigInt.asIntN(64, BigInt(v as bigint | number));
    case 'enum': {
      const i = type.cases.indexOf(String(v));
      if (i < 0) throw new CanonError(`"${String(v)}" is not a case of enum ${type.cases.join('|')}`);
      return i;
    }
    case 'flags':
      return flagBits(type.names, v) | 0;
    case 'own':
    case 'borrow':
      return lowerHandle(mem, type.kind, type.resource, v);
    default:
      throw new CanonError(`${type.kind} results are not returned as one core value`);
  }
}

/**
 * Reads flattened parameters (the core-wasm arguments of an import whose parameters did not
 * exceed MAX_FLAT_PARAMS): strings, lists, integers, bool, enum, flags, handles, records and
 * tuples of those, and option/result/variant whose cases carry no payload.
 */
export function liftFlat(mem: GuestMemory, types: CanonType[], args: (number | bigint)[]): unknown[] {
  const cursor = { i: 0 };
  return types.map((ty) => liftFlatValue(mem, ty, args, cursor));
}

function liftFlatValue(mem: GuestMemory, ty: CanonType, args: (number | bigint)[], at: { i: number }): unknown {
  const next = (): number => Number(args[at.i++]) >>> 0;
  switch (ty.kind) {
    case 'string': {
      const p = next();
      return mem.readString(p, next());
    }
    case 'list': {
      const p = next();
      const n = next();
      return ty.of.kind === 'u8' ? mem.readBytes(p, n) : readList(mem, elementLayout(ty.of), p, n);
    }
    case 'u8':
    case 'u16':
    case 'u32':
      return next();
    case 'bool':
      return next() !== 0;
    case 'u64':
      return BigInt.asUintN(64, BigInt(args[at.i++]!));
    case 's64':
      return BigInt.asIntN(64, BigInt(args[at.i++]!));
    case 'enum': {
      const d = next();
      const name = ty.cases[d];
      return name === undefined ? mem.invalid('enum', d) : name;
    }
    case 'flags':
      return flagsOf(ty.names, next());
    case 'own':
    case 'borrow':
      return liftHandle(mem, ty.kind, ty.resource, next());
    case 'record':
    case 'tuple': {
      if (ty.kind === 'tuple') return ty.of.map((f) => liftFlatValue(mem, f, args, at));
      const out: Record<string, unknown> = {};
      for (const [name, f] of ty.fields) out[camel(name)] = liftFlatValue(mem, f, args, at);
      return out;
    }
    case 'option':
    case 'result':
    case 'variant': {
      const cases: [string, CanonType | undefined][] =
        ty.kind === 'option'
          ? [
              ['none', undefined],
              ['some', ty.of],
            ]
          : ty.kind === 'result'
            ? [
                ['ok', ty.ok],
                ['err', ty.err],
              ]
            : ty.cases;
      if (cases.some(([, c]) => c !== undefined)) throw new CanonError(`flat lifting of a ${ty.kind} with payloads is not supported`);
      const d = next();
      const c = cases[d];
      if (!c) return mem.invalid(ty.kind, d);
      return ty.kind === 'option' ? undefined : { tag: c[0] };
    }
  }
}
