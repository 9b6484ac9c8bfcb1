/**
 * The memory cap: every plain 32-bit linear memory of a core module gets a maximum, so runaway
 * allocation fails with a failed `memory.grow` instead of exhausting the isolate. Applied at
 * transpile time with the default cap (fuel.ts) and again when a pack isolate loads a component
 * whose manifest sets a lower `memory_mb`.
 */
import { CodedError } from '../../core/coded-error.js';
import { assemble, concat, limitsWithCap, Reader, type Section, sectionsOf, skipImportDesc, uleb } from './reader.js';

/**
 * Caps every plain 32-bit memory (imported or defined) at `capPages`, rewriting the import and
 * memory sections in place, and returns the number of imported globals and the largest initial
 * size among the memories (in pages). Without a cap the sections are only read.
 */
export function capMemories(sections: Section[], cap: number | undefined): { importedGlobals: number; minPages: number } {
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

/** The component's memory starts above its limit: it cannot run at all. */
export class MemoryLimitError extends CodedError<'oom'> {
  constructor(
    readonly minPages: number,
    readonly capPages: number,
  ) {
    super('oom', `its memory starts at ${mib(minPages)} MiB, above its limit of ${mib(capPages)} MiB`);
  }
}

const mib = (pages: number): string => String(Math.round((pages / 16) * 100) / 100);
