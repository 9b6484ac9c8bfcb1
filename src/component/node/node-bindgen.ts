/** jco's bindgen in Node, for the edge's artifact pipeline (upload/transpile.ts), as the CLI's `transpile` runs it. */
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { errorMessage } from '../../core/coded-error.js';
import type { BindgenGenerator } from '../isolate/bindgen-protocol.js';

interface BindgenModule {
  $init: Promise<void>;
  generate(component: Uint8Array, options: unknown): { files: [string, Uint8Array][]; imports: string[]; exports: [string, string][] };
}

let bindgen: Promise<BindgenModule> | undefined;

function loadBindgen(): Promise<BindgenModule> {
  bindgen ??= (async () => {
    const { createRequire } = await import('node:module');
    const req = createRequire(import.meta.url);
    // The same bindgen (jco 1.15.4, `jco-lean-bindgen`) the edge transpiler runs; see
    // build/generate-edge-modules.ts. The package's exports map hides obj/; its entry point sits in src/.
    const pkgDir = join(dirname(req.resolve('jco-lean-bindgen')), '..');
    const mod = (await import(pathToFileURL(join(pkgDir, 'obj', 'js-component-bindgen-component.js')).href)) as BindgenModule;
    await mod.$init;
    return mod;
  })();
  return bindgen;
}

/**
 * A `BindgenGenerator` (see upload/transpile.ts) running jco's js-component-bindgen in this process. A
 * trap poisons the bindgen instance, so the next call loads a fresh one.
 */
export const nodeBindgenGenerator: BindgenGenerator = {
  async generate(component: Uint8Array, options: Record<string, unknown>) {
    const mod = await loadBindgen();
    try {
      const out = mod.generate(component, options);
      return { ok: true, files: out.files, imports: out.imports, exports: out.exports };
    } catch (e) {
      const trapped = e instanceof WebAssembly.RuntimeError || /unreachable|trap|cannot enter component/i.test(String(e));
      if (trapped) bindgen = undefined;
      const payload = (e as { payload?: unknown }).payload;
      return { ok: false, error: typeof payload === 'string' ? payload : errorMessage(e), poisoned: trapped };
    }
  },
};
