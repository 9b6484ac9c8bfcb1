// Runs a Greentic component in Node for the CLI (`greentic-component describe|invoke`): jco
// transpiles it once per digest into a cache folder, WASI comes from preview2-shim with the
// filesystem, environment and stdout closed, and the Greentic host imports are served by the
// edge's host API (edge/host-policy.ts: same grants, scoping and error codes) over local stores.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import { decodeCbor, encodeCanonicalCbor } from '../../pack/cbor.js';
import { sha256HexAsync } from '../../pack/digest.js';
import { REPO_ROOT } from '../build/component-build.js';
import {
  type ComponentGrants,
  createHostApi,
  grantsFor,
  type HostScope,
  type HttpTransport,
  type KeyValueStore,
  type ManifestCapabilities,
  secretStorageKeys,
} from '../edge/host-policy.js';
import type { HostApi, TenantCtxWire } from '../isolate/protocol.js';

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

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export type { ComponentGrants };

/** Grants for a local run without a manifest: state open, only the supplied secrets, no HTTP. */
export function localGrants(secretKeys: string[]): ComponentGrants {
  return {
    secrets: [...secretKeys].sort(),
    secretsWritable: false,
    state: { read: true, write: true, delete: true },
    http: null,
    telemetry: true,
  };
}

/** Grants from a parsed `component.manifest.json`, with the edge's rules (edge/host-policy.ts). */
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
  ops: {
    name: string;
    summary?: string;
    input: DescribedSchema;
    output: DescribedSchema;
    examples: { title: string; input: unknown; output: unknown }[];
  }[];
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
    throw new NodeHostError(
      'NotAComponent',
      `${where}: is a core WebAssembly module, not a component (build it for wasm32-wasip2 or with componentize-js)`,
    );
  }
}

interface TranspiledFiles {
  dir: string;
  imports: string[];
}

/** jco-transpiles `wasm` for Node (async instantiation, imports supplied at run time), cached by digest. */
export async function transpileForNode(wasm: Uint8Array, where: string, cacheDir = DEFAULT_NODE_TRANSPILE_CACHE): Promise<TranspiledFiles> {
  checkComponentHeader(wasm, where);
  const dir = join(cacheDir, `${await sha256HexAsync(wasm)}-v${NODE_TRANSPILE_VERSION}`);
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
  ops: {
    name: string;
    summary?: string;
    input: RawIoSchema;
    output: RawIoSchema;
    examples: { title: string; inputCbor: Uint8Array; outputCbor: Uint8Array }[];
  }[];
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
  return {
    content_type: s.contentType,
    ...(s.schemaVersion !== undefined ? { schema_version: s.schemaVersion } : {}),
    schema: { [key]: val },
  };
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
    schemas: d.schemas.map((s) => ({
      id: s.id,
      content_type: s.contentType,
      blake3_hash: s.blake3Hash,
      version: s.version,
      ...(s.uri !== undefined ? { uri: s.uri } : {}),
    })),
    ...(d.setup !== undefined ? { setup: cborValueToJson(d.setup) } : {}),
  };
}

/** Upstream harness convention: non-objects become `{input: v}`; `operation` is added when absent. */
export function payloadForInvoke(op: string, input: unknown): Uint8Array {
  const obj: Record<string, unknown> = isObject(input) ? { ...input } : { input };
  if (!('operation' in obj)) obj.operation = op;
  return encodeCanonicalCbor(obj, { allowFloats: true });
}

/**
 * The worker that holds the component. Host imports must answer synchronously (Node has no JSPI),
 * while the edge's host API (edge/host-policy.ts) is async: the worker posts each host call to the
 * parent and blocks on an Atomics flag until the parent has put the reply on a MessagePort.
 * Import wiring mirrors src/component/isolate/runtime-main.ts with the awaits made synchronous.
 */
const WORKER_SOURCE = String.raw`
import { parentPort, workerData, receiveMessageOnPort } from 'node:worker_threads';
import { readFile } from 'node:fs/promises';
const { componentUrl, coreDir, shimUrl, wanted, versions, signalBuffer, replyPort } = workerData;
const signal = new Int32Array(signalBuffer);

function hostCall(method, args) {
  Atomics.store(signal, 0, 0);
  parentPort.postMessage({ kind: 'host', method, args });
  Atomics.wait(signal, 0, 0);
  let msg;
  while (!(msg = receiveMessageOnPort(replyPort))) {}
  return msg.message;
}
const importError = (payload) => Object.assign(new Error('host import failed'), { payload });
const unwrap = (res, map = (e) => e) => { if (res.ok) return res.value; throw importError(map(res.error)); };

function greentic(base, version) {
  switch (base) {
    case 'greentic:component/control':
      return { shouldCancel: () => false, yieldNow: () => {} };
    case 'greentic:secrets-store/secrets-store':
      return {
        get: (key) => unwrap(hostCall('secretsGet', [key]), (e) => e.code) ?? undefined,
        put: (key, value) => { unwrap(hostCall('secretsPut', [key, value]), (e) => e.code); },
      };
    case 'greentic:state/state-store':
      return {
        read: (key) => unwrap(hostCall('stateRead', [key])),
        write: (key, bytes) => { unwrap(hostCall('stateWrite', [key, bytes])); return 'ok'; },
        delete: (key) => { unwrap(hostCall('stateDelete', [key])); return 'ok'; },
      };
    case 'greentic:http/http-client':
      return {
        send: (req, opts) => {
          const timeout = version.startsWith('1.0') ? null : (opts?.timeoutMs ?? null);
          const res = unwrap(hostCall('httpSend', [{ method: req.method, url: req.url, headers: req.headers, body: req.body }, timeout]));
          return { status: res.status, headers: res.headers, body: res.body };
        },
      };
    case 'greentic:telemetry/logger-api':
      return { log: (_span, fields) => { unwrap(hostCall('log', [fields])); return 'ok'; } };
    case 'greentic:host/kv-v1':
      return {
        get: (ns, key) => { const r = hostCall('stateRead', [ns + ':' + key]); return r.ok ? new TextDecoder().decode(r.value) : undefined; },
        put: (ns, key, val) => { hostCall('stateWrite', [ns + ':' + key, new TextEncoder().encode(val)]); },
      };
    default:
      return undefined;
  }
}

async function wasi() {
  const shim = await import(shimUrl);
  const out = {};
  for (const [pkg, ifaces] of Object.entries(shim)) {
    for (const [iface, impl] of Object.entries(ifaces)) {
      if (iface.startsWith('_') || typeof impl !== 'object' || impl === null) continue;
      out['wasi:' + pkg + '/' + iface.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())] = impl;
    }
  }
  // No preopened directories, no environment, stdout kept off the CLI's stdout.
  out['wasi:filesystem/preopens'] = { getDirectories: () => [] };
  out['wasi:cli/environment'] = { getEnvironment: () => [], getArguments: () => [], initialCwd: () => undefined };
  out['wasi:cli/stdout'] = { getStdout: out['wasi:cli/stderr'].getStderr };
  return out;
}

async function start() {
  const w = await wasi();
  const imports = {};
  for (const spec of wanted) {
    const at = spec.lastIndexOf('@');
    const base = at > 0 ? spec.slice(0, at) : spec;
    const impl = base.startsWith('wasi:') ? w[base] : greentic(base, at > 0 ? spec.slice(at + 1) : (versions[base] ?? ''));
    if (impl) imports[spec] = impl;
  }
  const missing = wanted.filter((s) => !(s in imports));
  if (missing.length > 0) return { code: 'UnsupportedAbi', message: 'imports ' + missing.join(', ') + ', which this host does not provide' };
  const { instantiate } = await import(componentUrl);
  let exportsObj;
  try {
    exportsObj = await instantiate(async (p) => WebAssembly.compile(await readFile(coreDir + '/' + p)), imports);
  } catch (e) {
    return { code: 'Trap', message: 'instantiation failed: ' + (e?.message ?? String(e)) };
  }
  const node = exportsObj['greentic:component/node@0.6.0'];
  if (!node || typeof node.invoke !== 'function') {
    const names = Object.keys(exportsObj).filter((k) => k.includes(':'));
    return { code: 'UnsupportedAbi', message: 'does not export greentic:component/node@0.6.0 (exports: ' + (names.join(', ') || 'none') + ')' };
  }
  let poisoned;
  parentPort.on('message', (msg) => {
    if (msg.kind !== 'call') return;
    const reply = (body) => parentPort.postMessage({ kind: 'reply', id: msg.id, ...body });
    if (poisoned) return reply({ outcome: 'trap', message: 'the instance trapped earlier (' + poisoned + ')' });
    try {
      reply({ outcome: 'ok', value: msg.fn === 'describe' ? node.describe() : node.invoke(msg.op, msg.envelope) });
    } catch (e) {
      if (e && typeof e === 'object' && !(e instanceof Error) && typeof e.code === 'string' && 'retryable' in e) {
        reply({ outcome: 'node-error', value: e });
      } else {
        poisoned = e?.message ?? String(e);
        reply({ outcome: 'trap', message: poisoned });
      }
    }
  });
  return undefined;
}

parentPort.postMessage({ kind: 'ready', error: await start() });
`;

/** preview2-shim's Node entry, as a file URL the worker (a data: module) can import. */
function preview2ShimUrl(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const entry = join(dir, 'node_modules', '@bytecodealliance', 'preview2-shim', 'dist', 'nodejs', 'index.js');
    if (existsSync(entry)) return pathToFileURL(entry).href;
  }
  throw new NodeHostError('UnsupportedAbi', '@bytecodealliance/preview2-shim is not installed');
}

/** Versions of the greentic interfaces the glue names (jco drops them from its import keys). */
function importVersions(componentJs: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of componentJs.matchAll(/'(greentic:[a-z0-9-]+\/[a-z0-9-]+)@([0-9][^'#]*)/g)) out[m[1] as string] = m[2] as string;
  return out;
}

type WorkerMessage =
  | { kind: 'ready'; error?: { code: NodeHostErrorCode; message: string } }
  | { kind: 'host'; method: keyof HostApi; args: unknown[] }
  | { kind: 'reply'; id: number; outcome: 'ok' | 'node-error' | 'trap'; value?: unknown; message?: string };

/** Transpiles (cached) and instantiates a node-world component in a worker thread. */
export async function loadComponentInNode(wasm: Uint8Array, where: string, opts: NodeHostOptions = {}): Promise<NodeComponent> {
  const files = await transpileForNode(wasm, where, opts.cacheDir);
  const scope = opts.scope ?? LOCAL_SCOPE;
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const api = createHostApi(scope, opts.grants ?? localGrants(Object.keys(opts.secrets ?? {})), {
    state: opts.state ?? memoryStore(),
    secrets: secretsStoreFrom(opts.secrets ?? {}, scope),
    http: opts.http ?? ((req) => fetch(req)),
    telemetry: { log: (_scope, fields) => log(`[telemetry] ${fields.map(([k, v]) => `${k}=${v}`).join(' ')}`) },
  });

  const signalBuffer = new SharedArrayBuffer(4);
  const signal = new Int32Array(signalBuffer);
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(WORKER_SOURCE)}`), {
    workerData: {
      componentUrl: pathToFileURL(join(files.dir, 'component.js')).href,
      coreDir: files.dir,
      shimUrl: preview2ShimUrl(),
      wanted: files.imports,
      versions: importVersions(readFileSync(join(files.dir, 'component.js'), 'utf8')),
      signalBuffer,
      replyPort: port2,
    },
    transferList: [port2],
  });

  const pending = new Map<number, (m: Extract<WorkerMessage, { kind: 'reply' }>) => void>();
  let nextId = 0;
  let failure: Error | undefined;
  const ready = new Promise<void>((resolveReady, rejectReady) => {
    worker.on('message', (m: WorkerMessage) => {
      if (m.kind === 'ready') {
        if (m.error) rejectReady(new NodeHostError(m.error.code, `${where}: ${m.error.message}`));
        else resolveReady();
      } else if (m.kind === 'host') {
        void (async () => {
          let res: unknown;
          try {
            res = await (api[m.method] as (...a: unknown[]) => Promise<unknown>)(...m.args);
          } catch (e) {
            res = { ok: false, error: { code: 'internal', message: e instanceof Error ? e.message : String(e) } };
          }
          port1.postMessage(res);
          Atomics.store(signal, 0, 1);
          Atomics.notify(signal, 0);
        })();
      } else {
        pending.get(m.id)?.(m);
        pending.delete(m.id);
      }
    });
    worker.on('error', (e) => {
      failure = new NodeHostError('Trap', `${where}: component worker failed: ${e.message}`);
      rejectReady(failure);
      for (const r of pending.values()) r({ kind: 'reply', id: -1, outcome: 'trap', message: e.message });
      pending.clear();
    });
  });
  try {
    await ready;
  } catch (e) {
    await worker.terminate();
    port1.close();
    throw e;
  }
  // Idle workers must not keep the process alive; a call in flight does (see `call`).
  worker.unref();

  let queue: Promise<unknown> = Promise.resolve();
  const call = (msg: Record<string, unknown>): Promise<Extract<WorkerMessage, { kind: 'reply' }>> => {
    const job = () =>
      new Promise<Extract<WorkerMessage, { kind: 'reply' }>>((resolveCall) => {
        if (failure) return resolveCall({ kind: 'reply', id: -1, outcome: 'trap', message: failure.message });
        const id = nextId++;
        worker.ref();
        pending.set(id, (m) => {
          worker.unref();
          resolveCall(m);
        });
        worker.postMessage({ kind: 'call', id, ...msg });
      });
    const run = queue.then(job, job);
    queue = run.catch(() => undefined);
    return run;
  };

  return {
    abi: 'greentic:component/node@0.6.0',
    async describe() {
      const r = await call({ fn: 'describe' });
      if (r.outcome !== 'ok') throw new NodeHostError('Trap', `${where}: describe() trapped: ${r.message ?? 'node-error'}`);
      return describedComponent(r.value as RawDescriptor);
    },
    async invoke(op, input, io = {}) {
      const ctx = { ...LOCAL_TENANT_CTX, ...io.ctx };
      const envelope = {
        ctx,
        flowId: io.flowId ?? 'local',
        stepId: io.stepId ?? 'local',
        componentId: io.componentId ?? scope.component,
        attempt: ctx.attempt,
        payloadCbor: payloadForInvoke(op, input),
        metadataCbor: io.metadata === undefined ? undefined : encodeCanonicalCbor(io.metadata, { allowFloats: true }),
      };
      const r = await call({ fn: 'invoke', op, envelope });
      if (r.outcome === 'trap') throw new NodeHostError('Trap', `${where}: invoke(${op}) trapped: ${r.message}`);
      if (r.outcome === 'node-error') {
        const e = r.value as { code: string; message: string; retryable: boolean; backoffMs?: bigint; details?: Uint8Array };
        const details = e.details === undefined ? undefined : decodeOrRaw(e.details);
        return {
          ok: false,
          error: {
            code: e.code,
            message: e.message,
            retryable: e.retryable,
            ...(e.backoffMs !== undefined ? { backoffMs: Number(e.backoffMs) } : {}),
            ...(details !== undefined ? { details } : {}),
          },
        };
      }
      const res = r.value as { ok: boolean; outputCbor: Uint8Array; outputMetadataCbor?: Uint8Array };
      const metadata = decodeOrRaw(res.outputMetadataCbor);
      return { ok: true, resultOk: res.ok, output: decodeOrRaw(res.outputCbor), ...(metadata !== undefined ? { metadata } : {}) };
    },
    async close() {
      port1.close();
      await worker.terminate();
    },
  };
}

/** Reads a `.wasm` file with a typed error naming the path. */
export async function readWasmFile(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new NodeHostError(
      'WasmUnreadable',
      `${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
    );
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
// jco's bindgen in Node, for the edge's artifact pipeline (src/component/upload/transpile.ts)

interface BindgenModule {
  $init: Promise<void>;
  generate(component: Uint8Array, options: unknown): { files: [string, Uint8Array][]; imports: string[]; exports: [string, string][] };
}

let bindgen: Promise<BindgenModule> | undefined;

function loadBindgen(): Promise<BindgenModule> {
  bindgen ??= (async () => {
    const { createRequire } = await import('node:module');
    const req = createRequire(import.meta.url);
    // The same bindgen (jco 1.15.4, `jco-lean-bindgen`) the edge transpiler runs; see
    // build/generate-edge-modules.ts. The package's exports map hides obj/; its entry point sits in src/.
    const pkgDir = join(dirname(req.resolve('jco-lean-bindgen')), '..');
    const mod = (await import(pathToFileURL(join(pkgDir, 'obj', 'js-component-bindgen-component.js')).href)) as BindgenModule;
    await mod.$init;
    return mod;
  })();
  return bindgen;
}

/**
 * A `BindgenGenerator` (see upload/transpile.ts) running jco's js-component-bindgen in this process. A
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
