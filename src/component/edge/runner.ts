/**
 * Runs a pack's components in one Dynamic Worker per (pack digest, tenant): artifacts from R2,
 * no network (`globalOutbound: null`), a CPU limit per invocation (`limits.cpuMs` where the
 * platform enforces it, plus loop fuel everywhere), and host imports through a per-call RPC stub.
 */
import { errorMessage } from '../../core/coded-error.js';
import { decodeCbor, encodeCanonicalCbor } from '../../pack/cbor.js';
import { ISOLATE_RUNTIME_VERSION } from '../generated/isolate-modules.js';
import type {
  DescribeReply,
  Dialect,
  HostApi,
  InvokeReply,
  InvokeRequest,
  LogLineWire,
  McpRouterCallWire,
  McpRouterReply,
  McpRouterRequest,
  NodeErrorWire,
} from '../isolate/protocol.js';
import { ComponentError } from '../upload/transpile.js';
import { loadArtifacts, loadGlue, readDescriptor } from './artifact-store.js';
import type { HostProps } from './host-entrypoint.js';
import { type ComponentGrants, grantsFor, type TenantPolicy } from './host-policy.js';
import { glueFreeLoad, type PackComponent, packIsolateModules } from './pack-isolate-modules.js';

export const DEFAULT_COMPONENT_CPU_MS = 50;

/** Dialects of components whose artifacts this Worker isolate has loaded, by sha256. */
const knownDialects = new Map<string, Dialect>();
/** Whether a component (by sha256) imports any Greentic host interface besides `control`. */
const knownNeedsHost = new Map<string, boolean>();
/**
 * Fuel (loop back-edges; an import call counts as 500) granted per CPU millisecond. Measured
 * locally, a tight metered loop runs about 5 ns per back-edge; a componentize-js echo spends
 * ~25k, so the default 50 ms budget leaves generous headroom for real work.
 */
export const FUEL_PER_CPU_MS = 200_000;

export interface PackDeployment {
  packId: string;
  digest: string;
  components: PackComponent[];
  /**
   * The pack's `assets/` files (paths relative to that folder), visible read-only at `/assets`;
   * a function is called when the pack's isolate is loaded (assets read from storage on demand).
   */
  assets?: Record<string, Uint8Array> | (() => Promise<Record<string, Uint8Array>>);
}

export interface RunnerOptions {
  loader: WorkerLoader;
  bucket: R2Bucket;
  /**
   * The host capability for one component's calls. Production (worker-wiring.ts) passes
   * `hostTargetFactory(env)`: an in-process HostTarget RpcTarget, no loopback hop. The
   * ComponentHost entrypoint (`ctx.exports.ComponentHost({ props })`) wraps the same target; the
   * benchmark compares the two.
   */
  host: (props: HostProps) => HostApi;
  env: string;
  tenant: string;
  team?: string;
  tenantPolicy: TenantPolicy;
  cpuMs?: number;
  /** Values for WASI environment variables a manifest allow-lists. */
  environment?: Record<string, string>;
  /**
   * Instantiate every component through jco's glue (the pack's glue isolate) and call node@0.6.0
   * `invoke` through it too (tests compare it with the direct path).
   */
  forceGlue?: boolean;
}

export interface ComponentCall {
  component: string;
  op: string;
  input: unknown;
  flowId: string;
  stepId: string;
  attempt?: number;
  userId?: string;
  traceId?: string;
  correlationId?: string;
  idempotencyKey?: string;
  i18nId?: string;
  deadlineMs?: number;
  metadata?: unknown;
}

export interface ComponentFailure {
  code: string;
  message: string;
  retryable: boolean;
  backoffMs?: number;
  details?: unknown;
}

export type ComponentOutcome =
  | { ok: true; output: unknown; metadata?: unknown; logs: LogLineWire[]; fuelUsed?: number; via?: 'direct' | 'glue' }
  | { ok: false; error: ComponentFailure; logs: LogLineWire[] };

interface PackIsolateStub {
  ping(): Promise<number>;
  prepare(component: string): Promise<boolean>;
  egressCheck(url: string): Promise<{ reachable: boolean; error?: string }>;
  invoke(req: InvokeRequest): Promise<InvokeReply>;
  describe(component: string, fuel: number): Promise<DescribeReply>;
  mcp(req: McpRouterRequest): Promise<McpRouterReply>;
}

function decodeOutput(bytes: Uint8Array | undefined, what: string): unknown {
  if (!bytes || bytes.length === 0) return null;
  try {
    return decodeCbor(bytes);
  } catch (err) {
    throw new ComponentError('component.bad-output', `${what} is not valid CBOR: ${(err as Error).message}`);
  }
}

export class ComponentRunner {
  private readonly cpuMs: number;

  constructor(
    private readonly pack: PackDeployment,
    private readonly opts: RunnerOptions,
  ) {
    this.cpuMs = opts.cpuMs ?? DEFAULT_COMPONENT_CPU_MS;
  }

  /**
   * The pack's isolate; `get` reuses a warm one for the same (pack digest, tenant). `glue` selects
   * a second isolate where every component is instantiated through jco's glue (describe, and
   * invocations with `forceGlue`).
   */
  private isolate(glue = false): PackIsolateStub {
    const id = `greentic-pack:${this.pack.digest}:${this.opts.tenant}:${ISOLATE_RUNTIME_VERSION}${glue ? ':glue' : ''}`;
    const worker = this.opts.loader.get(id, async () => {
      const components = await Promise.all(
        this.pack.components.map(async (component) => {
          // The glue is fetched only for components that cannot load without it.
          const art = await loadArtifacts(this.opts.bucket, component.sha256, { glue });
          if (art.glue === null && !glueFreeLoad(art)) art.glue = await loadGlue(this.opts.bucket, art.descriptor);
          knownDialects.set(component.sha256, art.descriptor.dialect);
          knownNeedsHost.set(
            component.sha256,
            art.descriptor.imports.some((i) => i.startsWith('greentic:') && !i.startsWith('greentic:component/control')),
          );
          return { component, art };
        }),
      );
      const assets = typeof this.pack.assets === 'function' ? await this.pack.assets() : (this.pack.assets ?? {});
      return {
        compatibilityDate: '2026-10-01',
        mainModule: 'main.js',
        modules: packIsolateModules(components, { glue }),
        env: {
          ASSETS: Object.fromEntries(Object.entries(assets).map(([p, b]) => [`/assets/${p.replace(/^\/+/, '')}`, b])),
        },
        globalOutbound: null,
        limits: { cpuMs: this.cpuMs },
      };
    });
    return worker.getEntrypoint() as unknown as PackIsolateStub;
  }

  private component(id: string): PackComponent {
    const c = this.pack.components.find((x) => x.id === id);
    if (!c) throw new ComponentError('component.not-found', `pack ${this.pack.packId} has no component "${id}"`);
    return c;
  }

  private readonly grants = new Map<string, ComponentGrants>();

  private hostFor(c: PackComponent): HostApi {
    let grants = this.grants.get(c.id);
    if (!grants) this.grants.set(c.id, (grants = grantsFor(c.manifest ?? {}, this.opts.tenantPolicy)));
    return this.opts.host({
      env: this.opts.env,
      tenant: this.opts.tenant,
      team: this.opts.team,
      pack: this.pack.packId,
      component: c.id,
      grants,
    });
  }

  /** No-op RPC round trip to the pack isolate (the benchmark's floor). */
  ping(): Promise<number> {
    return this.isolate().ping();
  }

  /** Loads the pack isolate and instantiates a component without invoking it. */
  prepare(componentId: string): Promise<boolean> {
    this.component(componentId);
    return this.isolate().prepare(componentId);
  }

  /** Whether code in the pack isolate can open a connection (diagnostics; expected: false). */
  egressCheck(url = 'https://example.com/'): Promise<{ reachable: boolean; error?: string }> {
    return this.isolate().egressCheck(url);
  }

  async describe(componentId: string): Promise<DescribeReply> {
    this.component(componentId);
    return this.isolate(true).describe(componentId, this.cpuMs * FUEL_PER_CPU_MS);
  }

  async invoke(call: ComponentCall): Promise<ComponentOutcome> {
    let c: PackComponent;
    try {
      c = this.component(call.component);
    } catch (err) {
      return { ok: false, error: { code: 'component.not-found', message: (err as Error).message, retryable: false }, logs: [] };
    }
    const payload = call.input;
    const environment = this.environmentFor(c);
    const attempt = call.attempt ?? 1;
    const traceId = call.traceId ?? crypto.randomUUID();
    const req: InvokeRequest = {
      component: c.id,
      op: call.op,
      ctx: {
        tenantId: this.opts.tenant,
        teamId: this.opts.team,
        userId: call.userId,
        envId: this.opts.env,
        traceId,
        correlationId: call.correlationId ?? traceId,
        deadlineMs: BigInt(call.deadlineMs ?? 0),
        attempt,
        idempotencyKey: call.idempotencyKey,
        i18nId: call.i18nId ?? 'en',
      },
      flowId: call.flowId,
      stepId: call.stepId,
      attempt,
      payloadCbor: encodeCanonicalCbor(payload, { allowFloats: true }),
      metadataCbor: call.metadata === undefined ? undefined : encodeCanonicalCbor(call.metadata, { allowFloats: true }),
      // Only the legacy JSON dialects read it; skip the work when the component is known to be CBOR.
      payloadJson:
        knownDialects.get(c.sha256) === 'node@0.5.0' || knownDialects.get(c.sha256) === 'node@0.4.0' || !knownDialects.has(c.sha256)
          ? JSON.stringify(payload)
          : undefined,
      environment,
      fuel: this.cpuMs * FUEL_PER_CPU_MS,
      glue: this.opts.forceGlue || undefined,
      host: this.hostIfNeeded(c),
    };
    let reply: InvokeReply;
    try {
      reply = await this.isolate(this.opts.forceGlue).invoke(req);
    } catch (err) {
      return isolateFailure(c, err);
    }
    if (!reply.ok) return { ok: false, error: this.failure(reply.error), logs: reply.logs };
    try {
      const output = reply.outputJson !== undefined ? JSON.parse(reply.outputJson) : decodeOutput(reply.outputCbor, 'output-cbor');
      return {
        ok: true,
        output,
        metadata: decodeOutput(reply.outputMetadataCbor, 'output-metadata-cbor') ?? undefined,
        logs: reply.logs,
        fuelUsed: reply.fuelUsed,
        via: reply.via,
      };
    } catch (err) {
      return {
        ok: false,
        error: { code: 'component.bad-output', message: `component ${c.id}: ${(err as Error).message}`, retryable: false },
        logs: reply.logs,
      };
    }
  }

  /** The ABI dialect of a pack component (from its stored artifacts), or undefined when the pack has none by that id. */
  async dialectOf(componentId: string): Promise<Dialect | undefined> {
    const c = this.pack.components.find((x) => x.id === componentId);
    if (!c) return undefined;
    const known = knownDialects.get(c.sha256);
    if (known !== undefined) return known;
    const descriptor = await readDescriptor(this.opts.bucket, c.sha256);
    if (descriptor) knownDialects.set(c.sha256, descriptor.dialect);
    return descriptor?.dialect;
  }

  /**
   * Calls an MCP router component of the pack (`list-tools` or `call-tool`), in the same isolate,
   * under the same CPU budget and memory limit as a node invocation.
   */
  async mcpRouter(componentId: string, call: McpRouterCallWire): Promise<McpRouterReply> {
    let c: PackComponent;
    try {
      c = this.component(componentId);
    } catch (err) {
      return { ok: false, error: { code: 'component.not-found', message: (err as Error).message, retryable: false }, logs: [] };
    }
    const req: McpRouterRequest = {
      component: c.id,
      call,
      environment: this.environmentFor(c),
      fuel: this.cpuMs * FUEL_PER_CPU_MS,
      host: this.hostIfNeeded(c),
    };
    try {
      return await this.isolate().mcp(req);
    } catch (err) {
      return isolateFailure(c, err);
    }
  }

  /** Values of the environment variables the component's manifest allow-lists. */
  private environmentFor(c: PackComponent): [string, string][] {
    const allow = c.manifest?.capabilities?.wasi?.env?.allow ?? [];
    return allow.flatMap((k): [string, string][] => {
      const value = this.opts.environment?.[k];
      return value === undefined ? [] : [[k, value]];
    });
  }

  /** A component that imports no host interface never receives a capability to the parent. */
  private hostIfNeeded(c: PackComponent): HostApi | null {
    return knownNeedsHost.get(c.sha256) === false ? null : this.hostFor(c);
  }

  private failure(e: NodeErrorWire): ComponentFailure {
    let details: unknown;
    if (e.detailsJson !== undefined) {
      try {
        details = JSON.parse(e.detailsJson);
      } catch {
        details = e.detailsJson;
      }
    } else if (e.details) {
      try {
        details = decodeCbor(e.details);
      } catch {
        details = new TextDecoder().decode(e.details);
      }
    }
    return { code: e.code, message: e.message, retryable: e.retryable, backoffMs: e.backoffMs, details };
  }
}

/** The isolate itself failed (platform CPU/memory limit, crash): the next call loads a fresh one. */
function isolateFailure(c: PackComponent, err: unknown): { ok: false; error: ComponentFailure & NodeErrorWire; logs: [] } {
  const message = errorMessage(err);
  const timeout = /cpu|time limit|exceeded/i.test(message);
  return {
    ok: false,
    error: { code: timeout ? 'timeout' : 'isolate', message: `component ${c.id}: ${message}`, retryable: !timeout },
    logs: [],
  };
}
