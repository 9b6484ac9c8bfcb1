// Runs a Greentic component in Node for the CLI (`greentic-component describe|invoke`): jco
// transpiles it once per digest into a cache folder, WASI comes from preview2-shim with the
// filesystem, environment and network closed, and the Greentic host imports are served locally
// (state in a folder or in memory, secrets from a map) under the grants of the component manifest.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { decodeCbor, encodeCanonicalCbor } from '../pack/cbor.js';
import { REPO_ROOT } from './build.js';

export const DEFAULT_NODE_TRANSPILE_CACHE = join(REPO_ROOT, '.cache', 'component-node');
/** Bumped when the transpile options below change. */
const NODE_TRANSPILE_VERSION = 1;

export type NodeHostErrorCode = 'WasmUnreadable' | 'WasmInvalid' | 'NotAComponent' | 'UnsupportedAbi' | 'Trap' | 'ManifestInvalid';

export class NodeHostError extends Error {
  readonly code: NodeHostErrorCode;
  constructor(code: NodeHostErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'NodeHostError';
    this.code = code;
  }
}

/** Grants for a local run without a manifest: state open, only the supplied secrets, no HTTP. */
export function localGrants(secretKeys: string[]): ComponentGrants {
  return { secrets: [...secretKeys].sort(), secretsWritable: false, state: { read: true, write: true, delete: true }, http: null, telemetry: true };
}

/** Grants from a parsed `component.manifest.json`, with the edge's rules (host-policy.ts). */
export function grantsFromManifest(manifest: unknown, where = 'component.manifest.json', httpAllowHosts: string[] = []): ComponentGrants {
  if (manifest === null || typeof manifest !== 'object' || Array.isArray(manifest)) {
    throw new NodeHostError('ManifestInvalid', `${where}: not a JSON object`);
  }
  return grantsFor(manifest as ManifestCapabilities, { httpAllowHosts });
}

export function memoryStore(): KeyValueStore {
  const m = new Map<string, Uint8Array>();
  return {
    get: async (k) => m.get(k) ?? null,
    put: async (k, v) => void m.set(k, v),
    delete: async (k) => void m.delete(k),
  };
}

/** One file per storage key; the key is percent-encoded so any string is a safe file name. */
export function directoryStore(dir: string): KeyValueStore {
  mkdirSync(dir, { recursive: true });
  const file = (key: string) => join(dir, `${encodeURIComponent(key).replace(/\./g, '%2E')}.bin`);
  return {
    get: async (k) => (existsSync(file(k)) ? new Uint8Array(readFileSync(file(k))) : null),
    put: async (k, v) => writeFileSync(file(k), v),
    delete: async (k) => rmSync(file(k), { force: true }),
  };
}

/** Local runs act as tenant `local` in env `dev`; the scope partitions state like the edge does. */
export const LOCAL_SCOPE: HostScope = { env: 'dev', tenant: 'local', pack: 'local', component: 'local' };

/** A secrets store holding `secrets` where the edge's lookup (tenant-wide key) finds them. */
export function secretsStoreFrom(secrets: Record<string, string | Uint8Array>, scope: HostScope = LOCAL_SCOPE): KeyValueStore {
  const store = memoryStore();
  const te = new TextEncoder();
  for (const [key, value] of Object.entries(secrets)) {
    const keys = secretStorageKeys({ ...scope, team: undefined }, key);
    void store.put(keys[keys.length - 1] as string, typeof value === 'string' ? te.encode(value) : value);
  }
  return store;
}

export interface NodeHostOptions {
  /** Default: every supplied secret, full state access, no HTTP (see `localGrants`). */
  grants?: ComponentGrants;
  /** State storage (default: in memory, lost with the process). */
  state?: KeyValueStore;
  /** Secret values by key. */
  secrets?: Record<string, string | Uint8Array>;
  scope?: HostScope;
  /** Outbound HTTP for granted hosts (default: global fetch). */
  http?: HttpTransport;
  /** Transpile cache root (default `.cache/component-node`). */
  cacheDir?: string;
  /** Telemetry lines (default: process.stderr). Component stdout/stderr go to process.stderr. */
  log?: (line: string) => void;
}

/** Upstream's local harness defaults. */
export const LOCAL_TENANT_CTX: TenantCtxWire = {
  tenantId: 'local',
  envId: 'dev',
  traceId: 'trace-local',
  correlationId: 'corr-local',
  deadlineMs: 0n,
  attempt: 0,
  i18nId: 'en',
};

export interface InvokeOptions {
  ctx?: Partial<TenantCtxWire>;
  flowId?: string;
  stepId?: string;
  componentId?: string;
  metadata?: unknown;
}

export type InvokeOutcome =
  | { ok: true; resultOk: boolean; output: unknown; metadata?: unknown }
  | { ok: false; error: { code: string; message: string; retryable: boolean; backoffMs?: number; details?: unknown } };

export interface DescribedSchema {
  content_type: string;
  schema_version?: string;
  /** One of `inline_cbor` (decoded), `cbor_schema_id`, `ref_pack_path`, `ref_uri`. */
  schema: Record<string, unknown>;
}

export interface DescribedComponent {
  abi: string;
  name: string;
  version: string;
  summary?: string;
  capabilities: string[];
  ops: { name: string; summary?: string; input: DescribedSchema; output: DescribedSchema; examples: { title: string; input: unknown; output: unknown }[] }[];
  schemas: { id: string; content_type: string; blake3_hash: string; version: string; uri?: string }[];
  setup?: unknown;
}

/** A component instance running in a worker thread; calls are serialized. */
export interface NodeComponent {
  abi: 'greentic:component/node@0.6.0';
  describe(): Promise<DescribedComponent>;
  /** `input` is JSON-like; it is wrapped and CBOR-encoded as upstream's harness does. */
  invoke(op: string, input: unknown, opts?: InvokeOptions): Promise<InvokeOutcome>;
  /** Ends the worker; the component cannot be called afterwards. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Wasm checks and transpilation

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

/** A component binary has layer 1 in bytes 6..8; a core module has version 1 there. */
export function checkComponentHeader(bytes: Uint8Array, where: string): void {
  if (bytes.length < 8 || WASM_MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new NodeHostError('WasmInvalid', `${where}: not a WebAssembly binary (missing \\0asm header)`);
  }
  if (bytes[6] === 0 && bytes[7] === 0) {
    throw new NodeHostError('NotAComponent', `${where}: is a core WebAssembly module, not a component (build it for wasm32-wasip2 or with componentize-js)`);
  }
}

interface TranspiledFiles {
  dir: string;
  imports: string[];
}

function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** jco-transpiles `wasm` for Node (async instantiation, imports supplied at run time), cached by digest. */
export async function transpileForNode(wasm: Uint8Array, where: string, cacheDir = DEFAULT_NODE_TRANSPILE_CACHE): Promise<TranspiledFiles> {
  checkComponentHeader(wasm, where);
  const dir = join(cacheDir, `${sha256Hex(wasm)}-v${NODE_TRANSPILE_VERSION}`);
  const importsFile = join(dir, 'imports.json');
  if (existsSync(importsFile)) return { dir, imports: JSON.parse(readFileSync(importsFile, 'utf8')) as string[] };
  const { transpileBytes } = await import('@bytecodealliance/jco-transpile');
  let result: Awaited<ReturnType<typeof transpileBytes>>;
  try {
    result = await transpileBytes(wasm, { name: 'component', instantiation: 'async', emitTypescriptDeclarations: false });
  } catch (e) {
    const payload = (e as { payload?: unknown }).payload;
    const msg = typeof payload === 'string' ? payload : (e as Error).message;
    throw new NodeHostError('WasmInvalid', `${where}: not a valid component: ${msg.split('\n')[0]}`);
  }
  const tmp = `${dir}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  for (const [name, bytes] of Object.entries(result.files)) {
    const p = join(tmp, name);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, bytes);
  }
  writeFileSync(join(tmp, 'imports.json'), JSON.stringify(result.imports));
  mkdirSync(cacheDir, { recursive: true });
  try {
    renameSync(tmp, dir);
  } catch {
    // Another process finished the same digest first; its output is identical.
    rmSync(tmp, { recursive: true, force: true });
  }
  return { dir, imports: result.imports };
}

// ---------------------------------------------------------------------------------------------
// Loading and calling

/** The project is typed for workerd, which forbids compiling from bytes; Node allows it. */
const nodeWasm = WebAssembly as unknown as { compile(bytes: Uint8Array): Promise<WebAssembly.Module> };

interface NodeExport {
  describe(): RawDescriptor;
  invoke(op: string, envelope: Record<string, unknown>): { ok: boolean; outputCbor: Uint8Array; outputMetadataCbor?: Uint8Array };
}

type RawSchemaSource = { tag: string; val: string | Uint8Array };
interface RawIoSchema {
  schema: RawSchemaSource;
  contentType: string;
  schemaVersion?: string;
}
interface RawDescriptor {
  name: string;
  version: string;
  summary?: string;
  capabilities: string[];
  ops: { name: string; summary?: string; input: RawIoSchema; output: RawIoSchema; examples: { title: string; inputCbor: Uint8Array; outputCbor: Uint8Array }[] }[];
  schemas: { id: string; contentType: string; blake3Hash: string; version: string; bytes?: Uint8Array; uri?: string }[];
  setup?: unknown;
}

/** CBOR values as JSON: bigints that fit become numbers, byte strings become `{ $bytes: hex }`. */
export function cborValueToJson(v: unknown): unknown {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString('hex') };
  if (Array.isArray(v)) return v.map(cborValueToJson);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), cborValueToJson(x)]));
  if (isObject(v)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cborValueToJson(x)]));
  }
  return v;
}

function decodeOrRaw(bytes: Uint8Array | undefined): unknown {
  if (bytes === undefined) return undefined;
  if (bytes.length === 0) return null;
  try {
    return cborValueToJson(decodeCbor(bytes));
  } catch {
    // Upstream templates fall back to JSON bytes when CBOR does not decode.
    try {
      return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    } catch {
      return { $bytes: Buffer.from(bytes).toString('hex') };
    }
  }
}

function describeSchema(s: RawIoSchema): DescribedSchema {
  const key = s.schema.tag.replace(/-/g, '_');
  const val = s.schema.val instanceof Uint8Array ? decodeOrRaw(s.schema.val) : s.schema.val;
  return { content_type: s.contentType, ...(s.schemaVersion !== undefined ? { schema_version: s.schemaVersion } : {}), schema: { [key]: val } };
}

export function describedComponent(d: RawDescriptor): DescribedComponent {
  return {
    abi: 'greentic:component/node@0.6.0',
    name: d.name,
    version: d.version,
    ...(d.summary !== undefined ? { summary: d.summary } : {}),
    capabilities: [...d.capabilities],
    ops: d.ops.map((o) => ({
      name: o.name,
      ...(o.summary !== undefined ? { summary: o.summary } : {}),
      input: describeSchema(o.input),
      output: describeSchema(o.output),
      examples: o.examples.map((e) => ({ title: e.title, input: decodeOrRaw(e.inputCbor), output: decodeOrRaw(e.outputCbor) })),
    })),
    schemas: d.schemas.map((s) => ({ id: s.id, content_type: s.contentType, blake3_hash: s.blake3Hash, version: s.version, ...(s.uri !== undefined ? { uri: s.uri } : {}) })),
    ...(d.setup !== undefined ? { setup: cborValueToJson(d.setup) } : {}),
  };
}

/** Upstream harness convention: non-objects become `{input: v}`; `operation` is added when absent. */
export function payloadForInvoke(op: string, input: unknown): Uint8Array {
  const obj: Record<string, unknown> = isObject(input) ? { ...input } : { input };
  if (!('operation' in obj)) obj.operation = op;
  return encodeCanonicalCbor(obj, { allowFloats: true });
}

function trapMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

@@LOAD@@
/** Reads a `.wasm` file with a typed error naming the path. */
export async function readWasmFile(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new NodeHostError('WasmUnreadable', `${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

/** The manifest beside a component: `<dir>/component.manifest.json` or one level up (for `dist/`). */
export function findManifestFor(wasmPath: string): string | undefined {
  for (const dir of [dirname(wasmPath), dirname(dirname(wasmPath))]) {
    const p = join(dir, 'component.manifest.json');
    if (existsSync(p)) return p;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// jco's bindgen in Node, for the edge's artifact pipeline (src/component/transpile.ts)

interface BindgenModule {
  $init: Promise<void>;
  generate(component: Uint8Array, options: unknown): { files: [string, Uint8Array][]; imports: string[]; exports: [string, string][] };
}

let bindgen: Promise<BindgenModule> | undefined;

function loadBindgen(): Promise<BindgenModule> {
  bindgen ??= (async () => {
    const { createRequire } = await import('node:module');
    const req = createRequire(import.meta.url);
    // The package's exports map hides the vendored bindgen; its entry point sits in dist/.
    const pkgDir = join(dirname(req.resolve('@bytecodealliance/jco-transpile')), '..');
    const mod = (await import(pathToFileURL(join(pkgDir, 'vendor', 'js-component-bindgen-component.js')).href)) as BindgenModule;
    await mod.$init;
    return mod;
  })();
  return bindgen;
}

/**
 * A `BindgenGenerator` (see transpile.ts) running jco's js-component-bindgen in this process. A
 * trap poisons the bindgen instance, so the next call loads a fresh one.
 */
export const nodeBindgenGenerator = {
  async generate(component: Uint8Array, options: Record<string, unknown>) {
    const mod = await loadBindgen();
    try {
      const out = mod.generate(component, options);
      return { ok: true, files: out.files, imports: out.imports, exports: out.exports };
    } catch (e) {
      const trapped = e instanceof WebAssembly.RuntimeError || /unreachable|trap|cannot enter component/i.test(String(e));
      if (trapped) bindgen = undefined;
      const payload = (e as { payload?: unknown }).payload;
      return { ok: false, error: typeof payload === 'string' ? payload : e instanceof Error ? e.message : String(e), poisoned: trapped };
    }
  },
};
