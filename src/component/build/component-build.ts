// Builds a TypeScript component directory into a WebAssembly component with componentize-js.
//
// Directory convention (the `greentic-component new` template and the test fixtures use it):
//   component.manifest.json   upstream manifest (name, version, operations, capabilities)
//   src/index.ts              entry module exporting the world's interfaces (e.g. `node`)
//   wit/*.wit                 the component's own package with its world
//   wit/deps/<pkg>/*.wit      optional copies of dependency packages (wasm-tools layout)
// Packages not found under wit/deps are taken from this repository's `wit/` folder.

import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CodedError } from '../../core/coded-error.js';
import { sha256HexAsync } from '../../pack/digest.js';

/** This repository's WIT packages (one folder per package). */
export const HOST_WIT_DIR = fileURLToPath(new URL('../../../wit/', import.meta.url));
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

export type ComponentBuildErrorCode =
  | 'ComponentDirMissing'
  | 'EntryMissing'
  | 'WitMissing'
  | 'WitInvalid'
  | 'WorldAmbiguous'
  | 'ManifestInvalid'
  | 'BundleFailed'
  | 'ComponentizeFailed';

/** A component that does not build; the message starts with its code, as the CLI prints it. */
export class ComponentBuildError extends CodedError<ComponentBuildErrorCode> {
  constructor(code: ComponentBuildErrorCode, message: string) {
    super(code, `${code}: ${message}`);
  }
}

/** One WIT package: its full name and the text of its files without the `package` line. */
export interface WitPackage {
  /** e.g. `greentic:component@0.6.0` */
  name: string;
  body: string;
  /** Where it was read from (for messages). */
  source: string;
}

const PACKAGE_LINE = /^\s*package\s+([a-z0-9-]+:[a-z0-9-/]+(?:@[0-9A-Za-z.+-]+)?)\s*;\s*$/m;

async function witFilesIn(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.wit'))
    .map((e) => join(dir, e.name))
    .sort();
}

/** Reads the package in `dir` (all its `.wit` files, which must share one `package` line). */
export async function readWitPackage(dir: string): Promise<WitPackage | undefined> {
  const files = await witFilesIn(dir);
  if (files.length === 0) return undefined;
  let name: string | undefined;
  const bodies: string[] = [];
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    const m = PACKAGE_LINE.exec(text);
    if (!m?.[1]) throw new ComponentBuildError('WitInvalid', `${file}: no "package <ns>:<name>[@<version>];" line`);
    if (name !== undefined && name !== m[1]) {
      throw new ComponentBuildError('WitInvalid', `${file}: package ${m[1]} differs from ${name} declared by its siblings`);
    }
    name = m[1];
    bodies.push(text.replace(PACKAGE_LINE, ''));
  }
  return { name: name as string, body: bodies.join('\n'), source: dir };
}

/** Reads every package folder directly under `dir` (e.g. this repo's `wit/` or a `wit/deps/`). */
export async function readWitPackages(dir: string): Promise<WitPackage[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { withFileTypes: true });
  const out: WitPackage[] = [];
  for (const e of entries.filter((x) => x.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const pkg = await readWitPackage(join(dir, e.name));
    if (pkg) out.push(pkg);
  }
  return out;
}

/**
 * One WIT text holding `main` as the top-level package and every dependency as a nested
 * `package a:b@v { … }` block. componentize-js and jco cannot read WIT files from disk here
 * (their WASI sandbox has no preopen for the path), but both accept WIT source text.
 */
export function witSourceForWorld(main: WitPackage, deps: readonly WitPackage[]): string {
  const seen = new Set([main.name]);
  const parts = [`package ${main.name};\n${main.body.trim()}\n`];
  for (const dep of deps) {
    if (seen.has(dep.name)) continue;
    seen.add(dep.name);
    parts.push(`package ${dep.name} {\n${dep.body.trim()}\n}\n`);
  }
  return parts.join('\n');
}

/** The host's packages, overridden by any the component ships under `wit/deps`. */
export async function witSourceForComponentDir(componentDir: string): Promise<{ text: string; worlds: string[]; pkg: string }> {
  const witDir = join(componentDir, 'wit');
  const main = await readWitPackage(witDir);
  if (!main) throw new ComponentBuildError('WitMissing', `${witDir}: no .wit file declaring the component's world`);
  const local = await readWitPackages(join(witDir, 'deps'));
  const host = await readWitPackages(HOST_WIT_DIR);
  const worlds = [...main.body.matchAll(/^\s*world\s+([a-z0-9-]+)\s*\{/gm)].map((m) => m[1] as string);
  return { text: witSourceForWorld(main, [...local, ...host]), worlds, pkg: main.name };
}

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

function uleb(n: number): number[] {
  const bytes: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    bytes.push(b);
  } while (n !== 0);
  return bytes;
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

interface BindgenTypesModule {
  $init: Promise<void>;
  generateTypes(
    name: string,
    opts: { wit: { tag: 'source'; val: string }; world: string; features: { tag: 'list'; val: string[] }; guest: boolean },
  ): [string, Uint8Array][];
}

/**
 * TypeScript declarations (`declare module 'greentic:…'`) for a guest targeting `world`, from WIT
 * text. Uses jco's bindgen directly because its path-based entry points cannot read files here.
 */
export async function generateGuestTypes(witText: string, world: string): Promise<Record<string, string>> {
  const { createRequire } = await import('node:module');
  const { pathToFileURL } = await import('node:url');
  const req = createRequire(import.meta.url);
  const pkgDir = join(req.resolve('@bytecodealliance/jco-transpile'), '..', '..');
  const mod = (await import(pathToFileURL(join(pkgDir, 'vendor', 'js-component-bindgen-component.js')).href)) as BindgenTypesModule;
  await mod.$init;
  let files: [string, Uint8Array][];
  try {
    files = mod.generateTypes('world', { wit: { tag: 'source', val: witText }, world, features: { tag: 'list', val: [] }, guest: true });
  } catch (e) {
    const payload = (e as { payload?: unknown }).payload;
    throw new ComponentBuildError('WitInvalid', `world ${world}: ${typeof payload === 'string' ? payload : (e as Error).message}`);
  }
  const dec = new TextDecoder();
  return Object.fromEntries(files.map(([n, b]) => [n, dec.decode(b)]));
}

/**
 * Worlds covering every host interface this runner provides. Two, because jco names its output
 * files without the version, so two versions of one interface must come from separate runs.
 */
const GUEST_TYPES_WORLDS = [
  `world all-imports {
  include greentic:component/component@0.6.0;
  export greentic:component/component-qa@0.6.0;
  export greentic:component/component-i18n@0.6.0;
  import greentic:state/state-store@1.0.0;
  import greentic:secrets-store/secrets-store@1.0.0;
  import greentic:http/http-client@1.0.0;
  import greentic:telemetry/logger-api@1.0.0;
  import greentic:host/http-v1@1.0.0;
  import greentic:host/kv-v1@1.0.0;
}`,
  `world all-imports {
  import greentic:secrets-store/secrets-store@1.1.0;
  import greentic:http/http-client@1.1.0;
}`,
];

/**
 * Declarations for every `greentic:*` module a component may import or export, keyed by a path
 * under `types/` named after the module (`interfaces/greentic-http-http-client@1.1.0.d.ts`).
 */
export async function hostGuestTypes(): Promise<Record<string, string>> {
  const deps = await readWitPackages(HOST_WIT_DIR);
  const out: Record<string, string> = {};
  for (const world of GUEST_TYPES_WORLDS) {
    const text = witSourceForWorld({ name: 'greentic-guest:all-imports', body: world, source: '(generated)' }, deps);
    for (const [file, body] of Object.entries(await generateGuestTypes(text, 'all-imports'))) {
      const mod = /declare module '([^']+)'/.exec(body)?.[1];
      if (!file.startsWith('interfaces/') || !mod) continue;
      // The tsconfig includes every file under types/, so references to jco's file names are not needed.
      const renamed = body.replace(/^\/\/\/ <reference path=.*\n/gm, '');
      out[`interfaces/${mod.replace(':', '-').replace('/', '-')}.d.ts`] = renamed;
    }
  }
  return out;
}
