/**
 * jco's transpiler at the edge: js-component-bindgen runs inside its own Dynamic Worker (the
 * parent may not compile Wasm from bytes). A trap poisons the bindgen instance, so after one the
 * next call gets a fresh isolate under a new id.
 */
import { TRANSPILER_MAIN, TRANSPILER_VERSION, TRANSPILER_WASM_GZIP_BASE64 } from '../generated/transpiler-modules.js';
import type { BindgenGenerator, GenerateReply } from '../isolate/bindgen-protocol.js';

interface TranspilerEntrypoint {
  generate(component: Uint8Array, options: Record<string, unknown>): Promise<GenerateReply>;
}

let wasmModules: Promise<Record<string, { wasm: ArrayBuffer }>> | undefined;
let generation = 0;

async function gunzipBase64(b64: string): Promise<ArrayBuffer> {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer();
}

/** The bindgen's core modules, decompressed once per parent isolate. */
async function transpilerModules(): Promise<Record<string, string | { wasm: ArrayBuffer }>> {
  wasmModules ??= Promise.all(
    Object.entries(TRANSPILER_WASM_GZIP_BASE64).map(async ([name, b64]) => [name, { wasm: await gunzipBase64(b64) }] as const),
  ).then((entries) => Object.fromEntries(entries));
  try {
    return { 'main.js': TRANSPILER_MAIN, ...(await wasmModules) };
  } catch (err) {
    wasmModules = undefined;
    throw err;
  }
}

export class EdgeTranspiler implements BindgenGenerator {
  constructor(private readonly loader: WorkerLoader) {}

  async generate(component: Uint8Array, options: Record<string, unknown>): Promise<GenerateReply> {
    const id = `greentic-jco-transpiler:${TRANSPILER_VERSION}:${generation}`;
    const worker = this.loader.get(id, async () => ({
      compatibilityDate: '2026-10-01',
      mainModule: 'main.js',
      modules: await transpilerModules(),
      globalOutbound: null,
    }));
    const entry = worker.getEntrypoint() as unknown as TranspilerEntrypoint;
    const reply = await entry.generate(component, options);
    if (reply.poisoned) generation++;
    return reply;
  }
}
