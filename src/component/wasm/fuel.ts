/**
 * Fuel metering for core Wasm modules. Every `loop` body starts by decrementing a mutable global
 * and traps with `unreachable` once it reaches zero; the runtime sets the budget before each call
 * through the exported global `__greentic_fuel`. This stops an infinite loop inside one isolate
 * even where `limits.cpuMs` is not enforced (workerd locally enforces no CPU limits at all), and
 * it is deterministic. The module's memories can also be capped so runaway allocation fails with
 * a failed `memory.grow` instead of exhausting the isolate. `coreModuleInterface` reads a module's
 * imports and exports with the same reader, without compiling it.
 */

export const FUEL_EXPORT = '__greentic_fuel';

export class WasmRewriteError extends Error {
  readonly code = 'component.wasm-rewrite';
  constructor(message: string) {
    super(message);
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

function sleb32(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function concat(parts: (Uint8Array | number[])[]): Uint8Array {
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

function blockType(r: Reader): void {
  const b = r.buf[r.pos]!;
  if (b === 0x63 || b === 0x64) {
    r.skip(1);
    r.sleb();
  } else r.sleb();
}

function memarg(r: Reader): void {
  const align = r.u32();
  if (align & 0x40) r.u32();
  r.u32();
}

function valType(r: Reader): void {
  const b = r.byte();
  if (b === 0x63 || b === 0x64) r.sleb();
}

/** Skips one instruction's immediates; returns true for `loop`. */
function instruction(r: Reader, op: number): boolean {
  if (op === 0x03) {
    blockType(r);
    return true;
  }
  if (op === 0x02 || op === 0x04 || op === 0x06) return (blockType(r), false);
  if (op === 0x1f) {
    blockType(r);
    const n = r.u32();
    for (let i = 0; i < n; i++) {
      const kind = r.byte();
      if (kind === 0 || kind === 1) r.u32();
      r.u32();
    }
    return false;
  }
  if (op === 0x0e) {
    const n = r.u32();
    for (let i = 0; i <= n; i++) r.u32();
    return false;
  }
  if (op === 0x11 || op === 0x13) return (r.u32(), r.u32(), false);
  if ([0x07, 0x08, 0x09, 0x0c, 0x0d, 0x10, 0x12, 0x14, 0x15, 0x18, 0xd2, 0xd5, 0xd6].includes(op)) return (r.u32(), false);
  if (op >= 0x20 && op <= 0x26) return (r.u32(), false);
  if (op >= 0x28 && op <= 0x3e) return (memarg(r), false);
  if (op === 0x3f || op === 0x40) return (r.u32(), false);
  if (op === 0x41 || op === 0x42) return (r.sleb(), false);
  if (op === 0x43) return (r.skip(4), false);
  if (op === 0x44) return (r.skip(8), false);
  if (op === 0x1c) {
    const n = r.u32();
    for (let i = 0; i < n; i++) valType(r);
    return false;
  }
  if (op === 0xd0) return (r.sleb(), false);
  if (op === 0xfc) {
    const sub = r.u32();
    if (sub <= 7) return false;
    if (sub === 8 || sub === 10 || sub === 12 || sub === 14) return (r.u32(), r.u32(), false);
    if (sub <= 17) return (r.u32(), false);
    throw new WasmRewriteError(`unsupported 0xfc ${sub} instruction`);
  }
  if (op === 0xfd) {
    const sub = r.u32();
    if (sub <= 11 || sub === 92 || sub === 93) return (memarg(r), false);
    if (sub === 12 || sub === 13) return (r.skip(16), false);
    if (sub >= 21 && sub <= 34) return (r.skip(1), false);
    if (sub >= 84 && sub <= 91) return (memarg(r), r.skip(1), false);
    return false;
  }
  if (op === 0xfe) {
    const sub = r.u32();
    if (sub === 3) return (r.skip(1), false);
    return (memarg(r), false);
  }
  if ((op >= 0x45 && op <= 0xc4) || [0x00, 0x01, 0x05, 0x0a, 0x0b, 0x0f, 0x19, 0x1a, 0x1b, 0xd1, 0xd3, 0xd4].includes(op)) return false;
  throw new WasmRewriteError(`unsupported opcode 0x${op.toString(16)} at byte ${r.pos - 1}`);
}

function meterBody(body: Uint8Array, check: number[]): Uint8Array | null {
  const r = new Reader(body);
  const groups = r.u32();
  for (let i = 0; i < groups; i++) {
    r.u32();
    valType(r);
  }
  const cuts: number[] = [];
  while (r.pos < body.length) {
    const op = r.byte();
    if (instruction(r, op)) cuts.push(r.pos);
  }
  if (cuts.length === 0) return null;
  const parts: (Uint8Array | number[])[] = [];
  let last = 0;
  for (const cut of cuts) {
    parts.push(body.subarray(last, cut), check);
    last = cut;
  }
  parts.push(body.subarray(last));
  return concat(parts);
}

export interface Section {
  id: number;
  body: Uint8Array;
}

function limitsWithCap(r: Reader, capPages: number): { bytes: number[]; min: number } {
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
function skipImportDesc(r: Reader, kind: number): void {
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

export interface MeterOptions {
  /** Upper bound on each linear memory, in 64 KiB pages. */
  memoryCapPages?: number;
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

/**
 * Caps every plain 32-bit memory (imported or defined) at `capPages`, rewriting the import and
 * memory sections in place, and returns the number of imported globals and the largest initial
 * size among the memories (in pages). Without a cap the sections are only read.
 */
function capMemories(sections: Section[], cap: number | undefined): { importedGlobals: number; minPages: number } {
  let importedGlobals = 0;
  let minPages = 0;
  const capped = (r: Reader): number[] => {
    const limits = limitsWithCap(r, cap ?? Number.MAX_SAFE_INTEGER);
    minPages = Math.max(minPages, limits.min);
    return limits.bytes;
  };
  for (const s of sections) {
    if (s.id === 2) {
      const ir = new Reader(s.body);
      const n = ir.u32();
      const rebuilt: (Uint8Array | number[])[] = [uleb(n)];
      for (let i = 0; i < n; i++) {
        const start = ir.pos;
        ir.name();
        ir.name();
        const kind = ir.byte();
        if (kind === 2) {
          rebuilt.push(s.body.subarray(start, ir.pos), capped(ir));
          continue;
        }
        skipImportDesc(ir, kind);
        if (kind === 3) importedGlobals++;
        rebuilt.push(s.body.subarray(start, ir.pos));
      }
      if (cap !== undefined) s.body = concat(rebuilt);
    } else if (s.id === 5) {
      const mr = new Reader(s.body);
      const n = mr.u32();
      const rebuilt: number[] = uleb(n);
      for (let i = 0; i < n; i++) rebuilt.push(...capped(mr));
      if (cap !== undefined) s.body = Uint8Array.from(rebuilt);
    }
  }
  return { importedGlobals, minPages };
}

function assemble(wasm: Uint8Array, sections: Section[]): Uint8Array {
  const out: (Uint8Array | number[])[] = [wasm.subarray(0, 8)];
  for (const s of sections) out.push([s.id, ...uleb(s.body.length)], s.body);
  return concat(out);
}

/**
 * Lowers the maximum of every memory of an already metered module to `capPages` (a manifest's
 * `memory_mb` below the transpile-time cap), so a `memory.grow` past it fails. Throws
 * MemoryLimitError when a memory's initial size is already above the cap.
 */
export function capCoreModuleMemory(wasm: Uint8Array, capPages: number): Uint8Array {
  const sections = sectionsOf(wasm);
  const { minPages } = capMemories(sections, capPages);
  if (minPages > capPages) throw new MemoryLimitError(minPages, capPages);
  return assemble(wasm, sections);
}

export class MemoryLimitError extends Error {
  readonly code = 'oom';
  constructor(
    readonly minPages: number,
    readonly capPages: number,
  ) {
    super(`its memory starts at ${mib(minPages)} MiB, above its limit of ${mib(capPages)} MiB`);
  }
}

const mib = (pages: number): string => String(Math.round((pages / 16) * 100) / 100);

/** Returns the module with loop metering (and optional memory cap) applied. */
export function meterCoreModule(wasm: Uint8Array, opts: MeterOptions = {}): Uint8Array {
  const sections = sectionsOf(wasm);
  const { importedGlobals } = capMemories(sections, opts.memoryCapPages);
  const globalsSection = sections.find((s) => s.id === 6);
  const definedGlobals = globalsSection ? new Reader(globalsSection.body).u32() : 0;
  const g = uleb(importedGlobals + definedGlobals);
  const check = [0x23, ...g, 0x45, 0x04, 0x40, 0x00, 0x0b, 0x23, ...g, 0x41, 0x01, 0x6b, 0x24, ...g];
  // Instantiation-time code (start functions, componentize-js wizer init) runs before the host
  // sets a budget, so the initial value is effectively unlimited.
  const newGlobal = [0x7f, 0x01, 0x41, ...sleb32(0x7fffffff), 0x0b];
  const newExport = [...uleb(FUEL_EXPORT.length), ...new TextEncoder().encode(FUEL_EXPORT), 0x03, ...g];

  const order = (id: number): number => [0, 1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11].indexOf(id);
  const insert = (id: number, body: Uint8Array) => {
    const at = sections.findIndex((s) => s.id !== 0 && order(s.id) > order(id));
    sections.splice(at < 0 ? sections.length : at, 0, { id, body });
  };
  const globals = sections.find((s) => s.id === 6);
  if (globals) {
    const gr = new Reader(globals.body);
    const n = gr.u32();
    globals.body = concat([uleb(n + 1), globals.body.subarray(gr.pos), newGlobal]);
  } else insert(6, concat([uleb(1), newGlobal]));
  const exports = sections.find((s) => s.id === 7);
  if (exports) {
    const er = new Reader(exports.body);
    const n = er.u32();
    exports.body = concat([uleb(n + 1), exports.body.subarray(er.pos), newExport]);
  } else insert(7, concat([uleb(1), newExport]));
  const code = sections.find((s) => s.id === 10);
  if (code) {
    const cr = new Reader(code.body);
    const n = cr.u32();
    const parts: (Uint8Array | number[])[] = [uleb(n)];
    for (let i = 0; i < n; i++) {
      const size = cr.u32();
      const body = code.body.subarray(cr.pos, cr.pos + size);
      cr.skip(size);
      const metered = meterBody(body, check);
      if (metered) parts.push(uleb(metered.length), metered);
      else parts.push(uleb(size), body);
    }
    code.body = concat(parts);
  }
  return assemble(wasm, sections);
}

export type ExternKind = 'function' | 'table' | 'memory' | 'global' | 'tag';
const EXTERN_KINDS: ExternKind[] = ['function', 'table', 'memory', 'global', 'tag'];

export interface CoreModuleInterface {
  imports: { module: string; name: string; kind: ExternKind }[];
  exports: { name: string; kind: ExternKind }[];
}

/**
 * A core module's imports and exports, as `WebAssembly.Module.imports`/`exports` would list them,
 * read from the binary without compiling it (sections other than import and export are skipped
 * by their length, so a 12 MB module costs no more than a small one).
 */
export function coreModuleInterface(wasm: Uint8Array): CoreModuleInterface {
  const out: CoreModuleInterface = { imports: [], exports: [] };
  const kindOf = (b: number): ExternKind => {
    const kind = EXTERN_KINDS[b];
    if (!kind) throw new WasmRewriteError(`unknown extern kind ${b}`);
    return kind;
  };
  for (const { id, body } of sectionsOf(wasm)) {
    if (id !== 2 && id !== 7) continue;
    const s = new Reader(body);
    const n = s.u32();
    for (let i = 0; i < n; i++) {
      if (id === 7) {
        const name = s.name();
        out.exports.push({ name, kind: kindOf(s.byte()) });
        s.u32();
        continue;
      }
      const module = s.name();
      const name = s.name();
      const b = s.byte();
      out.imports.push({ module, name, kind: kindOf(b) });
      skipImportDesc(s, b);
    }
  }
  return out;
}
