/**
 * Build step (Node): produces `src/component/generated/`, the code that the parent Worker hands to
 * Dynamic Workers as module strings.
 *
 * - `transpiler-modules.js`: jco's js-component-bindgen (the transpiler itself) rewritten so every
 *   core module is a static `.wasm` import, because workerd refuses `fetch` + `WebAssembly.compile`
 *   of bytes; bundled with the preview2-shim browser build and our entrypoint into one module.
 * - `isolate-modules.js`: the component runtime (ABI dialects, host-import adapters, and in its
 *   second build WASI and the instantiation-plan executor) that runs inside each per-pack
 *   Dynamic Worker, including
 * - `node-abi.js`: generated node@0.6.0 `invoke` lowering and lifting (canon-codegen.ts).
 *
 * Run by `npm run generate:component` (wired into pretest/predev/pretypecheck/prebench) and by
 * the workers vitest globalSetup. The `.js` output is derived and large, so it is not committed.
 */
import { build } from 'esbuild';
import { nodeAbiModule } from './canon-codegen.js';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const outDir = join(here, 'generated');
/**
 * jco 1.15.4's js-component-bindgen (the `jco-lean-bindgen` alias), not jco-transpile's newer one:
 * from jco 1.16 on, the generated glue carries the component-model async task runtime and runs it
 * on every export and import call, which doubles the glue and costs several milliseconds per cold
 * start (see docs/compat.md, "Component glue"). Shared with the CLI (node-host.ts).
 */
const BINDGEN_DIR = join(root, 'node_modules/jco-lean-bindgen/obj');
const vendorDir = BINDGEN_DIR;
const bindgenName = 'js-component-bindgen-component';

/** Characters of base64 per generated module (2 MiB keeps each well under the pool's message limit). */
const WASM_CHUNK_CHARS = 512 * 1024;

function sha(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** Rewrites the vendored glue's dynamic core-module loads into static imports. */
function rewriteBindgenGlue(workDir: string): { glue: string; wasmFiles: string[] } {
  let glue = readFileSync(join(vendorDir, `${bindgenName}.js`), 'utf8');
  const wasmFiles: string[] = [];
  const imports: string[] = [];
  glue = glue.replace(/fetchCompile\(new URL\('\.\/([^']+\.wasm)', import\.meta\.url\)\)/g, (_m, file: string) => {
    const id = `__gt_wasm_${wasmFiles.length}`;
    copyFileSync(join(vendorDir, file), join(workDir, file));
    wasmFiles.push(file);
    imports.push(`import ${id} from './${file}';`);
    return `Promise.resolve(${id})`;
  });
  let inline = 0;
  glue = glue.replace(/base64Compile\('([A-Za-z0-9+/=]+)'\)/g, (_m, b64: string) => {
    const id = `__gt_wasm_${wasmFiles.length}`;
    const file = `${bindgenName}.inline${inline++}.wasm`;
    writeFileSync(join(workDir, file), Buffer.from(b64, 'base64'));
    wasmFiles.push(file);
    imports.push(`import ${id} from './${file}';`);
    return `Promise.resolve(${id})`;
  });
  if (wasmFiles.length === 0) throw new Error('jco bindgen glue changed shape: no core module loads found');
  return { glue: `${imports.join('\n')}\n${glue}`, wasmFiles };
}

async function bundle(entry: string, external: string[], alias: Record<string, string> = {}): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    external,
    alias,
    // Both bundles are parsed by every cold Dynamic Worker that loads them.
    minify: true,
    legalComments: 'none',
    logLevel: 'error',
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error(`esbuild produced no output for ${entry}`);
  return file.text;
}

/** Atomic write: concurrent generators (both vitest projects) never expose a half-written file. */
function writeAtomic(file: string, body: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, body);
  renameSync(tmp, file);
}

function writeModule(name: string, body: string, dts: string): void {
  writeAtomic(join(outDir, `${name}.js`), body);
  writeAtomic(join(outDir, `${name}.d.ts`), dts);
}

/** Hash of everything the output depends on; unchanged inputs skip the (seconds-long) rebuild. */
function inputsKey(): string {
  const h = createHash('sha256');
  h.update(readFileSync(join(vendorDir, `${bindgenName}.js`)));
  h.update(readFileSync(fileURLToPath(import.meta.url)));
  for (const f of readdirSync(join(here, 'isolate')).sort()) h.update(f).update(readFileSync(join(here, 'isolate', f)));
  // transpiler-main.ts bundles helpers from here too.
  for (const f of ['transpile.ts', 'wasm-fuel.ts', 'canon-codegen.ts']) h.update(f).update(readFileSync(join(here, f)));
  return h.digest('hex');
}

export async function generateEdgeModules(): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const key = inputsKey();
  const stamp = join(outDir, '.inputs');
  const outputs = ['transpiler-modules.js', 'transpiler-wasm-0.js', 'isolate-modules.js', 'node-abi.js'].map((f) => join(outDir, f));
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === key && outputs.every((f) => existsSync(f))) return;
  // The .js files are large and derived; the .d.ts files are tiny and committed so `tsc` works
  // on a fresh checkout before the first generation.
  writeFileSync(join(outDir, '.gitignore'), '*.js\n*.tmp\n.inputs\n');
  const workDir = join(root, '.cache/component-edge', String(process.pid));
  mkdirSync(workDir, { recursive: true });

  const pkg = JSON.parse(readFileSync(join(vendorDir, '../package.json'), 'utf8')) as { version: string };
  const { glue, wasmFiles } = rewriteBindgenGlue(workDir);
  writeFileSync(join(workDir, 'bindgen.js'), glue);
  const transpilerMain = await bundle(join(here, 'isolate/transpiler-main.ts'), ['cloudflare:workers', '*.wasm', 'node:*'], {
    'jco-bindgen-static': join(workDir, 'bindgen.js'),
  });
  // The bindgen's core modules travel gzipped (8.9 MB → 2.9 MB) as base64 text split over
  // several modules: the vitest Workers pool ships modules to workerd over a WebSocket whose
  // messages have a size limit, and the deployed bundle stays small.
  const chunkImports: string[] = [];
  const wasmEntries: string[] = [];
  for (const file of wasmFiles) {
    const b64 = gzipSync(readFileSync(join(workDir, file)), { level: 9 }).toString('base64');
    const parts: string[] = [];
    for (let at = 0; at < b64.length || at === 0; at += WASM_CHUNK_CHARS) {
      const name = `transpiler-wasm-${chunkImports.length}`;
      writeAtomic(join(outDir, `${name}.js`), `export default ${JSON.stringify(b64.slice(at, at + WASM_CHUNK_CHARS))};\n`);
      chunkImports.push(`import ${name.replace(/-/g, '_')} from './${name}.js';`);
      parts.push(name.replace(/-/g, '_'));
    }
    wasmEntries.push(`${JSON.stringify(file)}: ${parts.join(' + ')}`);
  }
  const transpilerVersion = `${pkg.version}-${sha(transpilerMain)}`;
  writeModule(
    'transpiler-modules',
    `${chunkImports.join('\n')}\n` +
      `export const TRANSPILER_VERSION = ${JSON.stringify(transpilerVersion)};\n` +
      `export const TRANSPILER_MAIN = ${JSON.stringify(transpilerMain)};\n` +
      `export const TRANSPILER_WASM_GZIP_BASE64 = { ${wasmEntries.join(', ')} };\n`,
    'export declare const TRANSPILER_VERSION: string;\nexport declare const TRANSPILER_MAIN: string;\n' +
      '/** Core modules of the bindgen, gzip-compressed, base64. */\n' +
      'export declare const TRANSPILER_WASM_GZIP_BASE64: Record<string, string>;\n',
  );

  // Bundled into the runtime below (greentic-abi.ts imports it).
  writeModule(
    'node-abi',
    nodeAbiModule(),
    "import type { GuestMemory } from '../isolate/canon.js';\n" +
      'export declare const INVOKE_PARAMS_SIZE: number;\nexport declare const INVOKE_PARAMS_ALIGN: number;\n' +
      '/** Stores `[op, envelope]` (node@0.6.0 `invoke` parameters) at `ptr`. */\n' +
      'export declare function storeInvokeParams(mem: GuestMemory, ptr: number, value: unknown): void;\n' +
      '/** Reads `result<invocation-result, node-error>` as `{ tag, val }`. */\n' +
      'export declare function loadInvokeResult(mem: GuestMemory, ptr: number): unknown;\n',
  );
  // Two self-contained runtimes: every cold isolate parses one, and only packs with a WASI
  // component need the WASI implementation and the plan executor.
  const runtime = await bundle(join(here, 'isolate/runtime-main.ts'), ['cloudflare:workers']);
  const runtimeWasi = await bundle(join(here, 'isolate/runtime-wasi.ts'), ['cloudflare:workers']);
  writeModule(
    'isolate-modules',
    `export const ISOLATE_RUNTIME_VERSION = ${JSON.stringify(sha(runtime + runtimeWasi))};\n` +
      `export const ISOLATE_RUNTIME = ${JSON.stringify(runtime)};\n` +
      `export const ISOLATE_RUNTIME_WASI = ${JSON.stringify(runtimeWasi)};\n`,
    'export declare const ISOLATE_RUNTIME_VERSION: string;\n' +
      '/** The component runtime for packs whose components import no WASI. */\nexport declare const ISOLATE_RUNTIME: string;\n' +
      '/** The runtime with WASI and the instantiation-plan executor. */\nexport declare const ISOLATE_RUNTIME_WASI: string;\n',
  );
  writeAtomic(stamp, key);
  rmSync(workDir, { recursive: true, force: true });
}

/** vitest globalSetup entry (Node project): make sure the edge modules exist. */
export default async function setup(): Promise<void> {
  await generateEdgeModules();
}

const invokedDirectly = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  await generateEdgeModules();
  console.log(`generated ${outDir}${existsSync(outDir) ? '' : ' (missing!)'}`);
}
