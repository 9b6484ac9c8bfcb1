/**
 * jco's transpiler at the edge: js-component-bindgen runs inside its own Dynamic Worker (the
 * parent may not compile Wasm from bytes). A trap poisons the bindgen instance, so after one the
 * next call gets a fresh isolate under a new id.
 */
import { TRANSPILER_MAIN, TRANSPILER_VERSION, TRANSPILER_WASM_BASE64 } from './generated/transpiler-modules.js';
import type { BindgenGenerator, GenerateReply } from './transpile.js';

interface TranspilerEntrypoint {
  generate(component: Uint8Array, options: Record<string, unknown>): Promise<GenerateReply>;
}

let wasmModules: Record<string, { wasm: ArrayBuffer }> | undefined;
let generation = 0;

function decodeBase64(b64: string): ArrayBuffer {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out.buffer;
}

function transpilerModules(): Record<string, string | { wasm: ArrayBuffer }> {
  wasmModules ??= Object.fromEntries(Object.entries(TRANSPILER_WASM_BASE64).map(([name, b64]) => [name, { wasm: decodeBase64(b64) }]));
  return { 'main.js': TRANSPILER_MAIN, ...wasmModules };
}

export class EdgeTranspiler implements BindgenGenerator {
  constructor(private readonly loader: WorkerLoader) {}

  async generate(component: Uint8Array, options: Record<string, unknown>): Promise<GenerateReply> {
    const id = `greentic-jco-transpiler:${TRANSPILER_VERSION}:${generation}`;
    const worker = this.loader.get(id, () => ({
      compatibilityDate: '2026-10-01',
      mainModule: 'main.js',
      modules: transpilerModules(),
      globalOutbound: null,
    }));
    const entry = worker.getEntrypoint() as unknown as TranspilerEntrypoint;
    const reply = await entry.generate(component, options);
    if (reply.poisoned) generation++;
    return reply;
  }
}
