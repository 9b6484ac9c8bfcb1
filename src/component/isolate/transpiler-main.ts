/**
 * Main module of the transpiler Dynamic Worker: jco's js-component-bindgen running at the edge.
 * Bundled by generate-edge-modules.ts; `jco-bindgen-static` is the vendored glue rewritten to
 * import its core modules statically.
 */
import { WorkerEntrypoint } from 'cloudflare:workers';
// @ts-expect-error resolved by the esbuild alias at generation time
import { $init, generate } from 'jco-bindgen-static';

export interface GenerateReply {
  ok: boolean;
  files?: [string, Uint8Array][];
  imports?: string[];
  exports?: [string, string][];
  error?: string;
  /** The bindgen instance trapped and must not be entered again: the parent loads a fresh isolate. */
  poisoned?: boolean;
}

let poisoned = false;

export default class TranspilerEntrypoint extends WorkerEntrypoint {
  async generate(component: Uint8Array, options: Record<string, unknown>): Promise<GenerateReply> {
    if (poisoned) return { ok: false, error: 'transpiler instance trapped earlier', poisoned: true };
    await $init;
    try {
      const out = (generate as (c: Uint8Array, o: unknown) => { files: [string, Uint8Array][]; imports: string[]; exports: [string, string][] })(
        component,
        options,
      );
      return { ok: true, files: out.files, imports: out.imports, exports: out.exports };
    } catch (err) {
      const trapped = err instanceof WebAssembly.RuntimeError || /unreachable|trap|cannot enter component/i.test(String(err));
      if (trapped) poisoned = true;
      const payload = (err as { payload?: unknown }).payload;
      return { ok: false, error: typeof payload === 'string' ? payload : err instanceof Error ? err.message : String(err), poisoned: trapped };
    }
  }
}
