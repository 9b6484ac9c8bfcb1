/**
 * Reading and re-assembling core WebAssembly binaries: the LEB128 reader every binary walker here
 * shares (fuel metering, the memory cap, module interfaces, the upload's component plan and shim
 * checks), a module's sections, and the limits and import descriptors several of them skip over.
 */
import { CodedError } from '../../core/coded-error.js';

/** A binary this code cannot read or rewrite (the component then keeps jco's glue, or is refused). */
export class WasmRewriteError extends CodedError<'component.wasm-rewrite'> {
  constructor(message: string) {
    super('component.wasm-rewrite', message);
  }
}

export class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }
  byte(): number {
    if (this.pos >= this.end) throw new WasmRewriteError(`unexpected end of module at byte ${this.pos}`);
    return this.buf[this.pos++]!;
  }
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 35) throw new WasmRewriteError(`LEB128 too long at byte ${this.pos}`);
    }
  }
  /** A signed LEB128 of at most 32 bits (e.g. an `i32.const` operand). */
  s32(): number {
    let result = 0;
    let shift = 0;
    let b: number;
    do {
      b = this.byte();
      result |= (b & 0x7f) << shift;
      shift += 7;
      if (shift > 35) throw new WasmRewriteError(`LEB128 too long at byte ${this.pos}`);
    } while (b & 0x80);
    return shift < 32 && b & 0x40 ? result | (-1 << shift) : result;
  }
  /** Skips a signed LEB128 of any width. */
  sleb(): void {
    while (this.byte() & 0x80) {
      /* continuation */
    }
  }
  skip(n: number): void {
    this.pos += n;
    if (this.pos > this.end) throw new WasmRewriteError('unexpected end of module');
  }
  name(): string {
    const len = this.u32();
    const s = new TextDecoder().decode(this.buf.subarray(this.pos, this.pos + len));
    this.skip(len);
    return s;
  }
}

/** Unsigned LEB128, as the binary format writes sizes and indices. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

export function concat(parts: (Uint8Array | number[])[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function valType(r: Reader): void {
  const b = r.byte();
  if (b === 0x63 || b === 0x64) r.sleb();
}

export interface Section {
  id: number;
  body: Uint8Array;
}

/** Checks the header of a core module and splits it into its sections (bodies are views). */
export function sectionsOf(wasm: Uint8Array): Section[] {
  if (wasm.length < 8 || wasm[0] !== 0 || wasm[1] !== 0x61 || wasm[2] !== 0x73 || wasm[3] !== 0x6d || wasm[4] !== 1) {
    throw new WasmRewriteError('not a core WebAssembly module (bad magic or version)');
  }
  const r = new Reader(wasm, 8);
  const sections: Section[] = [];
  while (r.pos < wasm.length) {
    const id = r.byte();
    const size = r.u32();
    sections.push({ id, body: wasm.subarray(r.pos, r.pos + size) });
    r.skip(size);
  }
  return sections;
}

export function assemble(wasm: Uint8Array, sections: Section[]): Uint8Array {
  const out: (Uint8Array | number[])[] = [wasm.subarray(0, 8)];
  for (const s of sections) out.push([s.id, ...uleb(s.body.length)], s.body);
  return concat(out);
}

/** A memory's or table's limits, its maximum lowered to `capPages` (plain 32-bit memories only). */
export function limitsWithCap(r: Reader, capPages: number): { bytes: number[]; min: number } {
  const flags = r.byte();
  const min = r.u32();
  const hasMax = (flags & 1) === 1;
  const max = hasMax ? r.u32() : undefined;
  // Only plain 32-bit memories are capped; shared or 64-bit ones keep their limits.
  if (flags & ~1) return { bytes: [flags, ...uleb(min), ...(max === undefined ? [] : uleb(max))], min };
  const newMax = Math.max(min, Math.min(max ?? capPages, capPages));
  return { bytes: [0x01, ...uleb(min), ...uleb(newMax)], min };
}

/** Skips an import's type: function index, table, memory, global or tag. */
export function skipImportDesc(r: Reader, kind: number): void {
  if (kind === 0) r.u32();
  else if (kind === 1) {
    valType(r);
    limitsWithCap(r, Number.MAX_SAFE_INTEGER);
  } else if (kind === 2) limitsWithCap(r, Number.MAX_SAFE_INTEGER);
  else if (kind === 3) {
    valType(r);
    r.byte();
  } else if (kind === 4) {
    r.byte();
    r.u32();
  } else throw new WasmRewriteError(`unknown import kind ${kind}`);
}
