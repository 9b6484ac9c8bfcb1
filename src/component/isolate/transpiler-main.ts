/**
 * Main module of the transpiler Dynamic Worker: jco's js-component-bindgen running at the edge.
 * Bundled by build/generate-edge-modules.ts; `jco-bindgen-static` is the vendored glue rewritten to
 * import its core modules statically.
 */
import { WorkerEntrypoint } from 'cloudflare:workers';
// @ts-expect-error resolved by the esbuild alias at generation time
import { $init, generate } from 'jco-bindgen-static';
import { minify } from 'terser';
import { type GenerateReply, importFunctionsOf } from './bindgen-protocol.js';

let poisoned = false;

/**
 * jco's glue is ~350 KB even for a tiny component, and every cold component isolate parses it
 * (module load, then again when `instantiate` and the first call compile it). Minifying once here,
 * at upload, roughly halves that. Names of functions and classes are kept; nothing is compressed,
 * so the code runs exactly as jco wrote it. A glue terser cannot handle is stored as is.
 */
async function minifyGlue(text: string): Promise<string> {
  try {
    const out = await minify(text, {
      module: true,
      ecma: 2020,
      compress: false,
      mangle: { keep_fnames: true, keep_classnames: true },
      format: { comments: false },
    });
    return out.code ?? text;
  } catch {
    return text;
  }
}

export default class TranspilerEntrypoint extends WorkerEntrypoint {
  async generate(component: Uint8Array, options: Record<string, unknown>): Promise<GenerateReply> {
    if (poisoned) return { ok: false, error: 'transpiler instance trapped earlier', poisoned: true };
    await $init;
    let out: { files: [string, Uint8Array][]; imports: string[]; exports: [string, string][] };
    try {
      out = (generate as (c: Uint8Array, o: unknown) => typeof out)(component, options);
    } catch (err) {
      const trapped = err instanceof WebAssembly.RuntimeError || /unreachable|trap|cannot enter component/i.test(String(err));
      if (trapped) poisoned = true;
      const payload = (err as { payload?: unknown }).payload;
      return {
        ok: false,
        error: typeof payload === 'string' ? payload : err instanceof Error ? err.message : String(err),
        poisoned: trapped,
      };
    }
    const importFunctions: string[] = [];
    const files: [string, Uint8Array][] = [];
    for (const [name, data] of out.files) {
      if (!name.endsWith('.js')) {
        files.push([name, data]);
        continue;
      }
      const text = new TextDecoder().decode(data);
      importFunctions.push(...importFunctionsOf(text));
      files.push([name, new TextEncoder().encode(await minifyGlue(text))]);
    }
    return { ok: true, files, imports: out.imports, exports: out.exports, importFunctions };
  }
}
