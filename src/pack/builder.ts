// Building a `.gtpack` from a pack source tree held in memory (path → bytes). Same input, same
// bytes: entry order, timestamps and modes follow packc (reference §4.1), and nothing depends on
// the clock or the machine (no absolute `file://` paths, unlike upstream's lockfiles).
import { errorMessage } from '../core/coded-error.js';
import { compileFlowSource, type Flow, formatDiagnostic, parseResolveSummary, type ResolveSummary } from '../flow/index.js';
import { decodeCbor } from './cbor.js';
import { sha256Hex } from './digest.js';
import { PackError } from './errors.js';
import { encodePackLock, type PackLock } from './lock.js';
import { componentManifestFromValue } from './manifest-decode.js';
import { encodeComponentManifest, encodePackManifest } from './manifest-encode.js';
import type { ComponentManifest, ExtensionRef, PackFlowEntry, PackKind, PackManifest } from './manifest-types.js';
import { type PackYaml, parsePackYaml } from './pack-yaml.js';
import { packArchive } from './writer.js';

export interface BuildOptions {
  /** `--dev`: pack-mode "dev", flow sources and reserved files included. */
  dev?: boolean;
  /** Progress lines (the CLI prints them on stderr). */
  onProgress?: (line: string) => void;
}

export interface BuildResult {
  bytes: Uint8Array;
  manifest: PackManifest;
  entries: string[];
  warnings: string[];
}

const text = new TextDecoder();
const utf8 = new TextEncoder();

function normalizePath(p: string): string {
  return p.replace(/^\.\//, '').replace(/\/+$/, '');
}

function dirname(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

function join(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

function readText(files: ReadonlyMap<string, Uint8Array>, path: string): string | undefined {
  const b = files.get(path);
  return b === undefined ? undefined : text.decode(b);
}

function sourceError(message: string, where: string): PackError {
  return new PackError('PackSource', message, where);
}

/** The wasm file for a pack.yaml `wasm` value: a file, or a directory holding one component. */
function locateWasm(files: ReadonlyMap<string, Uint8Array>, wasm: string, where: string): string {
  const p = normalizePath(wasm);
  if (files.has(p)) return p;
  const inDir = [...files.keys()].filter((k) => k.startsWith(`${p}/`) && k.endsWith('.wasm')).sort();
  const preferred = inDir.filter((k) => k.endsWith('.component.wasm'));
  for (const set of [preferred, inDir]) {
    if (set.length === 1) return set[0]!;
    if (set.length > 1) throw sourceError(`${p}/ holds several wasm files (${set.join(', ')}); name one`, where);
  }
  throw sourceError(`wasm ${p} does not exist`, where);
}

/** Walk up from the wasm's directory to the pack root looking for the component manifest. */
function findComponentManifest(files: ReadonlyMap<string, Uint8Array>, wasmPath: string, id: string): string | undefined {
  const names = [
    'component.manifest.cbor',
    'component.manifest.json',
    'component.json',
    `${id}.manifest.cbor`,
    `${id}.manifest.json`,
    `${id}.json`,
  ];
  let dir = dirname(wasmPath);
  for (;;) {
    for (const n of names) if (files.has(join(dir, n))) return join(dir, n);
    if (dir === '') return undefined;
    dir = dirname(dir);
  }
}

function loadComponentManifest(files: ReadonlyMap<string, Uint8Array>, path: string): ComponentManifest {
  const bytes = files.get(path)!;
  let raw: unknown;
  try {
    raw = path.endsWith('.cbor') ? decodeCbor(bytes, { preserveFloats: true }) : JSON.parse(text.decode(bytes));
  } catch (e) {
    throw sourceError(`cannot read component manifest: ${errorMessage(e)}`, path);
  }
  const m = componentManifestFromValue(raw, path) as ComponentManifest & Record<string, unknown>;
  // greentic-component's JSON form requires these; the pack form defaults them.
  m.supports ??= [];
  m.profiles ??= { supported: [] };
  m.capabilities ??= { wasi: { random: false, clocks: false }, host: {} };
  m.operations ??= [];
  m.resources ??= {};
  return m;
}

/** Pack-level capabilities derived from component manifests, as packc does (sorted set). */
function deriveCapabilities(components: readonly ComponentManifest[]): string[] {
  const caps = new Set<string>();
  for (const c of components) {
    const host = c.capabilities?.host ?? {};
    const wasi = c.capabilities?.wasi ?? { random: false, clocks: false };
    if (host.secrets) caps.add('host:secrets');
    if (host.state?.read) caps.add('host:state:read');
    if (host.state?.write) caps.add('host:state:write');
    if (host.messaging) caps.add('host:messaging');
    if (host.events) caps.add('host:events');
    if (host.http) caps.add('host:http');
    if (host.telemetry) caps.add('host:telemetry');
    if (host.iac) caps.add('host:iac');
    if (wasi.filesystem) {
      // packc lower-cases the Rust Debug name, so read_only becomes "readonly".
      caps.add(`wasi:fs:${wasi.filesystem.mode.replace(/_/g, '')}`);
      if ((wasi.filesystem.mounts ?? []).length > 0) caps.add('wasi:fs:mounts');
    }
    if (wasi.random) caps.add('wasi:random');
    if (wasi.clocks) caps.add('wasi:clocks');
  }
  return [...caps].sort();
}

function compileFlows(
  files: ReadonlyMap<string, Uint8Array>,
  cfg: PackYaml,
): Array<{ entry: PackFlowEntry; file: string; source: string }> {
  const declared =
    cfg.flows && cfg.flows.length > 0
      ? cfg.flows.map((f) => ({ id: f.id, file: normalizePath(f.file), tags: f.tags ?? [], entrypoints: f.entrypoints ?? [] }))
      : [...files.keys()]
          .filter((k) => /^flows\/[^/]+\.ygtc$/.test(k))
          .sort()
          .map((k) => ({ id: k.slice('flows/'.length, -'.ygtc'.length), file: k, tags: [] as string[], entrypoints: [] as string[] }));
  const seen = new Set<string>();
  return declared.map((d) => {
    if (seen.has(d.id)) throw sourceError(`flow id "${d.id}" is declared twice`, 'pack.yaml:/flows');
    seen.add(d.id);
    const source = readText(files, d.file);
    if (source === undefined) throw sourceError(`flow file ${d.file} does not exist`, 'pack.yaml:/flows');
    let resolveSummary: ResolveSummary | undefined;
    const summaryPath = `${d.file}.resolve.summary.json`;
    const summaryText = readText(files, summaryPath);
    if (summaryText !== undefined) {
      const parsed = parseResolveSummary(summaryText, summaryPath);
      const errs = parsed.diagnostics.filter((x) => x.severity === 'error');
      if (errs.length > 0 || parsed.value === undefined)
        throw new PackError('FlowCompile', errs.map(formatDiagnostic).join('\n'), summaryPath);
      resolveSummary = parsed.value;
    }
    const compiled = compileFlowSource(source, resolveSummary === undefined ? { file: d.file } : { file: d.file, resolveSummary });
    const errs = compiled.diagnostics.filter((x) => x.severity === 'error');
    if (errs.length > 0 || compiled.flow === undefined) throw new PackError('FlowCompile', errs.map(formatDiagnostic).join('\n'), d.file);
    const flow: Flow = compiled.flow;
    const entrypoints = d.entrypoints.length > 0 ? d.entrypoints : Object.keys(flow.entrypoints);
    return { entry: { id: d.id, kind: flow.kind, flow, tags: d.tags, entrypoints }, file: d.file, source };
  });
}

const RESERVED_ROOT_FILES = new Set([
  'pack.yaml',
  'pack.manifest.json',
  'manifest.json',
  'manifest.cbor',
  'provenance.json',
  'secret-requirements.json',
]);
const SKIPPED_ROOT_DIRS = new Set(['components', 'flows', 'dist', 'target', 'node_modules']);

function isReservedRootFile(name: string): boolean {
  return RESERVED_ROOT_FILES.has(name) || name.startsWith('sbom.') || name.endsWith('.ygtc');
}

function assetEntries(files: ReadonlyMap<string, Uint8Array>, cfg: PackYaml, dev: boolean, warnings: string[]): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const a of cfg.assets ?? []) {
    const p = normalizePath(a.path);
    const data = files.get(p);
    if (data === undefined) throw sourceError(`asset ${p} does not exist`, 'pack.yaml:/assets');
    // packc archives a declared asset under assets/<path relative to the root>, so a declared
    // "assets/x.json" lands at "assets/assets/x.json" — kept for byte compatibility.
    out.set(`assets/${p}`, data);
  }
  const rootFiles: Array<[string, Uint8Array]> = [];
  for (const [path, data] of files) {
    const slash = path.indexOf('/');
    if (slash < 0) {
      rootFiles.push([path, data]);
      continue;
    }
    const top = path.slice(0, slash);
    if (SKIPPED_ROOT_DIRS.has(top) || top.startsWith('.')) continue;
    if (!out.has(path)) out.set(path, data);
  }
  for (const [name, data] of rootFiles) {
    if (name.startsWith('.')) continue;
    if (name === 'pack.lock.cbor') {
      out.set(name, data);
    } else if (isReservedRootFile(name)) {
      if (dev) out.set(name, data);
    } else if (out.has(`assets/${name}`)) {
      warnings.push(`${name}: assets/${name} already exists and wins`);
    } else {
      out.set(`assets/${name}`, data);
    }
  }
  return out;
}

/** A lock for packs without one: describe() cannot run here, so upstream's fallback applies. */
function fallbackLock(components: ReadonlyArray<{ manifest: ComponentManifest; wasm: Uint8Array }>): Uint8Array {
  const entries: PackLock['components'] = {};
  for (const c of components) {
    const sha = sha256Hex(c.wasm);
    entries[c.manifest.id] = {
      component_id: c.manifest.id,
      abi_version: '0.6.0',
      resolved_digest: `sha256:${sha}`,
      describe_hash: sha,
      operations: [],
      world: c.manifest.world,
      component_version: c.manifest.version,
      role: 'unknown',
    };
  }
  return encodePackLock({ version: 1, components: entries });
}

/** Build a `.gtpack` from a pack source tree (paths relative to the pack root, `/`-separated). */
export function buildPack(files: ReadonlyMap<string, Uint8Array>, opts: BuildOptions = {}): BuildResult {
  const dev = opts.dev === true;
  const progress = opts.onProgress ?? ((): void => {});
  const warnings: string[] = [];
  const cfg = parsePackYaml(files);
  progress(`pack ${cfg.pack_id}@${cfg.version}`);

  const components = [...(cfg.components ?? [])]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((c, i) => {
      const where = `pack.yaml:/components/${i}`;
      const wasmPath = locateWasm(files, c.wasm, where);
      const manifestPath = findComponentManifest(files, wasmPath, c.id);
      if (manifestPath === undefined)
        throw sourceError(`component "${c.id}" has no component manifest (component.manifest.json next to ${wasmPath})`, where);
      const manifest = loadComponentManifest(files, manifestPath);
      if (manifest.id !== c.id || manifest.version !== c.version) {
        throw sourceError(`${manifestPath} declares ${manifest.id}@${manifest.version}, pack.yaml says ${c.id}@${c.version}`, where);
      }
      progress(`component ${c.id} (${wasmPath})`);
      return {
        manifest,
        wasm: files.get(wasmPath)!,
        describe: files.get(`${wasmPath}.describe.cbor`),
        manifestBytes: encodeComponentManifest(manifest),
      };
    });

  const flows = compileFlows(files, cfg);
  for (const f of flows) progress(`flow ${f.entry.id} (${Object.keys(f.entry.flow.nodes).length} nodes)`);

  const extensions: Record<string, ExtensionRef> = {};
  for (const [k, v] of Object.entries(cfg.extensions ?? {})) {
    if (v.kind !== k) throw sourceError(`extension key "${k}" must equal its kind "${v.kind}"`, `pack.yaml:/extensions/${k}`);
    extensions[k] = v as ExtensionRef;
  }
  extensions['greentic.pack-mode.v1'] = { kind: 'greentic.pack-mode.v1', version: '1', inline: { mode: dev ? 'dev' : 'prod' } };
  if (components.length > 0) {
    extensions['greentic.pack.component_manifests@v1'] = {
      kind: 'greentic.pack.component_manifests@v1',
      version: 'v1',
      inline: {
        schema_version: 1,
        entries: components.map((c) => ({
          component_id: c.manifest.id,
          manifest_file: `components/${c.manifest.id}.manifest.cbor`,
          encoding: 'cbor',
          content_hash: `sha256:${sha256Hex(c.manifestBytes)}`,
        })),
      },
    };
  }

  const manifest: PackManifest = {
    schema_version: 'pack-v1',
    pack_id: cfg.pack_id,
    version: cfg.version,
    kind: cfg.kind as PackKind,
    publisher: cfg.publisher,
    components: components.map((c) => c.manifest),
    flows: flows.map((f) => f.entry),
    dependencies: (cfg.dependencies ?? []).map((d) => ({
      alias: d.alias,
      pack_id: d.pack_id,
      version_req: d.version_req,
      required_capabilities: d.required_capabilities ?? [],
    })),
    capabilities: deriveCapabilities(components.map((c) => c.manifest)).map((name) => ({ name })),
    signatures: { signatures: [] },
    extensions,
  };
  if (cfg.name !== undefined) manifest.name = cfg.name;
  const bootstrap = Object.fromEntries(Object.entries(cfg.bootstrap ?? {}).filter(([, v]) => typeof v === 'string' && v !== ''));
  if (Object.keys(bootstrap).length > 0) manifest.bootstrap = bootstrap;
  const manifestBytes = encodePackManifest(manifest);

  const devFlows = new Map<string, Uint8Array>();
  if (dev) {
    for (const f of flows) {
      devFlows.set(`flows/${f.entry.id}/flow.ygtc`, utf8.encode(f.source));
      devFlows.set(`flows/${f.entry.id}/flow.json`, utf8.encode(JSON.stringify(f.entry.flow, null, 2)));
    }
  }
  const componentGroups: Array<Map<string, Uint8Array>> = [];
  for (const c of components) {
    // Per component, in packc's order: wasm, cached describe, manifest (not globally sorted).
    const g = new Map<string, Uint8Array>([[`components/${c.manifest.id}.wasm`, c.wasm]]);
    componentGroups.push(g);
    if (c.describe !== undefined) componentGroups.push(new Map([[`components/${c.manifest.id}.wasm.describe.cbor`, c.describe]]));
    componentGroups.push(new Map([[`components/${c.manifest.id}.manifest.cbor`, c.manifestBytes]]));
  }
  const assets = assetEntries(files, cfg, dev, warnings);
  if (!assets.has('pack.lock.cbor') && components.length > 0) {
    assets.set('pack.lock.cbor', fallbackLock(components));
    warnings.push(
      'pack.lock.cbor was missing: wrote one with describe_hash = wasm sha256 (role "unknown"); run resolve for real describe hashes',
    );
  }
  const { bytes, entries } = packArchive(manifestBytes, [devFlows, ...componentGroups, assets]);
  progress(`wrote ${entries.length} entries, ${bytes.length} bytes`);
  return { bytes, manifest, entries, warnings };
}
