// Runs a Greentic component in Node for the CLI (`greentic-component describe|invoke`): jco
// transpiles it once per digest into a cache folder, WASI comes from preview2-shim with the
// filesystem, environment and stdout closed, and the Greentic host imports are served by the
// edge's host API (edge/host-policy.ts: same grants, scoping and error codes) over local stores.
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import { errorMessage } from '../../core/coded-error.js';
import { encodeCanonicalCbor } from '../../pack/cbor.js';
import { type ComponentGrants, createHostApi, type HostScope, type HttpTransport, type KeyValueStore } from '../edge/host-policy.js';
import type { TenantCtxWire } from '../isolate/protocol.js';
import type { ComponentThreadData, ComponentThreadMessage } from './component-thread.js';
import { type DescribedComponent, decodeOrRaw, describedComponent, payloadForInvoke, type RawDescriptor } from './described-component.js';
import { LOCAL_SCOPE, localGrants, memoryStore, secretsStoreFrom } from './local-stores.js';
import { NodeHostError } from './node-host-error.js';
import { transpileForNode } from './transpile-cache.js';

export type { ComponentGrants };

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

/** A component instance running in a worker thread; calls are serialized. */
export interface NodeComponent {
  abi: 'greentic:component/node@0.6.0';
  /** The component's `describe()` record; undefined when it exports `invoke` only. */
  describe(): Promise<DescribedComponent | undefined>;
  /** `input` is JSON-like; it is wrapped and CBOR-encoded as upstream's harness does. */
  invoke(op: string, input: unknown, opts?: InvokeOptions): Promise<InvokeOutcome>;
  /** Ends the worker; the component cannot be called afterwards. */
  close(): Promise<void>;
}

/** preview2-shim's Node entry, as a file URL the component thread imports. */
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

type WorkerMessage = ComponentThreadMessage;

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
  const workerData: ComponentThreadData = {
    componentUrl: pathToFileURL(join(files.dir, 'component.js')).href,
    coreDir: files.dir,
    shimUrl: preview2ShimUrl(),
    wanted: files.imports,
    versions: importVersions(readFileSync(join(files.dir, 'component.js'), 'utf8')),
    signalBuffer,
    replyPort: port2,
  };
  const worker = new Worker(new URL('./component-thread-entry.js', import.meta.url), { workerData, transferList: [port2] });

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
            res = { ok: false, error: { code: 'internal', message: errorMessage(e) } };
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
      if (r.outcome === 'absent') return undefined;
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
