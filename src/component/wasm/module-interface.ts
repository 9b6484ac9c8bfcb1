/** A core module's imports and exports, read from its binary without compiling it. */
import { Reader, sectionsOf, skipImportDesc, WasmRewriteError } from './reader.js';

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
