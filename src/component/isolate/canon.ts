/**
 * A small Canonical ABI (component model) implementation for the fixed Greentic interfaces the
 * component isolate serves without jco's per-call task runtime: type layouts (size, alignment,
 * flattening), loading values from and storing them into a guest's linear memory.
 *
 * Only the types those interfaces and the WASI functions the isolate lowers itself (wasi-abi.ts)
 * use are supported: bool, u8/u16/u32/u64/s64, string (UTF-8), list, option, result, record,
 * tuple, enum, variant, flags and resource handles (own/borrow, through a `HandleTable`).
 * Guest memory access is guest-memory.ts; lifting and lowering flat core values, canon-flat.ts.
 */
import { CanonError, type GuestMemory } from './guest-memory.js';

export type CanonType =
  | { kind: 'bool' | 'u8' | 'u16' | 'u32' | 'u64' | 's64' | 'string' }
  | { kind: 'list'; of: CanonType }
  | { kind: 'option'; of: CanonType }
  | { kind: 'result'; ok?: CanonType; err?: CanonType }
  | { kind: 'record'; fields: [string, CanonType][] }
  | { kind: 'tuple'; of: CanonType[] }
  | { kind: 'enum'; cases: string[] }
  | { kind: 'variant'; cases: [string, CanonType | undefined][] }
  | { kind: 'flags'; names: string[] }
  /** `resource`: the resource's identity in the handle table, e.g. `wasi:io/streams#output-stream`. */
  | { kind: 'own' | 'borrow'; resource: string };

export const t = {
  bool: { kind: 'bool' } as CanonType,
  u8: { kind: 'u8' } as CanonType,
  u16: { kind: 'u16' } as CanonType,
  u32: { kind: 'u32' } as CanonType,
  u64: { kind: 'u64' } as CanonType,
  s64: { kind: 's64' } as CanonType,
  string: { kind: 'string' } as CanonType,
  list: (of: CanonType): CanonType => ({ kind: 'list', of }),
  option: (of: CanonType): CanonType => ({ kind: 'option', of }),
  result: (ok?: CanonType, err?: CanonType): CanonType => ({ kind: 'result', ok, err }),
  /** Field names are given in WIT kebab-case; values use jco's camelCase keys. */
  record: (fields: [string, CanonType][]): CanonType => ({ kind: 'record', fields }),
  tuple: (...of: CanonType[]): CanonType => ({ kind: 'tuple', of }),
  enum: (...cases: string[]): CanonType => ({ kind: 'enum', cases }),
  /** Values are `{ tag, val }` with the case's WIT name as the tag, as jco writes them. */
  variant: (cases: [string, CanonType?][]): CanonType => ({ kind: 'variant', cases: cases.map(([n, c]) => [n, c]) }),
  /** Values are objects of booleans keyed by camelCase flag names. */
  flags: (...names: string[]): CanonType => ({ kind: 'flags', names }),
  own: (resource: string): CanonType => ({ kind: 'own', resource }),
  borrow: (resource: string): CanonType => ({ kind: 'borrow', resource }),
};

/** Maximum flattened parameters / results before the ABI passes a pointer instead (spec: 16 / 1). */
export const MAX_FLAT_PARAMS = 16;
export const MAX_FLAT_RESULTS = 1;

export interface Layout {
  size: number;
  align: number;
  /** Number of core values the type flattens to. */
  flat: number;
  /** Record fields' / tuple elements' byte offsets, in order. */
  offsets?: readonly number[];
  /** Byte offset of an option's or result's payload. */
  payload?: number;
  load(mem: GuestMemory, ptr: number): unknown;
  store(mem: GuestMemory, ptr: number, value: unknown): void;
}

const alignTo = (n: number, a: number): number => Math.ceil(n / a) * a;

/** A WIT kebab-case name as jco's camelCase key. */
export const camel = (name: string): string => name.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

function discSize(cases: number): number {
  return cases <= 0x100 ? 1 : cases <= 0x10000 ? 2 : 4;
}

function loadDisc(mem: GuestMemory, ptr: number, size: number): number {
  const dv = mem.view();
  return size === 1 ? dv.getUint8(ptr) : size === 2 ? dv.getUint16(ptr, true) : dv.getUint32(ptr, true);
}

function storeDisc(mem: GuestMemory, ptr: number, size: number, value: number): void {
  const dv = mem.view();
  if (size === 1) dv.setUint8(ptr, value);
  else if (size === 2) dv.setUint16(ptr, value, true);
  else dv.setUint32(ptr, value, true);
}

/** Largest value of each unsigned integer type lowered from a JS number. */
export const UINT_MAX: Record<string, number> = { u8: 0xff, u16: 0xffff, u32: 0xffffffff };

/**
 * A one-value type of `size` bytes, aligned to its size. Unsigned integers are range-checked
 * before `set` sees them.
 */
function scalar(
  size: number,
  get: (dv: DataView, ptr: number) => unknown,
  set: (dv: DataView, ptr: number, v: unknown) => void,
  int?: string,
): Layout {
  const max = int ? UINT_MAX[int]! : 0;
  return {
    size,
    align: size,
    flat: 1,
    load: (mem, ptr) => get(mem.view(), ptr),
    store: int ? (mem, ptr, v) => set(mem.view(), ptr, mem.int(v, int, max)) : (mem, ptr, v) => set(mem.view(), ptr, v),
  };
}

/** Compiles a type into its layout and load/store functions (done once per interface). */
export function layoutOf(type: CanonType): Layout {
  switch (type.kind) {
    case 'bool':
      return {
        size: 1,
        align: 1,
        flat: 1,
        load: (mem, ptr) => mem.loadBool(ptr),
        store: (mem, ptr, v) => mem.view().setUint8(ptr, v ? 1 : 0),
      };
    case 'u8':
      return scalar(
        1,
        (dv, p) => dv.getUint8(p),
        (dv, p, v) => dv.setUint8(p, v as number),
        'u8',
      );
    case 'u16':
      return scalar(
        2,
        (dv, p) => dv.getUint16(p, true),
        (dv, p, v) => dv.setUint16(p, v as number, true),
        'u16',
      );
    case 'u32':
      return scalar(
        4,
        (dv, p) => dv.getUint32(p, true),
        (dv, p, v) => dv.setUint32(p, v as number, true),
        'u32',
      );
    case 'u64':
      return scalar(
        8,
        (dv, p) => dv.getBigUint64(p, true),
        (dv, p, v) => dv.setBigUint64(p, BigInt.asUintN(64, BigInt(v as bigint | number)), true),
      );
    case 's64':
      return scalar(
        8,
        (dv, p) => dv.getBigInt64(p, true),
        (dv, p, v) => dv.setBigInt64(p, BigInt.asIntN(64, BigInt(v as bigint | number)), true),
      );
    case 'string':
      return { size: 8, align: 4, flat: 2, load: (mem, ptr) => mem.loadString(ptr), store: (mem, ptr, v) => mem.storeString(ptr, v) };
    case 'list': {
      if (type.of.kind === 'u8')
        return { size: 8, align: 4, flat: 2, load: (mem, ptr) => mem.loadBytes(ptr), store: (mem, ptr, v) => mem.storeBytes(ptr, v) };
      const el = layoutOf(type.of);
      return {
        size: 8,
        align: 4,
        flat: 2,
        load: (mem, ptr) => {
          const dv = mem.view();
          return readList(mem, el, dv.getUint32(ptr, true), dv.getUint32(ptr + 4, true));
        },
        store: (mem, ptr, v) => {
          if (!Array.isArray(v) && !(ArrayBuffer.isView(v) && !(v instanceof DataView))) throw new CanonError('expected a list');
          const items = v as ArrayLike<unknown>;
          const n = items.length;
          const p = mem.alloc(n * el.size, el.align);
          for (let i = 0; i < n; i++) el.store(mem, p + i * el.size, items[i]);
          const dv = mem.view();
          dv.setUint32(ptr, p, true);
          dv.setUint32(ptr + 4, n, true);
        },
      };
    }
    case 'option': {
      const payload = layoutOf(type.of);
      const off = alignTo(1, payload.align);
      return {
        size: alignTo(off + payload.size, Math.max(1, payload.align)),
        align: Math.max(1, payload.align),
        flat: 1 + payload.flat,
        payload: off,
        load: (mem, ptr) => {
          const d = mem.view().getUint8(ptr);
          if (d === 0) return undefined;
          if (d !== 1) mem.invalid('option', d);
          return payload.load(mem, ptr + off);
        },
        store: (mem, ptr, v) => {
          if (v === undefined || v === null) {
            mem.view().setUint8(ptr, 0);
            return;
          }
          mem.view().setUint8(ptr, 1);
          payload.store(mem, ptr + off, v);
        },
      };
    }
    case 'result': {
      const ok = type.ok ? layoutOf(type.ok) : undefined;
      const err = type.err ? layoutOf(type.err) : undefined;
      const align = Math.max(1, ok?.align ?? 1, err?.align ?? 1);
      const off = alignTo(1, align);
      return {
        size: alignTo(off + Math.max(ok?.size ?? 0, err?.size ?? 0), align),
        align,
        flat: 1 + Math.max(ok?.flat ?? 0, err?.flat ?? 0),
        payload: off,
        load: (mem, ptr) => {
          const d = mem.view().getUint8(ptr);
          if (d === 0) return { tag: 'ok', val: ok?.load(mem, ptr + off) };
          if (d === 1) return { tag: 'err', val: err?.load(mem, ptr + off) };
          return mem.invalid('result', d);
        },
        store: (mem, ptr, v) => {
          const r = v as { tag: 'ok' | 'err'; val?: unknown };
          mem.view().setUint8(ptr, r.tag === 'ok' ? 0 : 1);
          const l = r.tag === 'ok' ? ok : err;
          if (l) l.store(mem, ptr + off, r.val);
        },
      };
    }
    case 'record':
    case 'tuple': {
      const parts =
        type.kind === 'record'
          ? type.fields.map(([n, f]) => [camel(n), layoutOf(f)] as const)
          : type.of.map((f, i) => [String(i), layoutOf(f)] as const);
      let size = 0;
      let align = 1;
      const offsets: number[] = [];
      for (const [, l] of parts) {
        size = alignTo(size, l.align);
        offsets.push(size);
        size += l.size;
        align = Math.max(align, l.align);
      }
      const flat = parts.reduce((n, [, l]) => n + l.flat, 0);
      const isTuple = type.kind === 'tuple';
      return {
        size: alignTo(size, align),
        align,
        flat,
        offsets,
        load: (mem, ptr) => {
          if (isTuple) return parts.map(([, l], i) => l.load(mem, ptr + offsets[i]!));
          const out: Record<string, unknown> = {};
          parts.forEach(([name, l], i) => (out[name] = l.load(mem, ptr + offsets[i]!)));
          return out;
        },
        store: (mem, ptr, v) => {
          const src = v as Record<string, unknown>;
          parts.forEach(([name, l], i) => l.store(mem, ptr + offsets[i]!, src[name]));
        },
      };
    }
    case 'enum': {
      const size = discSize(type.cases.length);
      const names = type.cases.map(camel);
      return {
        size,
        align: size,
        flat: 1,
        load: (mem, ptr) => {
          const d = loadDisc(mem, ptr, size);
          const name = type.cases[d];
          if (name === undefined) return mem.invalid('enum', d);
          return name;
        },
        store: (mem, ptr, v) => {
          const i = type.cases.indexOf(String(v));
          const j = i >= 0 ? i : names.indexOf(String(v));
          if (j < 0) throw new CanonError(`"${String(v)}" is not a case of enum ${type.cases.join('|')}`);
          storeDisc(mem, ptr, size, j);
        },
      };
    }
    case 'variant': {
      const disc = discSize(type.cases.length);
      const cases = type.cases.map(([name, c]) => [name, c ? layoutOf(c) : undefined] as const);
      const payloadAlign = Math.max(1, ...cases.map(([, l]) => l?.align ?? 1));
      const align = Math.max(disc, payloadAlign);
      const off = alignTo(disc, payloadAlign);
      return {
        size: alignTo(off + Math.max(0, ...cases.map(([, l]) => l?.size ?? 0)), align),
        align,
        flat: 1 + Math.max(0, ...cases.map(([, l]) => l?.flat ?? 0)),
        payload: off,
        load: (mem, ptr) => {
          const d = loadDisc(mem, ptr, disc);
          const c = cases[d];
          if (!c) return mem.invalid('variant', d);
          return c[1] ? { tag: c[0], val: c[1].load(mem, ptr + off) } : { tag: c[0] };
        },
        store: (mem, ptr, v) => {
          const tag = (v as { tag?: unknown } | null)?.tag;
          const d = cases.findIndex(([name]) => name === tag || camel(name) === tag);
          if (d < 0) throw new CanonError(`"${String(tag)}" is not a case of variant ${type.cases.map(([n]) => n).join('|')}`);
          storeDisc(mem, ptr, disc, d);
          cases[d]![1]?.store(mem, ptr + off, (v as { val?: unknown }).val);
        },
      };
    }
    case 'flags': {
      if (type.names.length > 32) throw new CanonError('flags with more than 32 members');
      const size = type.names.length <= 8 ? 1 : type.names.length <= 16 ? 2 : 4;
      return {
        size,
        align: size,
        flat: 1,
        load: (mem, ptr) => flagsOf(type.names, loadDisc(mem, ptr, size)),
        store: (mem, ptr, v) => storeDisc(mem, ptr, size, flagBits(type.names, v)),
      };
    }
    case 'own':
    case 'borrow': {
      const { kind, resource } = type;
      return {
        size: 4,
        align: 4,
        flat: 1,
        load: (mem, ptr) => liftHandle(mem, kind, resource, mem.view().getUint32(ptr, true)),
        store: (mem, ptr, v) => mem.view().setUint32(ptr, lowerHandle(mem, kind, resource, v), true),
      };
    }
  }
}

/** The `n` elements of a list stored at `p`. */
export function readList(mem: GuestMemory, el: Layout, p: number, n: number): unknown[] {
  if (p % el.align !== 0) throw new CanonError(`list pointer ${p} is not aligned to ${el.align}`);
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) out.push(el.load(mem, p + i * el.size));
  return out;
}

export function flagsOf(names: string[], bits: number): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  names.forEach((n, i) => (out[camel(n)] = (bits & (1 << i)) !== 0));
  return out;
}

export function flagBits(names: string[], v: unknown): number {
  if (typeof v !== 'object' || v === null) throw new CanonError('expected a flags object');
  const set = v as Record<string, unknown>;
  let bits = 0;
  names.forEach((n, i) => {
    if (set[camel(n)] || set[n]) bits |= 1 << i;
  });
  return bits >>> 0;
}

export function liftHandle(mem: GuestMemory, kind: 'own' | 'borrow', resource: string, index: number): unknown {
  return kind === 'own' ? mem.table().remove(resource, index) : mem.table().get(resource, index);
}

export function lowerHandle(mem: GuestMemory, kind: 'own' | 'borrow', resource: string, v: unknown): number {
  // A host function hands out new resources; lending a borrowed handle back is not a thing imports do.
  if (kind === 'borrow') throw new CanonError(`cannot lower a borrow<${resource}> from the host`);
  return mem.table().add(resource, v);
}
