/**
 * Fuel metering for core Wasm modules. Every `loop` body starts by decrementing a mutable global
 * and traps with `unreachable` once it reaches zero; the runtime sets the budget before each call
 * through the exported global `__greentic_fuel`. This stops an infinite loop inside one isolate
 * even where `limits.cpuMs` is not enforced (workerd locally enforces no CPU limits at all), and
 * it is deterministic. Metering applies the memory cap (memory-cap.ts) in the same pass.
 */
import { capMemories } from './memory-cap.js';
import { assemble, concat, Reader, sectionsOf, uleb, valType, WasmRewriteError } from './reader.js';

export const FUEL_EXPORT = '__greentic_fuel';

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

export interface MeterOptions {
  /** Upper bound on each linear memory, in 64 KiB pages. */
  memoryCapPages?: number;
}

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
