/**
 * Build step (Node): produces `src/component/generated/`, the code that the parent Worker hands to
 * Dynamic Workers as module strings, and `isolate/generated/`, code bundled into those strings.
 *
 * - `transpiler-modules.js`: jco's js-component-bindgen (the transpiler itself) rewritten so every
 *   core module is a static `.wasm` import, because workerd refuses `fetch` + `WebAssembly.compile`
 *   of bytes; bundled with the preview2-shim browser build and our entrypoint into one module.
 * - `isolate-modules.js`: the component runtime (ABI dialects, host-import adapters, and in its
 *   second build WASI and the instantiation-plan executor) that runs inside each per-pack
 *   Dynamic Worker, including
 * - `isolate/generated/node-abi.js`: node@0.6.0 `invoke` lowering and lifting (canon-codegen.ts),
 *   generated beside the isolate code that imports it, so `isolate/` imports nothing above it.
 *
 * Run by wrangler's own build step (`[build]` in wrangler.toml, so `wrangler dev` and every
 * `wrangler deploy` regenerate), by both vitest projects' globalSetup (the Workers plugin does not
 * run wrangler's build) and by the component benches. `npm run generate:component` runs it by hand.
 * The `.js` output is derived and large, so it is not committed; the small `.d.ts` files beside it
 * are hand-written and committed, because `tsc --noEmit` runs on a fresh clone before anything has
 * been generated (generated-modules.node.test.ts checks they declare what the output exports).
 *
 * A rebuild is skipped when nothing it read has changed: `generated/.inputs` records every file
 * the last run read (esbuild's metafile inputs of each bundle, the generator's own module graph and
 * the vendored bindgen files) with one hash over their contents.
 */

import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { nodeAbiModule } from './canon-codegen.js';

/** `src/component/`: this file lives in its `build/` folder. */
const componentDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const root = resolve(componentDir, '../..');
const outDir = join(componentDir, 'generated');
const isolateOutDir = join(componentDir, 'isolate/generated');
/**
 * jco 1.15.4's js-component-bindgen (the `jco-lean-bindgen` alias), not jco-transpile's newer one:
 * from jco 1.16 on, the generated glue carries the component-model async task runtime and runs it
 * on every export and import call, which doubles the glue and costs several milliseconds per cold
 * start (see docs/compat.md, "Component glue"). Shared with the CLI (node/node-host.ts).
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

/** Root-relative paths of every file a generation read; the stamp records them. */
type Inputs = Set<string>;

async function bundle(inputs: Inputs, entry: string, external: string[], alias: Record<string, string> = {}): Promise<string> {
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
    metafile: true,
    absWorkingDir: root,
  });
  for (const input of Object.keys(result.metafile.inputs)) inputs.add(input);
  const file = result.outputFiles[0];
  if (!file) throw new Error(`esbuild produced no output for ${entry}`);
  return file.text;
}

/**
 * Atomic write: concurrent generators (both vitest projects) never expose a half-written file. An
 * unchanged file is left alone, so watchers (wrangler dev, esbuild) see no change.
 */
function writeAtomic(file: string, body: string): void {
  if (existsSync(file) && readFileSync(file, 'utf8') === body) return;
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, body);
  renameSync(tmp, file);
}

function writeModule(name: string, body: string, dir = outDir): void {
  writeAtomic(join(dir, `${name}.js`), body);
}

/** One hash over the inputs' names and contents; null when one of them no longer exists. */
function inputsKey(inputs: readonly string[]): string | null {
  const h = createHash('sha256');
  for (const input of inputs) {
    const file = resolve(root, input);
    if (!existsSync(file)) return null;
    h.update(input).update('\0').update(readFileSync(file)).update('\0');
  }
  return h.digest('hex');
}

/** What the last generation read, and the hash of it then. */
interface Stamp {
  key: string;
  inputs: string[];
}

const stampFile = join(outDir, '.inputs');
const outputs = [
  ...['transpiler-modules.js', 'transpiler-wasm-0.js', 'isolate-modules.js'].map((f) => join(outDir, f)),
  join(isolateOutDir, 'node-abi.js'),
];

function upToDate(): boolean {
  if (!existsSync(stampFile) || !outputs.every((f) => existsSync(f))) return false;
  try {
    const stamp = JSON.parse(readFileSync(stampFile, 'utf8')) as Stamp;
    return Array.isArray(stamp.inputs) && inputsKey(stamp.inputs) === stamp.key;
  } catch {
    return false;
  }
}

/** The generator's own module graph (it runs canon-codegen.ts in-process for node-abi.js). */
async function generatorInputs(inputs: Inputs): Promise<void> {
  const result = await build({
    entryPoints: [fileURLToPath(import.meta.url)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    write: false,
    metafile: true,
    absWorkingDir: root,
    logLevel: 'error',
  });
  for (const input of Object.keys(result.metafile.inputs)) inputs.add(input);
}

export async function generateEdgeModules(): Promise<void> {
  if (upToDate()) return;
  mkdirSync(outDir, { recursive: true });
  mkdirSync(isolateOutDir, { recursive: true });
  const inputs: Inputs = new Set();
  const workDir = join(root, '.cache/component-edge', String(process.pid));
  mkdirSync(workDir, { recursive: true });

  const pkg = JSON.parse(readFileSync(join(vendorDir, '../package.json'), 'utf8')) as { version: string };
  const { glue, wasmFiles } = rewriteBindgenGlue(workDir);
  writeFileSync(join(workDir, 'bindgen.js'), glue);
  const transpilerMain = await bundle(
    inputs,
    join(componentDir, 'isolate/transpiler-main.ts'),
    ['cloudflare:workers', '*.wasm', 'node:*'],
    {
      'jco-bindgen-static': join(workDir, 'bindgen.js'),
    },
  );
  // The rewritten glue is a scratch copy: record the vendored files it came from instead.
  inputs.delete(relative(root, join(workDir, 'bindgen.js')));
  for (const file of [`${bindgenName}.js`, '../package.json', ...wasmFiles.filter((f) => existsSync(join(vendorDir, f)))]) {
    inputs.add(relative(root, join(vendorDir, file)));
  }
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
  );

  // Bundled into the runtime below (greentic-abi.ts imports it).
  writeModule('node-abi', nodeAbiModule(), isolateOutDir);
  await generatorInputs(inputs);
  // Two self-contained runtimes: every cold isolate parses one, and only packs with a WASI
  // component need the WASI implementation and the plan executor.
  const runtime = await bundle(inputs, join(componentDir, 'isolate/runtime-main.ts'), ['cloudflare:workers']);
  const runtimeWasi = await bundle(inputs, join(componentDir, 'isolate/runtime-wasi.ts'), ['cloudflare:workers']);
  writeModule(
    'isolate-modules',
    `export const ISOLATE_RUNTIME_VERSION = ${JSON.stringify(sha(runtime + runtimeWasi))};\n` +
      `export const ISOLATE_RUNTIME = ${JSON.stringify(runtime)};\n` +
      `export const ISOLATE_RUNTIME_WASI = ${JSON.stringify(runtimeWasi)};\n`,
  );
  // The generated node-abi.js is bundled into the runtimes: an output, not an input. Entries
  // esbuild names without a file (a `(disabled):` browser mapping) have no content to hash.
  const sorted = [...inputs].filter((input) => !resolve(root, input).startsWith(isolateOutDir) && existsSync(resolve(root, input))).sort();
  const stamp: Stamp = { key: inputsKey(sorted) ?? '', inputs: sorted };
  writeAtomic(stampFile, `${JSON.stringify(stamp, null, 1)}\n`);
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
