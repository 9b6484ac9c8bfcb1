/**
 * The worker thread that holds a component for the Node host (node-host.ts). Host imports
 * must answer synchronously (Node has no JSPI), while the edge's host API (edge/host-policy.ts)
 * is async: the thread posts each host call to the parent and blocks on an Atomics flag until the
 * parent has put the reply on a MessagePort. Import wiring mirrors isolate/runtime-main.ts with
 * the awaits made synchronous. Started through component-thread-entry.js (tsx, as bin/*.js do).
 */
import { readFile } from 'node:fs/promises';
import { type MessagePort, parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { HostApi, HostResult } from '../isolate/protocol.js';

/** What the parent hands the thread. */
export interface ComponentThreadData {
  /** file: URL of the transpiled glue (`component.js`). */
  componentUrl: string;
  /** Folder of the transpiled core modules. */
  coreDir: string;
  /** file: URL of preview2-shim's Node entry. */
  shimUrl: string;
  /** Import specifiers exactly as the glue names them. */
  wanted: string[];
  /** Versions of the greentic interfaces the glue names (jco drops them from its import keys). */
  versions: Record<string, string>;
  signalBuffer: SharedArrayBuffer;
  replyPort: MessagePort;
}

/** Messages from the thread to the parent. */
export type ComponentThreadMessage =
  | { kind: 'ready'; error?: { code: 'UnsupportedAbi' | 'Trap'; message: string } }
  | { kind: 'host'; method: keyof HostApi; args: unknown[] }
  | { kind: 'reply'; id: number; outcome: 'ok' | 'node-error' | 'trap' | 'absent'; value?: unknown; message?: string };

/** A call from the parent: `describe()` or `invoke(op, envelope)`. */
export interface ComponentThreadCall {
  kind: 'call';
  id: number;
  fn: 'describe' | 'invoke';
  op?: string;
  envelope?: unknown;
}

type Impl = Record<string, unknown>;
/** Node's WebAssembly compiles from bytes; the Workers types this project compiles against omit it. */
const wasm = WebAssembly as unknown as { compile(bytes: Uint8Array): Promise<WebAssembly.Module> };
/** `describe` is declared by the interface, yet some Rust-built components export `invoke` only. */
type NodeExport = { describe?: () => unknown; invoke(op: unknown, envelope: unknown): unknown };

const port = parentPort!;
const { componentUrl, coreDir, shimUrl, wanted, versions, signalBuffer, replyPort } = workerData as ComponentThreadData;
const signal = new Int32Array(signalBuffer);

/** Calls the parent's host API and blocks until it answers. */
function hostCall<M extends keyof HostApi>(method: M, args: Parameters<HostApi[M]>): Awaited<ReturnType<HostApi[M]>> {
  Atomics.store(signal, 0, 0);
  port.postMessage({ kind: 'host', method, args } satisfies ComponentThreadMessage);
  Atomics.wait(signal, 0, 0);
  let msg: { message: unknown } | undefined;
  while (!(msg = receiveMessageOnPort(replyPort))) {
    // The parent posts the reply before it raises the flag; the message may still be in flight.
  }
  return msg.message as Awaited<ReturnType<HostApi[M]>>;
}
const importError = (payload: unknown) => Object.assign(new Error('host import failed'), { payload });
const unwrap = <T>(res: HostResult<T>, map: (e: { code: string; message: string }) => unknown = (e) => e): T => {
  if (res.ok) return res.value;
  throw importError(map(res.error));
};

type HttpReq = { method: string; url: string; headers: [string, string][]; body?: Uint8Array };

function greentic(base: string, version: string): Impl | undefined {
  switch (base) {
    case 'greentic:component/control':
      return { shouldCancel: () => false, yieldNow: () => {} };
    case 'greentic:secrets-store/secrets-store':
      return {
        get: (key: string) => unwrap(hostCall('secretsGet', [key]), (e) => e.code) ?? undefined,
        put: (key: string, value: Uint8Array) => {
          unwrap(hostCall('secretsPut', [key, value]), (e) => e.code);
        },
      };
    case 'greentic:state/state-store':
      return {
        read: (key: string) => unwrap(hostCall('stateRead', [key])),
        write: (key: string, bytes: Uint8Array) => {
          unwrap(hostCall('stateWrite', [key, bytes]));
          return 'ok';
        },
        delete: (key: string) => {
          unwrap(hostCall('stateDelete', [key]));
          return 'ok';
        },
      };
    case 'greentic:http/http-client':
      return {
        send: (req: HttpReq, opts?: { timeoutMs?: number }) => {
          const timeout = version.startsWith('1.0') ? null : (opts?.timeoutMs ?? null);
          const res = unwrap(hostCall('httpSend', [{ method: req.method, url: req.url, headers: req.headers, body: req.body }, timeout]));
          return { status: res.status, headers: res.headers, body: res.body };
        },
      };
    case 'greentic:telemetry/logger-api':
      return {
        log: (_span: unknown, fields: [string, string][]) => {
          unwrap(hostCall('log', [fields]));
          return 'ok';
        },
      };
    case 'greentic:host/kv-v1':
      return {
        get: (ns: string, key: string) => {
          const r = hostCall('stateRead', [`${ns}:${key}`]);
          return r.ok ? new TextDecoder().decode(r.value) : undefined;
        },
        put: (ns: string, key: string, val: string) => {
          hostCall('stateWrite', [`${ns}:${key}`, new TextEncoder().encode(val)]);
        },
      };
    default:
      return undefined;
  }
}

async function wasi(): Promise<Record<string, Impl>> {
  const shim = (await import(shimUrl)) as Record<string, Record<string, unknown>>;
  const out: Record<string, Impl> = {};
  for (const [pkg, ifaces] of Object.entries(shim)) {
    for (const [iface, impl] of Object.entries(ifaces)) {
      if (iface.startsWith('_') || typeof impl !== 'object' || impl === null) continue;
      out[`wasi:${pkg}/${iface.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`] = impl as Impl;
    }
  }
  // No preopened directories, no environment, stdout kept off the CLI's stdout.
  out['wasi:filesystem/preopens'] = { getDirectories: () => [] };
  out['wasi:cli/environment'] = { getEnvironment: () => [], getArguments: () => [], initialCwd: () => undefined };
  out['wasi:cli/stdout'] = { getStdout: out['wasi:cli/stderr']!.getStderr };
  return out;
}

function isNodeError(e: unknown): boolean {
  return !!e && typeof e === 'object' && !(e instanceof Error) && typeof (e as { code?: unknown }).code === 'string' && 'retryable' in e;
}

async function start(): Promise<Extract<ComponentThreadMessage, { kind: 'ready' }>['error']> {
  const w = await wasi();
  const imports: Record<string, Impl> = {};
  for (const spec of wanted) {
    const at = spec.lastIndexOf('@');
    const base = at > 0 ? spec.slice(0, at) : spec;
    const impl = base.startsWith('wasi:') ? w[base] : greentic(base, at > 0 ? spec.slice(at + 1) : (versions[base] ?? ''));
    if (impl) imports[spec] = impl;
  }
  const missing = wanted.filter((s) => !(s in imports));
  if (missing.length > 0) return { code: 'UnsupportedAbi', message: `imports ${missing.join(', ')}, which this host does not provide` };
  const { instantiate } = (await import(componentUrl)) as {
    instantiate(getCoreModule: (path: string) => Promise<WebAssembly.Module>, imports: unknown): Promise<Record<string, unknown>>;
  };
  let exportsObj: Record<string, unknown>;
  try {
    exportsObj = await instantiate(async (p) => wasm.compile(await readFile(`${coreDir}/${p}`)), imports);
  } catch (e) {
    return { code: 'Trap', message: `instantiation failed: ${(e as Error | undefined)?.message ?? String(e)}` };
  }
  const node = exportsObj['greentic:component/node@0.6.0'] as NodeExport | undefined;
  if (!node || typeof node.invoke !== 'function') {
    const names = Object.keys(exportsObj).filter((k) => k.includes(':'));
    return { code: 'UnsupportedAbi', message: `does not export greentic:component/node@0.6.0 (exports: ${names.join(', ') || 'none'})` };
  }
  let poisoned: string | undefined;
  port.on('message', (msg: ComponentThreadCall) => {
    if (msg.kind !== 'call') return;
    const reply = (body: Omit<Extract<ComponentThreadMessage, { kind: 'reply' }>, 'kind' | 'id'>) =>
      port.postMessage({ kind: 'reply', id: msg.id, ...body } satisfies ComponentThreadMessage);
    if (poisoned) return reply({ outcome: 'trap', message: `the instance trapped earlier (${poisoned})` });
    if (msg.fn === 'describe' && typeof node.describe !== 'function') return reply({ outcome: 'absent' });
    try {
      reply({ outcome: 'ok', value: msg.fn === 'describe' ? node.describe?.() : node.invoke(msg.op, msg.envelope) });
    } catch (e) {
      if (isNodeError(e)) {
        reply({ outcome: 'node-error', value: e });
      } else {
        poisoned = (e as Error | undefined)?.message ?? String(e);
        reply({ outcome: 'trap', message: poisoned });
      }
    }
  });
  return undefined;
}

port.postMessage({ kind: 'ready', error: await start() } satisfies ComponentThreadMessage);
