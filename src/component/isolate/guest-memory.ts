/**
 * A guest's linear memory as the canonical ABI code reads and writes it (views re-created when the
 * memory grows, strings and byte lists, range-checked integers), and the instance's resource
 * handle table.
 */

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
