/**
 * The direct path for node@0.6.0 components: the isolate lowers `invoke` arguments and lifts its
 * result itself, and serves the Greentic host imports (state, secrets, http, telemetry) with its
 * own JSPI trampolines, instead of going through jco's glue for them (whose component-model task
 * runtime costs ~35 µs per invoke, measured in `npm run bench:component`). A component importing
 * only host functions is instantiated from its main core module alone (`instantiateAlone`, see
 * direct-plan.ts); one that also imports WASI or `control` from its instantiation plan
 * (plan-instantiate.ts, through `hostImport` and `adoptMain`); one the plan cannot serve by jco's
 * glue, which this path watches (`imports`, `instantiated`). Host-function layouts come from canon.ts and the WIT
 * types in wit-types.ts; `invoke`'s own lowering and lifting is generated from the same types at
 * build time (build/canon-codegen.ts).
 */

import { type CanonType, type Layout, layoutOf, MAX_FLAT_PARAMS, MAX_FLAT_RESULTS, t } from './canon.js';
import { liftFlat } from './canon-flat.js';
import {
  type CoreInterface,
  type DirectHostFunction,
  INVOKE_EXPORT,
  isHostImport,
  isNodeMain,
  needsOnlyDirectImports,
} from './direct-plan.js';
import { INVOKE_PARAMS_ALIGN, INVOKE_PARAMS_SIZE, loadInvokeResult, storeInvokeParams } from './generated/node-abi.js';
import { CanonError, GuestMemory } from './guest-memory.js';
import type { HostApi, HostResult } from './protocol.js';
import { bytes, hostError, httpRequest, httpResponse, opAck, requestOptions, secretsError, spanContext, tenantCtx19 } from './wit-types.js';

/** JavaScript Promise Integration (workerd ships it; the TypeScript DOM/Workers libs do not declare it yet). */
interface Jspi {
  Suspending: new (fn: (...args: number[]) => Promise<unknown>) => object;
  promising<F extends (...args: number[]) => unknown>(fn: F): (...args: Parameters<F>) => Promise<ReturnType<F>>;
}
const jspi = WebAssembly as unknown as Jspi;

type Outcome = { tag: 'ok'; val?: unknown } | { tag: 'err'; val: unknown };

interface HostFunction {
  params: CanonType[];
  result: CanonType;
  call(host: HostApi, args: unknown[]): Promise<Outcome>;
}

function outcome<T>(
  res: HostResult<T>,
  ok: (v: T) => unknown,
  err: (e: { code: string; message: string }) => unknown = (e) => ({ code: e.code, message: e.message }),
): Outcome {
  return res.ok ? { tag: 'ok', val: ok(res.value) } : { tag: 'err', val: err(res.error) };
}

const secretsCode = (e: { code: string }): string =>
  ['not-found', 'denied', 'invalid-key', 'internal'].includes(e.code) ? e.code : 'internal';

const secretsGet: HostFunction = {
  params: [t.string],
  result: t.result(t.option(bytes), secretsError),
  call: async (host, [key]) => outcome(await host.secretsGet(key as string), (v) => v ?? undefined, secretsCode),
};

const httpSend = (withOptions: boolean): HostFunction => ({
  params: withOptions ? [httpRequest, t.option(requestOptions), t.option(tenantCtx19)] : [httpRequest, t.option(tenantCtx19)],
  result: t.result(httpResponse, hostError),
  call: async (host, args) => {
    const req = args[0] as { method: string; url: string; headers: [string, string][]; body?: Uint8Array };
    const opts = withOptions ? (args[1] as { timeoutMs?: number } | undefined) : undefined;
    const res = await host.httpSend({ method: req.method, url: req.url, headers: req.headers, body: req.body }, opts?.timeoutMs ?? null);
    return outcome(res, (r) => ({ status: r.status, headers: r.headers, body: r.body }));
  },
});

/** Host functions served directly, keyed by the core import `module#name` (versioned, as wit-component names them). */
const HOST_FUNCTIONS: Record<DirectHostFunction, HostFunction> = {
  'greentic:state/state-store@1.0.0#read': {
    params: [t.string, t.option(tenantCtx19)],
    result: t.result(bytes, hostError),
    call: async (host, [key]) => outcome(await host.stateRead(key as string), (v) => v),
  },
  'greentic:state/state-store@1.0.0#write': {
    params: [t.string, bytes, t.option(tenantCtx19)],
    result: t.result(opAck, hostError),
    call: async (host, [key, value]) => outcome(await host.stateWrite(key as string, value as Uint8Array), () => 'ok'),
  },
  'greentic:state/state-store@1.0.0#delete': {
    params: [t.string, t.option(tenantCtx19)],
    result: t.result(opAck, hostError),
    call: async (host, [key]) => outcome(await host.stateDelete(key as string), () => 'ok'),
  },
  'greentic:secrets-store/secrets-store@1.0.0#get': secretsGet,
  'greentic:secrets-store/secrets-store@1.1.0#get': secretsGet,
  'greentic:secrets-store/secrets-store@1.1.0#put': {
    params: [t.string, bytes],
    result: t.result(undefined, secretsError),
    call: async (host, [key, value]) => outcome(await host.secretsPut(key as string, value as Uint8Array), () => undefined, secretsCode),
  },
  'greentic:http/http-client@1.0.0#send': httpSend(false),
  'greentic:http/http-client@1.1.0#send': httpSend(true),
  'greentic:telemetry/logger-api@1.0.0#log': {
    params: [spanContext, t.list(t.tuple(t.string, t.string)), t.option(tenantCtx19)],
    result: t.result(opAck, hostError),
    call: async (host, [, fields]) => outcome(await host.log(fields as [string, string][]), () => 'ok'),
  },
};

interface CompiledHostFunction {
  fn: HostFunction;
  indirect: boolean;
  params: Layout;
  result: Layout;
}

const compiled = new Map<string, CompiledHostFunction>();

function compiledHostFunction(key: string): CompiledHostFunction | undefined {
  let c = compiled.get(key);
  if (c) return c;
  const fn = (HOST_FUNCTIONS as Record<string, HostFunction | undefined>)[key];
  if (!fn) return undefined;
  const params = layoutOf(t.tuple(...fn.params));
  const result = layoutOf(fn.result);
  if (result.flat <= MAX_FLAT_RESULTS) throw new CanonError(`${key}: results expected to be returned through a pointer`);
  c = { fn, indirect: params.flat > MAX_FLAT_PARAMS, params, result };
  compiled.set(key, c);
  return c;
}

const INVOKE_POST_RETURN = `cabi_post_${INVOKE_EXPORT}`;

const coreInterfaceOf = (module: WebAssembly.Module): CoreInterface => ({
  imports: WebAssembly.Module.imports(module),
  exports: WebAssembly.Module.exports(module),
});

export interface DirectCallbacks {
  /** The host capability of the call in progress (throws outside an invocation). */
  host(): HostApi;
  /** Charged before every host call (fuel accounting). */
  charge(): void;
  /** `greentic:component/control.should-cancel`: the invocation's deadline has passed. */
  shouldCancel(): boolean;
}

export interface NodeInvokeResult {
  ok: boolean;
  outputCbor: Uint8Array;
  outputMetadataCbor?: Uint8Array;
}

/**
 * Watches a component's core instantiations (through jco's `instantiateCore` hook) and, when the
 * component's main module qualifies, replaces its Greentic host imports with direct trampolines
 * and exposes `invoke`. A component that does not qualify (no `cabi_realloc`/`memory` export, a
 * host import this table does not know, host imports in more than one core module) keeps jco's
 * path for everything.
 */
export class DirectPath {
  private main: { instance: WebAssembly.Instance; mem: GuestMemory } | null = null;
  private pending: { module: WebAssembly.Module; mem: { current: GuestMemory | null } } | null = null;
  private hostImporters = 0;
  private suspends = false;
  private disabled = false;
  private promising: ((ptr: number) => Promise<number>) | null = null;

  constructor(readonly callbacks: DirectCallbacks) {}

  /** Called with each core module's imports before it is instantiated; returns the imports to use. */
  imports(module: WebAssembly.Module, imports: WebAssembly.Imports, core: CoreInterface = coreInterfaceOf(module)): WebAssembly.Imports {
    const wanted = core.imports.filter((i) => i.kind === 'function' && isHostImport(i.module));
    if (wanted.length > 0) this.hostImporters++;
    if (!isNodeMain(core)) return imports;
    const host = wanted.map((i) => [i, `${i.module}#${i.name}`] as const);
    if (host.some(([, key]) => !Object.hasOwn(HOST_FUNCTIONS, key))) {
      this.disabled = true;
      return imports;
    }
    const mem: { current: GuestMemory | null } = { current: null };
    this.pending = { module, mem };
    if (host.length === 0) return imports;
    const patched: Record<string, Record<string, unknown>> = {};
    for (const [name, value] of Object.entries(imports)) patched[name] = { ...(value as Record<string, unknown>) };
    const current = (): GuestMemory => {
      if (!mem.current) throw new Error('host import called before the component was instantiated');
      return mem.current;
    };
    for (const [i, key] of host) (patched[i.module] ??= {})[i.name] = this.trampoline(key, current);
    this.suspends = true;
    return patched as WebAssembly.Imports;
  }

  /** Called with each core instance after instantiation. */
  instantiated(module: WebAssembly.Module, instance: WebAssembly.Instance): void {
    if (this.pending?.module !== module) return;
    const ex = instance.exports as Record<string, unknown>;
    const mem = new GuestMemory(ex.memory as WebAssembly.Memory, ex.cabi_realloc as (a: number, b: number, c: number, d: number) => number);
    this.pending.mem.current = mem;
    this.main = { instance, mem };
    this.pending = null;
  }

  /**
   * Instantiates a main module that imports only host functions served here, without jco's glue
   * or the component's other core modules (see direct-plan.ts).
   */
  instantiateAlone(
    module: WebAssembly.Module,
    instantiate: (module: WebAssembly.Module, imports: WebAssembly.Imports) => WebAssembly.Instance,
  ): void {
    const core = coreInterfaceOf(module);
    if (!isNodeMain(core) || !needsOnlyDirectImports(core)) {
      throw new CanonError('the main core module imports more than the Greentic host functions; it needs jco glue');
    }
    const instance = instantiate(module, this.imports(module, {}, core));
    this.instantiated(module, instance);
  }

  /**
   * The core function for a lowered Greentic host import of a component instantiated from its
   * plan (plan-instantiate.ts), reading and writing `mem`; undefined for a function this path
   * does not serve.
   */
  hostImport(fn: string, mem: () => GuestMemory): object | undefined {
    if (!Object.hasOwn(HOST_FUNCTIONS, fn)) return undefined;
    this.suspends = true;
    return this.trampoline(fn, mem);
  }

  /** Makes `instance` the component's main instance (its `invoke`, memory and `cabi_realloc`); false if it is not one. */
  adoptMain(instance: WebAssembly.Instance): boolean {
    const ex = instance.exports as Record<string, unknown>;
    if (
      this.main ||
      typeof ex[INVOKE_EXPORT] !== 'function' ||
      !(ex.memory instanceof WebAssembly.Memory) ||
      typeof ex.cabi_realloc !== 'function'
    )
      return false;
    this.main = { instance, mem: new GuestMemory(ex.memory, ex.cabi_realloc as (a: number, b: number, c: number, d: number) => number) };
    return true;
  }

  /** Whether `invoke` can run on the direct path (decided once every core module is instantiated). */
  get ready(): boolean {
    return this.main !== null && !this.disabled && this.hostImporters <= 1;
  }

  private trampoline(key: string, mem: () => GuestMemory): object {
    const { callbacks } = this;
    return new jspi.Suspending(async (...args: number[]) => {
      callbacks.charge();
      // Layouts are compiled on a function's first call: a cold start pays only for what it uses.
      const c = compiledHostFunction(key)!;
      const m = mem();
      const values = c.indirect ? (c.params.load(m, args[0]! >>> 0) as unknown[]) : liftFlat(m, c.fn.params, args);
      const retptr = args[args.length - 1]! >>> 0;
      const res = await c.fn.call(callbacks.host(), values);
      c.result.store(m, retptr, res);
    });
  }

  /** node@0.6.0 `invoke`: resolves to the invocation-result or throws the node-error record. */
  async invoke(op: string, envelope: Record<string, unknown>): Promise<NodeInvokeResult> {
    const main = this.main!;
    const ex = main.instance.exports as Record<string, (...a: number[]) => number>;
    const ptr = main.mem.alloc(INVOKE_PARAMS_SIZE, INVOKE_PARAMS_ALIGN);
    storeInvokeParams(main.mem, ptr, [op, envelope]);
    let ret: number;
    if (this.suspends) {
      this.promising ??= jspi.promising(ex[INVOKE_EXPORT]!);
      ret = (await this.promising(ptr)) >>> 0;
    } else {
      ret = ex[INVOKE_EXPORT]!(ptr) >>> 0;
    }
    const res = loadInvokeResult(main.mem, ret) as Outcome;
    ex[INVOKE_POST_RETURN]?.(ret);
    if (res.tag === 'err') throw res.val;
    return res.val as NodeInvokeResult;
  }
}
