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

/** What a component may do, read from `component.manifest.json` → `capabilities.host`. */
export interface ComponentGrants {
  state: { read: boolean; write: boolean; delete: boolean };
  /** Secret keys the component declared; `undefined` = no manifest, any key may be asked for. */
  secrets: string[] | undefined;
  http: boolean;
  telemetry: boolean;
}

/** No manifest: a local run may use state and secrets; HTTP stays closed as in upstream's harness. */
export const LOCAL_DEFAULT_GRANTS: ComponentGrants = {
  state: { read: true, write: true, delete: true },
  secrets: undefined,
  http: false,
  telemetry: true,
};

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Grants from a parsed `component.manifest.json` (upstream schema v1, §capabilities.host). */
export function grantsFromManifest(manifest: unknown, where = 'component.manifest.json'): ComponentGrants {
  if (!isObject(manifest)) throw new NodeHostError('ManifestInvalid', `${where}: not a JSON object`);
  const caps = manifest.capabilities;
  const host = isObject(caps) && isObject(caps.host) ? caps.host : {};
  const state = isObject(host.state) ? host.state : {};
  const write = state.write === true || state.delete === true; // upstream: delete implies write
  const secretsReq = isObject(host.secrets) && Array.isArray(host.secrets.required) ? host.secrets.required : [];
  const topReq = Array.isArray(manifest.secret_requirements) ? manifest.secret_requirements : [];
  const keys = [...secretsReq, ...topReq]
    .map((r) => (isObject(r) && typeof r.key === 'string' ? r.key : undefined))
    .filter((k): k is string => k !== undefined);
  return {
    state: { read: state.read === true, write, delete: state.delete === true },
    secrets: [...new Set(keys)],
    http: isObject(host.http) && host.http.client === true,
    telemetry: host.telemetry === undefined || isObject(host.telemetry),
  };
}

/** Where a component keeps state between local invocations. */
export interface LocalStateStore {
  read(key: string): Uint8Array | undefined;
  write(key: string, bytes: Uint8Array): void;
  delete(key: string): void;
}

export function memoryStateStore(): LocalStateStore {
  const m = new Map<string, Uint8Array>();
  return { read: (k) => m.get(k), write: (k, b) => void m.set(k, b), delete: (k) => void m.delete(k) };
}

/** One file per key; the key is percent-encoded so any string is a safe file name. */
export function directoryStateStore(dir: string): LocalStateStore {
  mkdirSync(dir, { recursive: true });
  const file = (key: string) => join(dir, `${encodeURIComponent(key).replace(/\./g, '%2E')}.bin`);
  return {
    read: (k) => (existsSync(file(k)) ? new Uint8Array(readFileSync(file(k))) : undefined),
    write: (k, b) => writeFileSync(file(k), b),
    delete: (k) => rmSync(file(k), { force: true }),
  };
}

export interface NodeHostOptions {
  grants?: ComponentGrants;
  state?: LocalStateStore;
  /** Secret values by key. */
  secrets?: Record<string, string | Uint8Array>;
  /** Transpile cache root (default `.cache/component-node`). */
  cacheDir?: string;
  /** Component stdout/stderr and telemetry lines (default: process.stderr). */
  log?: (line: string) => void;
}

export interface TenantCtxInput {
  tenantId: string;
  teamId?: string;
  userId?: string;
  envId: string;
  traceId: string;
  correlationId: string;
  deadlineMs: bigint;
  attempt: number;
  idempotencyKey?: string;
  i18nId: string;
}

/** Upstream's local harness defaults. */
export const LOCAL_TENANT_CTX: TenantCtxInput = {
  tenantId: 'local',
  envId: 'dev',
  traceId: 'trace-local',
  correlationId: 'corr-local',
  deadlineMs: 0n,
  attempt: 0,
  i18nId: 'en',
};

export interface InvokeOptions {
  ctx?: Partial<TenantCtxInput>;
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

export interface NodeComponent {
  abi: 'greentic:component/node@0.6.0';
  describe(): DescribedComponent;
  /** `input` is JSON-like; it is wrapped and CBOR-encoded as upstream's harness does. */
  invoke(op: string, input: unknown, opts?: InvokeOptions): InvokeOutcome;
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
// Host imports

/** Thrown from a host import to return the `err` case of its result (jco reads `payload`). */
class HostImportError {
  constructor(readonly payload: unknown) {}
}

const te = new TextEncoder();
const EMPTY_GRANTS = LOCAL_DEFAULT_GRANTS;

function greenticImports(opts: NodeHostOptions): Record<string, Record<string, unknown>> {
  const grants = opts.grants ?? EMPTY_GRANTS;
  const state = opts.state ?? memoryStateStore();
  const secrets = opts.secrets ?? {};
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const stateErr = (code: string, message: string) => new HostImportError({ code, message });

  const stateStore = {
    read(key: string): Uint8Array {
      if (!grants.state.read) throw stateErr('state.read.denied', `state read of "${key}" is not granted by the manifest`);
      const v = state.read(key);
      if (v === undefined) throw stateErr('state.read.miss', `no state under "${key}"`);
      return v;
    },
    write(key: string, bytes: Uint8Array): 'ok' {
      if (!grants.state.write) throw stateErr('state.write.denied', `state write of "${key}" is not granted by the manifest`);
      state.write(key, bytes);
      return 'ok';
    },
    delete(key: string): 'ok' {
      if (!grants.state.delete) throw stateErr('state.delete.denied', `state delete of "${key}" is not granted by the manifest`);
      state.delete(key);
      return 'ok';
    },
  };

  const secretGet = (key: string): Uint8Array | undefined => {
    if (key === '' || key.startsWith('/') || key.includes('..')) throw new HostImportError('invalid-key');
    if (grants.secrets !== undefined && !grants.secrets.includes(key)) throw new HostImportError('denied');
    const v = secrets[key];
    // Only secrets supplied to this run are granted, as at the edge where a component sees
    // nothing beyond its grants.
    if (v === undefined) throw new HostImportError('denied');
    return typeof v === 'string' ? te.encode(v) : v;
  };

  const httpDenied = () => {
    throw new HostImportError({ code: 'http.denied', message: 'outbound HTTP is not available to local runs' });
  };

  return {
    'greentic:component/control@0.6.0': { shouldCancel: () => false, yieldNow: () => undefined },
    'greentic:state/state-store@1.0.0': stateStore,
    'greentic:secrets-store/secrets-store@1.0.0': { get: secretGet },
    'greentic:secrets-store/secrets-store@1.1.0': {
      get: secretGet,
      put: () => {
        throw new HostImportError('denied');
      },
    },
    'greentic:http/http-client@1.0.0': { send: httpDenied },
    'greentic:http/http-client@1.1.0': { send: httpDenied },
    'greentic:telemetry/logger-api@1.0.0': {
      log(span: { flowId: string; nodeId?: string }, fields: [string, string][]): 'ok' {
        if (grants.telemetry) log(`[telemetry] ${span.flowId}${span.nodeId ? `/${span.nodeId}` : ''} ${fields.map(([k, v]) => `${k}=${v}`).join(' ')}`);
        return 'ok';
      },
    },
    'greentic:host/http-v1@1.0.0': {
      request: () => {
        throw new HostImportError('outbound HTTP is not available to local runs');
      },
    },
    'greentic:host/kv-v1@1.0.0': {
      get(ns: string, key: string): string | undefined {
        if (!grants.state.read) return undefined;
        const v = state.read(`${ns}:${key}`);
        return v === undefined ? undefined : new TextDecoder().decode(v);
      },
      put(ns: string, key: string, val: string): void {
        if (grants.state.write) state.write(`${ns}:${key}`, te.encode(val));
      },
    },
  };
}

/** WASI from preview2-shim, with no preopened directories, no environment and stdout sent to the log. */
async function wasiImports(): Promise<Record<string, Record<string, unknown>>> {
  const shim = (await import('@bytecodealliance/preview2-shim')) as unknown as Record<string, Record<string, Record<string, unknown>>>;
  const out: Record<string, Record<string, unknown>> = {};
  for (const [pkg, ifaces] of Object.entries(shim)) {
    for (const [iface, impl] of Object.entries(ifaces)) {
      if (iface.startsWith('_') || typeof impl !== 'object' || impl === null) continue;
      out[`wasi:${pkg}/${iface.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`] = impl;
    }
  }
  out['wasi:filesystem/preopens'] = { getDirectories: () => [] };
  out['wasi:cli/environment'] = { getEnvironment: () => [], getArguments: () => [], initialCwd: () => undefined };
  const stderr = out['wasi:cli/stderr'];
  if (stderr) out['wasi:cli/stdout'] = { getStdout: stderr.getStderr };
  return out;
}

function unversioned(name: string): string {
  return name.replace(/@[^/#]+$/, '');
}

/** Matches the names jco asks for (versioned or not) with implementations keyed `pkg/iface@ver`. */
function resolveImports(wanted: string[], impls: Record<string, Record<string, unknown>>): Record<string, Record<string, unknown>> {
  const byBase = new Map<string, string[]>();
  for (const k of Object.keys(impls)) {
    const base = unversioned(k);
    byBase.set(base, [...(byBase.get(base) ?? []), k]);
  }
  const out: Record<string, Record<string, unknown>> = {};
  for (const name of wanted) {
    const exact = impls[name];
    if (exact) {
      out[name] = exact;
      continue;
    }
    const candidates = byBase.get(unversioned(name)) ?? [];
    // jco drops the version when only one version is imported; newer minor versions of these
    // interfaces only add functions, so the newest implementation serves an older import.
    const pick = candidates.sort().at(-1);
    if (pick) out[name] = impls[pick] as Record<string, unknown>;
  }
  return out;
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

/** Transpiles (cached), instantiates and wraps a node-world component. One instance per call. */
export async function loadComponentInNode(wasm: Uint8Array, where: string, opts: NodeHostOptions = {}): Promise<NodeComponent> {
  const files = await transpileForNode(wasm, where, opts.cacheDir);
  const mod = (await import(pathToFileURL(join(files.dir, 'component.js')).href)) as {
    instantiate(getCoreModule: (path: string) => Promise<WebAssembly.Module>, imports: Record<string, unknown>): Promise<Record<string, unknown>>;
  };
  const impls = { ...(await wasiImports()), ...greenticImports(opts) };
  const imports = resolveImports(files.imports, impls);
  const missing = files.imports.filter((n) => !(n in imports));
  if (missing.length > 0) {
    throw new NodeHostError('UnsupportedAbi', `${where}: imports ${missing.join(', ')}, which this host does not provide`);
  }
  let exportsObj: Record<string, unknown>;
  try {
    exportsObj = await mod.instantiate(async (p) => nodeWasm.compile(await readFile(join(files.dir, p))), imports);
  } catch (e) {
    throw new NodeHostError('Trap', `${where}: instantiation failed: ${trapMessage(e)}`);
  }
  const node = exportsObj['greentic:component/node@0.6.0'] as NodeExport | undefined;
  if (!node || typeof node.describe !== 'function' || typeof node.invoke !== 'function') {
    const names = Object.keys(exportsObj).filter((k) => k.includes(':'));
    throw new NodeHostError(
      'UnsupportedAbi',
      `${where}: does not export greentic:component/node@0.6.0 (exports: ${names.join(', ') || 'none'})`,
    );
  }
  return {
    abi: 'greentic:component/node@0.6.0',
    describe() {
      try {
        return describedComponent(node.describe());
      } catch (e) {
        throw new NodeHostError('Trap', `${where}: describe() trapped: ${trapMessage(e)}`);
      }
    },
    invoke(op, input, io = {}) {
      const ctx = { ...LOCAL_TENANT_CTX, ...io.ctx };
      const envelope = {
        ctx,
        flowId: io.flowId ?? 'local',
        stepId: io.stepId ?? 'local',
        componentId: io.componentId ?? 'local',
        attempt: ctx.attempt,
        payloadCbor: payloadForInvoke(op, input),
        metadataCbor: io.metadata === undefined ? undefined : encodeCanonicalCbor(io.metadata, { allowFloats: true }),
      };
      let r: ReturnType<NodeExport['invoke']>;
      try {
        r = node.invoke(op, envelope);
      } catch (e) {
        // jco-transpile throws the `err` value itself (no ComponentError wrapping by default).
        const payload = isObject(e) && 'payload' in e ? e.payload : e;
        if (isObject(payload) && typeof payload.code === 'string' && !(payload instanceof Error)) {
          const backoff = payload.backoffMs;
          const details = payload.details instanceof Uint8Array ? decodeOrRaw(payload.details) : undefined;
          return {
            ok: false,
            error: {
              code: payload.code,
              message: String(payload.message ?? ''),
              retryable: payload.retryable === true,
              ...(typeof backoff === 'bigint' || typeof backoff === 'number' ? { backoffMs: Number(backoff) } : {}),
              ...(details !== undefined ? { details } : {}),
            },
          };
        }
        throw new NodeHostError('Trap', `${where}: invoke(${op}) trapped: ${trapMessage(e)}`);
      }
      const metadata = decodeOrRaw(r.outputMetadataCbor);
      return { ok: true, resultOk: r.ok, output: decodeOrRaw(r.outputCbor), ...(metadata !== undefined ? { metadata } : {}) };
    },
  };
}

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
