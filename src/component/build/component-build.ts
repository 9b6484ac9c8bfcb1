// Builds a TypeScript component directory into a WebAssembly component with componentize-js.
//
// Directory convention (the `greentic-component new` template and the test fixtures use it):
//   component.manifest.json   upstream manifest (name, version, operations, capabilities)
//   src/index.ts              entry module exporting the world's interfaces (e.g. `node`)
//   wit/*.wit                 the component's own package with its world
//   wit/deps/<pkg>/*.wit      optional copies of dependency packages (wasm-tools layout)
// Packages not found under wit/deps are taken from this repository's `wit/` folder.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256HexAsync } from '../../pack/digest.js';
import { uleb } from '../wasm/reader.js';
import { ComponentBuildError } from './component-build-error.js';
import { witSourceForComponentDir } from './wit-source.js';

/** Repository root, for the default `.cache` location. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DEFAULT_BUILD_CACHE = join(REPO_ROOT, '.cache', 'component-build');

/** Bumped when the build pipeline changes in a way that changes its output. */
const PIPELINE_VERSION = 2;
/** componentize-js features left out: components reach the network only through host imports. */
const DISABLED_FEATURES = ['http', 'fetch-event'] as const;
/** The byte string upstream `greentic-component build/doctor` look for in a component binary. */
const WASI_TARGET_MARKER = 'wasm32-wasip2';
const WASI_TARGET_SECTION = '.greentic.wasi';

export interface BuildComponentOptions {
  /** The component directory. */
  dir: string;
  /** Entry module, relative to `dir` (default `src/index.ts`). */
  entry?: string;
  /** World to target (default: the only world declared in `wit/*.wit`). */
  worldName?: string;
  /** File name of the `.wasm` without extension (default: manifest `name`, else the folder name). */
  name?: string;
  /** Cache root; the component lands in `<cacheRoot>/<key>/<name>.wasm`. */
  cacheRoot?: string;
  /** Progress lines (default: stderr). */
  onProgress?: (line: string) => void;
}

export interface BuildComponentResult {
  name: string;
  wasmPath: string;
  /** Cache key: sha256 over the bundled JS, the WIT text, the world and the tool versions. */
  key: string;
  sha256: string;
  size: number;
  cached: boolean;
  durationMs: number;
  world: string;
}

interface ManifestHead {
  name?: string;
}

async function readManifestHead(dir: string): Promise<ManifestHead> {
  const file = join(dir, 'component.manifest.json');
  if (!existsSync(file)) return {};
  try {
    const v: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const name = (v as Record<string, unknown>).name;
      return typeof name === 'string' ? { name } : {};
    }
  } catch (e) {
    throw new ComponentBuildError('ManifestInvalid', `${file}: ${(e as Error).message}`);
  }
  throw new ComponentBuildError('ManifestInvalid', `${file}: the manifest must be a JSON object`);
}

async function toolVersions(): Promise<{ componentize: string; esbuild: string }> {
  // Read from package.json: importing componentize-js itself costs seconds.
  const version = async (pkg: string): Promise<string> => {
    for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
      const file = join(dir, 'node_modules', pkg, 'package.json');
      if (existsSync(file)) return (JSON.parse(await readFile(file, 'utf8')) as { version?: string }).version ?? 'unknown';
    }
    return 'unknown';
  };
  return { componentize: await version('@bytecodealliance/componentize-js'), esbuild: await version('esbuild') };
}

/** Bundles the entry into one ES module; `greentic:*` / `wasi:*` imports stay imports of the world. */
export async function bundleComponentSource(dir: string, entry: string): Promise<string> {
  const esbuild = await import('esbuild');
  const entryPath = resolve(dir, entry);
  if (!existsSync(entryPath)) throw new ComponentBuildError('EntryMissing', `${entryPath} does not exist`);
  try {
    const out = await esbuild.build({
      entryPoints: [entryPath],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'neutral',
      target: 'es2022',
      external: ['greentic:*', 'wasi:*'],
      logLevel: 'silent',
      legalComments: 'none',
      // Paths in the bundle are relative to the component so the cache key does not depend on
      // where the checkout lives.
      absWorkingDir: dir,
    });
    const file = out.outputFiles[0];
    if (!file) throw new ComponentBuildError('BundleFailed', `${entryPath}: esbuild produced no output`);
    return file.text;
  } catch (e) {
    if (e instanceof ComponentBuildError) throw e;
    const errs = (e as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }).errors;
    const first = errs?.[0];
    const where = first?.location ? `${join(dir, first.location.file)}:${first.location.line}:${first.location.column + 1}` : entryPath;
    throw new ComponentBuildError('BundleFailed', `${where}: ${first?.text ?? (e as Error).message}`);
  }
}

/** Appends a component-level custom section carrying the `wasm32-wasip2` marker upstream tools expect. */
export function withWasiTargetMarker(component: Uint8Array): Uint8Array {
  const enc = new TextEncoder();
  const name = enc.encode(WASI_TARGET_SECTION);
  const payload = enc.encode(WASI_TARGET_MARKER);
  const content = [...uleb(name.length), ...name, ...payload];
  const section = Uint8Array.from([0, ...uleb(content.length), ...content]);
  const out = new Uint8Array(component.length + section.length);
  out.set(component, 0);
  out.set(section, component.length);
  return out;
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MB` : `${(n / 1024).toFixed(1)} KB`;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Another process building the same key holds `<key>.lock`; wait for its output instead of
 * building twice (two cores are shared by everything, and a build takes ~15 s).
 */
async function acquireLock(lockDir: string, wasmPath: string): Promise<boolean> {
  for (let _waited = 0; ; _waited += 250) {
    try {
      await mkdir(lockDir);
      return true;
    } catch {
      if (existsSync(wasmPath)) return false;
      const age = Date.now() - (await stat(lockDir).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
      if (age > 180_000) await rm(lockDir, { recursive: true, force: true });
      await sleep(250);
    }
  }
}

/** Builds (or finds in the cache) the component in `opts.dir`. */
export async function buildComponent(opts: BuildComponentOptions): Promise<BuildComponentResult> {
  const started = performance.now();
  const dir = resolve(opts.dir);
  const progress = opts.onProgress ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (!existsSync(dir)) throw new ComponentBuildError('ComponentDirMissing', `${dir} does not exist`);
  const manifest = await readManifestHead(dir);
  const name = opts.name ?? manifest.name ?? basename(dir);
  const entry = opts.entry ?? 'src/index.ts';

  const wit = await witSourceForComponentDir(dir);
  let world = opts.worldName;
  if (!world) {
    if (wit.worlds.length !== 1) {
      throw new ComponentBuildError(
        'WorldAmbiguous',
        `${join(dir, 'wit')}: ${wit.worlds.length === 0 ? 'declares no world' : `declares worlds ${wit.worlds.join(', ')}`}; pass a world name`,
      );
    }
    world = wit.worlds[0] as string;
  }

  const source = await bundleComponentSource(dir, entry);
  const versions = await toolVersions();
  const key = await sha256HexAsync(
    new TextEncoder().encode(JSON.stringify({ v: PIPELINE_VERSION, source, wit: wit.text, world, versions, disabled: DISABLED_FEATURES })),
  );
  const cacheRoot = resolve(opts.cacheRoot ?? DEFAULT_BUILD_CACHE);
  const outDir = join(cacheRoot, key);
  const wasmPath = join(outDir, `${name}.wasm`);

  const finish = async (cached: boolean): Promise<BuildComponentResult> => {
    const bytes = await readFile(wasmPath);
    return {
      name,
      wasmPath,
      key,
      sha256: await sha256HexAsync(bytes),
      size: bytes.length,
      cached,
      durationMs: performance.now() - started,
      world: world as string,
    };
  };

  if (existsSync(wasmPath)) {
    progress(`${name}: cached (${relative(process.cwd(), wasmPath) || wasmPath})`);
    return finish(true);
  }
  await mkdir(cacheRoot, { recursive: true });
  const lockDir = join(cacheRoot, `${key}.lock`);
  if (!(await acquireLock(lockDir, wasmPath))) {
    progress(`${name}: built by another process (${wasmPath})`);
    return finish(true);
  }
  try {
    if (existsSync(wasmPath)) return finish(true);
    progress(
      `${name}: componentizing world ${wit.pkg.replace(/@.*$/, '')}/${world} with componentize-js ${versions.componentize} (about 15 s)…`,
    );
    const { componentize } = await import('@bytecodealliance/componentize-js');
    let component: Uint8Array;
    try {
      // The source goes in as text: given a sourcePath, componentize-js writes the source there.
      // The (source, witWorld, opts) form; its typings demand a sourcePath it does not use.
      const run = componentize as unknown as (
        source: string,
        witWorld: string,
        opts: { worldName: string; disableFeatures: string[] },
      ) => Promise<{ component: Uint8Array }>;
      const out = await run(source, wit.text, { worldName: world, disableFeatures: [...DISABLED_FEATURES] });
      component = out.component;
    } catch (e) {
      throw new ComponentBuildError('ComponentizeFailed', `${join(dir, entry)} (world ${world}): ${(e as Error).message}`);
    }
    const bytes = withWasiTargetMarker(component);
    await mkdir(outDir, { recursive: true });
    const tmp = `${wasmPath}.${process.pid}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, wasmPath);
    const result = await finish(false);
    progress(`${name}: built ${formatBytes(result.size)} in ${(result.durationMs / 1000).toFixed(1)} s`);
    return result;
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}
