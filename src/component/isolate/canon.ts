/**
 * A small Canonical ABI (component model) implementation for the fixed Greentic interfaces the
 * component isolate serves without jco's per-call task runtime: type layouts (size, alignment,
 * flattening), loading values from and storing them into a guest's linear memory.
 *
 * Only the types those interfaces and the WASI functions the isolate lowers itself (wasi-abi.ts)
 * use are supported: bool, u8/u16/u32/u64/s64, string (UTF-8), list, option, result, record,
 * tuple, enum, variant, flags and resource handles (own/borrow, through a `HandleTable`).
 */

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

/**
 * A component instance's resource handles: what the guest holds as an i32 is an index here.
 * Index 0 is never used, as in the canonical ABI. A handle names its resource type, so a guest
 * cannot pass a stream where a descriptor is expected.
 */
export class HandleTable {
  private readonly slots: ({ resource: string; value: unknown } | null)[] = [null];
  private readonly free: number[] = [];

  add(resource: string, value: unknown): number {
    if (value === undefined || value === null) throw new CanonError(`expected a ${resource} resource, got ${String(value)}`);
    const index = this.free.pop() ?? this.slots.length;
    this.slots[index] = { resource, value };
    return index;
  }

  /** The resource behind a borrowed handle. */
  get(resource: string, index: number): unknown {
    const slot = this.slots[index];
    if (!slot || slot.resource !== resource) throw new CanonError(`handle ${index} is not a live ${resource}`);
    return slot.value;
  }

  /** Takes an owned handle out of the table (ownership moves to the callee, or the resource is dropped). */
  remove(resource: string, index: number): unknown {
    const value = this.get(resource, index);
    this.slots[index] = null;
    this.free.push(index);
    return value;
  }

  /** Live handles (tests). */
  get size(): number {
    return this.slots.length - 1 - this.free.length;
  }
}

/** Maximum flattened parameters / results before the ABI passes a pointer instead (spec: 16 / 1). */
export const MAX_FLAT_PARAMS = 16;
export const MAX_FLAT_RESULTS = 1;

export class CanonError extends Error {}

/** A guest's memory and allocator, with views re-created whenever the memory has grown. */
export class GuestMemory {
  /** The component instance's resource handles, for types that hold them (own/borrow). */
  handles: HandleTable | null = null;
  private buffer: ArrayBuffer | null = null;
  private dv: DataView | null = null;
  private u8: Uint8Array | null = null;

  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly realloc: (oldPtr: number, oldSize: number, align: number, newSize: number) => number,
  ) {}

  private refresh(): void {
    const buffer = this.memory.buffer as ArrayBuffer;
    if (buffer !== this.buffer) {
      this.buffer = buffer;
      this.dv = new DataView(buffer);
      this.u8 = new Uint8Array(buffer);
    }
  }

  view(): DataView {
    this.refresh();
    return this.dv!;
  }

  bytes(): Uint8Array {
    this.refresh();
    return this.u8!;
  }

  alloc(size: number, align: number): number {
    if (size === 0) return align;
    const ptr = this.realloc(0, 0, align, size) >>> 0;
    if (ptr % align !== 0) throw new CanonError(`guest realloc returned a pointer not aligned to ${align}`);
    if (ptr + size > this.memory.buffer.byteLength) throw new CanonError('guest realloc returned a pointer outside its memory');
    return ptr;
  }

  /** Copies `len` bytes out of guest memory (the guest may reuse the region afterwards). */
  readBytes(ptr: number, len: number): Uint8Array {
    const mem = this.bytes();
    if (ptr + len > mem.length) throw new CanonError(`list [${ptr}, +${len}] is outside guest memory`);
    return mem.slice(ptr, ptr + len);
  }

  readString(ptr: number, len: number): string {
    const mem = this.bytes();
    if (ptr + len > mem.length) throw new CanonError(`string [${ptr}, +${len}] is outside guest memory`);
    // Short ASCII strings (ids, keys) decode faster by hand than through TextDecoder.
    if (len <= 64) {
      let s = '';
      for (let i = 0; i < len; i++) {
        const c = mem[ptr + i]!;
        if (c >= 0x80) return decoder.decode(mem.subarray(ptr, ptr + len));
        s += String.fromCharCode(c);
      }
      return s;
    }
    return decoder.decode(mem.subarray(ptr, ptr + len));
  }

  /** Writes a string into fresh guest memory and its (ptr, len) pair at `at`. */
  storeString(at: number, v: unknown): void {
    if (typeof v !== 'string') throw new CanonError(`expected a string, got ${typeof v}`);
    const [p, n] = this.writeString(v);
    const dv = this.view();
    dv.setUint32(at, p, true);
    dv.setUint32(at + 4, n, true);
  }

  /** Writes a `list<u8>` into fresh guest memory and its (ptr, len) pair at `at`. */
  storeBytes(at: number, v: unknown): void {
    if (!(v instanceof Uint8Array)) throw new CanonError('expected bytes (Uint8Array)');
    const [p, n] = this.writeBytes(v);
    const dv = this.view();
    dv.setUint32(at, p, true);
    dv.setUint32(at + 4, n, true);
  }

  /** Reads the string whose (ptr, len) pair is at `at`. */
  loadString(at: number): string {
    const dv = this.view();
    return this.readString(dv.getUint32(at, true), dv.getUint32(at + 4, true));
  }

  /** Copies out the `list<u8>` whose (ptr, len) pair is at `at`. */
  loadBytes(at: number): Uint8Array {
    const dv = this.view();
    return this.readBytes(dv.getUint32(at, true), dv.getUint32(at + 4, true));
  }

  loadBool(at: number): boolean {
    const b = this.view().getUint8(at);
    if (b > 1) throw new CanonError(`invalid bool ${b}`);
    return b === 1;
  }

  /** Checks an unsigned integer argument against its type's range. */
  int(value: unknown, what: string, max: number): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max)
      throw new CanonError(`expected a ${what}, got ${String(value)}`);
    return value;
  }

  /** The handle table, for lifting and lowering resource handles. */
  table(): HandleTable {
    if (!this.handles) throw new CanonError('resource handles used without a handle table');
    return this.handles;
  }

  /** Throws the error for a discriminant outside its type's cases. */
  invalid(kind: string, d: number): never {
    throw new CanonError(`invalid ${kind} discriminant ${d}`);
  }

  /** Allocates and writes `bytes`; returns [ptr, len]. */
  writeBytes(bytes: Uint8Array): [number, number] {
    const ptr = this.alloc(bytes.length, 1);
    this.bytes().set(bytes, ptr);
    return [ptr, bytes.length];
  }

  /** Allocates and writes `s` as UTF-8; returns [ptr, len]. */
  writeString(s: string): [number, number] {
    const n = s.length;
    let ascii = true;
    for (let i = 0; i < n; i++) {
      if (s.charCodeAt(i) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (!ascii) return this.writeBytes(encoder.encode(s));
    const ptr = this.alloc(n, 1);
    const mem = this.bytes();
    for (let i = 0; i < n; i++) mem[ptr + i] = s.charCodeAt(i);
    return [ptr, n];
  }
}

// Not fatal, as jco's glue: ill-formed UTF-8 from a guest decodes with replacement characters.
const decoder = new TextDecoder();
const encoder = new TextEncoder();

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
function readList(mem: GuestMemory, el: Layout, p: number, n: number): unknown[] {
  if (p % el.align !== 0) throw new CanonError(`list pointer ${p} is not aligned to ${el.align}`);
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) out.push(el.load(mem, p + i * el.size));
  return out;
}

/** Element layouts of lists lifted from flat arguments, compiled once per type description. */
const elementLayouts = new WeakMap<CanonType, Layout>();

function elementLayout(type: CanonType): Layout {
  let l = elementLayouts.get(type);
  if (!l) elementLayouts.set(type, (l = layoutOf(type)));
  return l;
}

function flagsOf(names: string[], bits: number): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  names.forEach((n, i) => (out[camel(n)] = (bits & (1 << i)) !== 0));
  return out;
}

function flagBits(names: string[], v: unknown): number {
  if (typeof v !== 'object' || v === null) throw new CanonError('expected a flags object');
  const set = v as Record<string, unknown>;
  let bits = 0;
  names.forEach((n, i) => {
    if (set[camel(n)] || set[n]) bits |= 1 << i;
  });
  return bits >>> 0;
}

function liftHandle(mem: GuestMemory, kind: 'own' | 'borrow', resource: string, index: number): unknown {
  return kind === 'own' ? mem.table().remove(resource, index) : mem.table().get(resource, index);
}

function lowerHandle(mem: GuestMemory, kind: 'own' | 'borrow', resource: string, v: unknown): number {
  // A host function hands out new resources; lending a borrowed handle back is not a thing imports do.
  if (kind === 'borrow') throw new CanonError(`cannot lower a borrow<${resource}> from the host`);
  return mem.table().add(resource, v);
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
