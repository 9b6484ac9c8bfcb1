/**
 * The component runtime inside a per-(pack, tenant) Dynamic Worker. The generated main module
 * registers each transpiled component, then exports `PackIsolate` as its default entrypoint.
 * Host imports are served by the `host` RPC stub that arrives with every call, so the isolate
 * never holds a capability longer than one invocation and cannot choose its tenant.
 *
 * This module is the lean runtime, for packs whose components need no WASI (Greentic host
 * imports only): every cold isolate parses the runtime, so WASI and the plan executor live in
 * runtime-wasi.ts, a second bundle that adds them through `enableWasi`.
 */
import { WorkerEntrypoint } from 'cloudflare:workers';
import { FUEL_EXPORT } from '../wasm/fuel.js';
import { greenticImports } from './glue-host-imports.js';
import { DirectPath } from './greentic-abi.js';
import {
  type ArtifactPlanWire,
  type CallReply,
  type ComponentSlot,
  type DescribeReply,
  type HostApi,
  type InvokeReply,
  type InvokeRequest,
  MCP_ROUTER_DIALECT,
  MCP_ROUTER_EXPORT,
  type McpRouterCallWire,
  type McpRouterReply,
  type McpRouterRequest,
  type McpRouterValue,
  type NodeErrorWire,
} from './protocol.js';
import type { AssetFiles, WasiContext, wasiImports } from './wasi.js';

type WasiImpls = ReturnType<typeof wasiImports>;

/** What the WASI runtime bundle adds (runtime-wasi.ts). */
export interface WasiSupport {
  wasiImports: typeof wasiImports;
  /** Whether a thrown value is `wasi:cli/exit`. */
  isExit(err: unknown): err is Error;
  instantiatePlan(
    direct: DirectPath,
    plan: ArtifactPlanWire['graph'],
    module: (index: number) => WebAssembly.Module,
    instantiate: (module: WebAssembly.Module, imports: WebAssembly.Imports) => WebAssembly.Instance,
    wasi: WasiImpls,
  ): void;
}

let wasiSupport: WasiSupport | null = null;

/** Called once by the WASI runtime bundle when the isolate loads it. */
export function enableWasi(support: WasiSupport): void {
  wasiSupport = support;
}

function requireWasi(entry: Entry): WasiSupport {
  // The parent loads the WASI runtime for every pack with a component that needs it (edge/runner.ts).
  if (!wasiSupport) throw new Error(`component ${entry.slot.id} needs WASI, which this pack isolate was loaded without`);
  return wasiSupport;
}

type CoreInstantiate = (module: WebAssembly.Module, imports?: WebAssembly.Imports) => Promise<WebAssembly.Instance>;
type Instantiate = (
  getCoreModule: (name: string) => WebAssembly.Module,
  imports: Record<string, unknown>,
  instantiateCore: CoreInstantiate,
) => Promise<Record<string, unknown>>;

interface CallState {
  host: HostApi | null;
  wasi: WasiContext;
  /** Epoch ms after which `control.should-cancel` answers true; 0 = no deadline. */
  deadlineMs: number;
}

/** Fuel charged for each call from a component into a JS import (≈ its cost in loop back-edges). */
const IMPORT_CALL_FUEL = 500;

class FuelExhausted extends Error {}

/** The component's memory cannot fit its manifest's limit (see `ComponentSlot.memoryError`). */
class MemoryLimit extends Error {}

interface Loaded {
  exports: Record<string, unknown>;
  fuel: WebAssembly.Global[];
  /** node@0.6.0 components whose main module qualifies: invoke without jco's per-call runtime. */
  direct: DirectPath | null;
}

interface Entry {
  fuel: WebAssembly.Global[];
  slot: ComponentSlot;
  /** jco's `instantiate`; null for a component loaded without glue (`slot.directMain`). */
  instantiate: Instantiate | null;
  cores: Record<string, WebAssembly.Module>;
  loaded: Promise<Loaded> | undefined;
  queue: Promise<unknown>;
  current: CallState;
}

const registry = new Map<string, Entry>();
/** The pack's assets (from the isolate env), shared read-only by components granted a mount. */
let assetFiles: AssetFiles | null = null;

export function registerComponent(slot: ComponentSlot, instantiate: Instantiate | null, cores: Record<string, WebAssembly.Module>): void {
  registry.set(slot.id, {
    fuel: [],
    slot,
    instantiate,
    cores,
    loaded: undefined,
    queue: Promise.resolve(),
    current: { host: null, wasi: { environment: [], logs: [] }, deadlineMs: 0 },
  });
}

function hostOf(entry: Entry): HostApi {
  const host = entry.current.host;
  if (!host) throw new Error('host import called outside an invocation');
  return host;
}

/** Spends one import call's fuel from every metered core module of the component. */
function charge(entry: Entry): void {
  for (const g of entry.fuel) {
    const left = Number(g.value) - IMPORT_CALL_FUEL;
    g.value = Math.max(left, 0);
    if (left <= 0) throw new FuelExhausted('fuel exhausted in an import call');
  }
}

/**
 * Wraps an interface's plain functions so every call spends fuel: a loop whose body is an import
 * call (a clock read, a log line) has few back-edges, yet must run out of budget too.
 */
function charged(entry: Entry, iface: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(iface)) {
    const isClass = typeof value === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(value));
    if (typeof value !== 'function' || isClass) {
      out[name] = value;
      continue;
    }
    const fn = value as (...args: unknown[]) => unknown;
    out[name] = (...args: unknown[]) => {
      charge(entry);
      return fn(...args);
    };
  }
  return out;
}

/** `greentic:component/control.should-cancel`. Workers clocks only advance across I/O, so this flips between host calls, not mid-loop. */
function shouldCancel(entry: Entry): boolean {
  return entry.current.deadlineMs > 0 && Date.now() > entry.current.deadlineMs;
}

/** The component's WASI implementation: its call's environment and logs, the pack's assets if granted. */
function wasiOf(entry: Entry): WasiImpls {
  return requireWasi(entry).wasiImports(() => entry.current.wasi, {
    assets: entry.slot.filesystem === 'read_only' ? (assetFiles ?? new Map()) : null,
  });
}

function buildImports(entry: Entry): Record<string, unknown> {
  let wasi: WasiImpls | undefined;
  const out: Record<string, unknown> = {};
  for (const spec of entry.slot.imports) {
    const at = spec.lastIndexOf('@');
    const base = at > 0 ? spec.slice(0, at) : spec;
    const version = at > 0 ? spec.slice(at + 1) : '';
    const impl = base.startsWith('wasi:')
      ? version === '' || version.startsWith('0.2.')
        ? (wasi ??= wasiOf(entry))[base]
        : undefined
      : greenticImports(base, { host: () => hostOf(entry), shouldCancel: () => shouldCancel(entry) });
    if (impl) out[spec] = charged(entry, impl);
  }
  return out;
}

async function load(entry: Entry): Promise<Loaded> {
  if (entry.slot.memoryError !== undefined) throw new MemoryLimit(entry.slot.memoryError);
  const fuel: WebAssembly.Global[] = [];
  const direct =
    entry.slot.dialect === 'node@0.6.0'
      ? new DirectPath({ host: () => hostOf(entry), charge: () => charge(entry), shouldCancel: () => shouldCancel(entry) })
      : null;
  entry.fuel = fuel;
  const newInstance = (module: WebAssembly.Module, imports: WebAssembly.Imports): WebAssembly.Instance => {
    const instance = new WebAssembly.Instance(module, imports);
    const g = instance.exports[FUEL_EXPORT];
    if (g instanceof WebAssembly.Global) fuel.push(g);
    return instance;
  };
  const coreModule = (name: string): WebAssembly.Module => {
    const m = entry.cores[name];
    if (!m) throw new Error(`core module ${name} missing from the isolate`);
    return m;
  };
  if (!entry.instantiate) {
    const { plan, directMain } = entry.slot;
    if (direct && plan) {
      requireWasi(entry).instantiatePlan(direct, plan.graph, (i) => coreModule(plan.modules[i] ?? `#${i}`), newInstance, wasiOf(entry));
      return { exports: {}, fuel, direct };
    }
    if (!direct || !directMain) throw new Error(`component ${entry.slot.id} was loaded without its jco glue`);
    direct.instantiateAlone(coreModule(directMain), newInstance);
    return { exports: {}, fuel, direct };
  }
  const instantiateCore: CoreInstantiate = async (module, imports) => {
    // Synchronous instantiation of an already-compiled module avoids a round trip through the
    // event loop per core module (a cold start instantiates three or more).
    const instance = newInstance(module, direct ? direct.imports(module, imports ?? {}) : (imports ?? {}));
    direct?.instantiated(module, instance);
    return instance;
  };
  const exports = await entry.instantiate(coreModule, buildImports(entry), instantiateCore);
  return { exports, fuel, direct: direct?.ready ? direct : null };
}

function isNodeError(
  err: unknown,
): err is { code: string; message: string; retryable: boolean; backoffMs?: bigint; details?: Uint8Array; detailsJson?: string } {
  return typeof err === 'object' && err !== null && 'code' in err && 'retryable' in err && !(err instanceof Error);
}

function failureOf(entry: Entry, loaded: Loaded | undefined, err: unknown): NodeErrorWire {
  // jco's glue throws an export's `err` case wrapped in a ComponentError carrying it as `payload`.
  const payload = err instanceof Error ? (err as { payload?: unknown }).payload : undefined;
  if (isNodeError(payload)) err = payload;
  if (isNodeError(err)) {
    return {
      code: err.code,
      message: err.message,
      retryable: err.retryable,
      backoffMs: err.backoffMs === undefined ? undefined : Number(err.backoffMs),
      details: err.details,
      detailsJson: err.detailsJson,
    };
  }
  // Anything else leaves the instance in an unknown state (a trap poisons it): start fresh next call.
  entry.loaded = undefined;
  if (loaded?.fuel.some((g) => Number(g.value) <= 0)) {
    return { code: 'timeout', message: `component ${entry.slot.id} exceeded its CPU budget`, retryable: false };
  }
  if (err instanceof MemoryLimit) return { code: 'oom', message: err.message, retryable: false };
  if (wasiSupport?.isExit(err)) return { code: 'exit', message: err.message, retryable: false };
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof RangeError && /memory|allocation/i.test(message)) {
    return { code: 'oom', message: `component ${entry.slot.id} ran out of memory: ${message}`, retryable: false };
  }
  if (err instanceof WebAssembly.RuntimeError) {
    return { code: 'trap', message: `component ${entry.slot.id} trapped: ${message}`, retryable: false };
  }
  return { code: 'host', message: `component ${entry.slot.id} failed: ${message}`, retryable: false };
}

function exportOf(entry: Entry, loaded: Loaded, short: string): Record<string, (...args: unknown[]) => unknown> {
  const name = entry.slot.exportName;
  const ex = (loaded.exports[name] ?? loaded.exports[short]) as Record<string, (...args: unknown[]) => unknown> | undefined;
  if (ex) return ex;
  // The runner sends describe and forced-glue calls to the pack's glue isolate instead.
  if (!entry.instantiate) throw new Error(`component ${entry.slot.id} is loaded without jco glue here; ${name} needs it`);
  throw new Error(`component does not export ${name}`);
}

async function callInvoke(entry: Entry, loaded: Loaded, req: InvokeRequest): Promise<Omit<Extract<InvokeReply, { ok: true }>, 'logs'>> {
  const slot = entry.slot;
  switch (slot.dialect) {
    case 'node@0.6.0': {
      const envelope = {
        ctx: req.ctx,
        flowId: req.flowId,
        stepId: req.stepId,
        componentId: slot.id,
        attempt: req.attempt,
        payloadCbor: req.payloadCbor,
        metadataCbor: req.metadataCbor,
      };
      if (loaded.direct && !req.glue) {
        const res = await loaded.direct.invoke(req.op, envelope);
        return { ok: true, outputCbor: res.outputCbor, outputMetadataCbor: res.outputMetadataCbor, via: 'direct' };
      }
      const node = exportOf(entry, loaded, 'node');
      const res = (await node.invoke!(req.op, envelope)) as { ok: boolean; outputCbor: Uint8Array; outputMetadataCbor?: Uint8Array };
      return { ok: true, outputCbor: res.outputCbor, outputMetadataCbor: res.outputMetadataCbor, via: 'glue' };
    }
    case 'component-runtime@0.6.0': {
      const runtime = exportOf(entry, loaded, 'componentRuntime');
      const res = (await runtime.run!(req.payloadCbor, new Uint8Array())) as { output: Uint8Array };
      return { ok: true, outputCbor: res.output };
    }
    case 'node@0.5.0':
    case 'node@0.4.0': {
      const node = exportOf(entry, loaded, 'node');
      const execCtx = {
        tenant: {
          tenant: req.ctx.tenantId,
          team: req.ctx.teamId,
          user: req.ctx.userId,
          traceId: req.ctx.traceId,
          correlationId: req.ctx.correlationId,
          deadlineUnixMs: req.ctx.deadlineMs === 0n ? undefined : req.ctx.deadlineMs,
          attempt: req.ctx.attempt,
          idempotencyKey: req.ctx.idempotencyKey,
        },
        flowId: req.flowId,
        nodeId: req.stepId,
      };
      const res = (await node.invoke!(execCtx, req.op, req.payloadJson ?? 'null')) as { tag: string; val: unknown };
      if (res.tag === 'err') {
        const e = res.val as { code: string; message: string; retryable: boolean; backoffMs?: bigint; details?: string };
        throw { code: e.code, message: e.message, retryable: e.retryable, backoffMs: e.backoffMs, detailsJson: e.details, legacy: true };
      }
      return { ok: true, outputJson: String(res.val) };
    }
    case MCP_ROUTER_DIALECT:
      throw {
        code: 'component.not-a-node',
        message: `component ${slot.id} is an MCP router (${MCP_ROUTER_EXPORT}); name it as the server of an mcp node`,
        retryable: false,
      };
  }
}

function serialize<T>(entry: Entry, job: () => Promise<T>): Promise<T> {
  // One call at a time per instance: a JSPI-suspended call must not be re-entered.
  const run = entry.queue.then(job, job);
  entry.queue = run.catch(() => undefined);
  return run;
}

function missingComponent(component: string): { ok: false; error: NodeErrorWire; logs: [] } {
  return {
    ok: false,
    error: { code: 'component.not-found', message: `no component ${component} in this pack`, retryable: false },
    logs: [],
  };
}

interface CallSetup {
  host: HostApi | null;
  environment: [string, string][];
  fuel: number;
  deadlineMs: number;
}

/** One call into a component, after the previous one: loads it if needed, grants the fuel, collects its logs. */
function runCall<T>(entry: Entry, call: CallSetup, job: (loaded: Loaded) => Promise<T>): Promise<CallReply<T>> {
  return serialize(entry, async () => {
    const state: CallState = { host: call.host, wasi: { environment: call.environment, logs: [] }, deadlineMs: call.deadlineMs };
    entry.current = state;
    let loaded: Loaded | undefined;
    try {
      entry.loaded ??= load(entry);
      loaded = await entry.loaded;
      for (const g of loaded.fuel) g.value = call.fuel;
      const value = await job(loaded);
      const left = loaded.fuel.length ? Math.min(...loaded.fuel.map((g) => Number(g.value))) : call.fuel;
      return { ok: true as const, value, logs: state.wasi.logs, fuelUsed: call.fuel - left };
    } catch (err) {
      if (!loaded) entry.loaded = undefined;
      return { ok: false as const, error: failureOf(entry, loaded, err), logs: state.wasi.logs };
    } finally {
      entry.current = { host: null, wasi: { environment: [], logs: [] }, deadlineMs: 0 };
    }
  });
}

function isVariant(value: unknown): value is { tag: string; val: unknown } {
  return typeof value === 'object' && value !== null && typeof (value as { tag?: unknown }).tag === 'string';
}

async function callRouter(entry: Entry, loaded: Loaded, call: McpRouterCallWire): Promise<McpRouterValue> {
  const router = exportOf(entry, loaded, 'router');
  if (call.fn === 'list-tools') return { fn: 'list-tools', tools: await router.listTools!() };
  try {
    return { fn: 'call-tool', response: await router.callTool!(call.tool, call.argumentsJson) };
  } catch (err) {
    // jco's glue throws the `err` case of `result<response, tool-error>` as a ComponentError carrying it.
    const payload = err instanceof Error ? (err as { payload?: unknown }).payload : undefined;
    if (isVariant(payload)) return { fn: 'call-tool', toolError: payload };
    throw err;
  }
}

export class PackIsolate extends WorkerEntrypoint<{ ASSETS?: Record<string, Uint8Array> }> {
  constructor(ctx: ExecutionContext, env: { ASSETS?: Record<string, Uint8Array> }) {
    super(ctx, env);
    assetFiles ??= new Map(Object.entries(env.ASSETS ?? {}));
  }

  async ping(): Promise<number> {
    return registry.size;
  }

  /** Instantiates a component ahead of its first call (pack activation warm-up). */
  async prepare(component: string): Promise<boolean> {
    const entry = registry.get(component);
    if (!entry) return false;
    return serialize(entry, async () => {
      try {
        entry.loaded ??= load(entry);
        await entry.loaded;
        return true;
      } catch {
        entry.loaded = undefined;
        return false;
      }
    });
  }

  /** Reports whether code in this isolate can reach the network (it must not: globalOutbound null). */
  async egressCheck(url: string): Promise<{ reachable: boolean; error?: string }> {
    try {
      await fetch(url);
      return { reachable: true };
    } catch (err) {
      return { reachable: false, error: err instanceof Error ? err.message : String(err) };
    }
  }

  async invoke(req: InvokeRequest): Promise<InvokeReply> {
    const entry = registry.get(req.component);
    if (!entry) return missingComponent(req.component);
    const call = { host: req.host, environment: req.environment, fuel: req.fuel, deadlineMs: Number(req.ctx.deadlineMs) };
    const reply = await runCall(entry, call, (loaded) => callInvoke(entry, loaded, req));
    if (!reply.ok) return reply;
    const { value, ...rest } = reply;
    return { ...value, ...rest };
  }

  /** Calls an MCP router component's `list-tools` or `call-tool` (an `mcp` node naming it). */
  async mcp(req: McpRouterRequest): Promise<McpRouterReply> {
    const entry = registry.get(req.component);
    if (!entry) return missingComponent(req.component);
    const call = { host: req.host, environment: req.environment, fuel: req.fuel, deadlineMs: 0 };
    return runCall(entry, call, (loaded) => callRouter(entry, loaded, req.call));
  }

  async describe(component: string, fuel: number): Promise<DescribeReply> {
    const entry = registry.get(component);
    if (!entry)
      return { ok: false, error: { code: 'component.not-found', message: `no component ${component} in this pack`, retryable: false } };
    return serialize(entry, async () => {
      let loaded: Loaded | undefined;
      try {
        entry.loaded ??= load(entry);
        loaded = await entry.loaded;
        for (const g of loaded.fuel) g.value = fuel;
        switch (entry.slot.dialect) {
          case 'node@0.6.0':
            return { ok: true, descriptor: await exportOf(entry, loaded, 'node').describe!() };
          case MCP_ROUTER_DIALECT:
            return { ok: true, descriptor: await exportOf(entry, loaded, 'router').describeServer!() };
          case 'component-runtime@0.6.0': {
            const d = loaded.exports['greentic:component/component-descriptor@0.6.0'] as Record<string, () => unknown> | undefined;
            return { ok: true, describeCbor: d?.describe ? ((await d.describe()) as Uint8Array) : undefined };
          }
          default:
            return { ok: true, describeJson: String(await exportOf(entry, loaded, 'node').getManifest!()) };
        }
      } catch (err) {
        return { ok: false, error: failureOf(entry, loaded, err) };
      }
    });
  }
}
