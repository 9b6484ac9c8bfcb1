/** The RPC contract between the parent Worker and a component isolate (both directions). */
import type { InstantiationPlan } from './instantiation-plan.js';

export type HostResult<T> = { ok: true; value: T } | { ok: false; error: { code: string; message: string } };

export interface HttpRequestWire {
  method: string;
  url: string;
  headers: [string, string][];
  body?: Uint8Array;
}

export interface HttpResponseWire {
  status: number;
  headers: [string, string][];
  body?: Uint8Array;
}

/** What a component isolate may ask of its parent; implemented by the ComponentHost entrypoint. */
export interface HostApi {
  secretsGet(key: string): Promise<HostResult<Uint8Array | null>>;
  secretsPut(key: string, value: Uint8Array): Promise<HostResult<null>>;
  stateRead(key: string): Promise<HostResult<Uint8Array>>;
  stateWrite(key: string, value: Uint8Array): Promise<HostResult<null>>;
  stateDelete(key: string): Promise<HostResult<null>>;
  httpSend(req: HttpRequestWire, timeoutMs: number | null): Promise<HostResult<HttpResponseWire>>;
  log(fields: [string, string][]): Promise<HostResult<null>>;
}

/** The 10-field `greentic:types-core@0.6.0` tenant-ctx, in jco's camelCase shape. */
export interface TenantCtxWire {
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

export interface InvokeRequest {
  component: string;
  op: string;
  ctx: TenantCtxWire;
  flowId: string;
  stepId: string;
  attempt: number;
  payloadCbor: Uint8Array;
  metadataCbor?: Uint8Array;
  /** Legacy JSON dialects receive the payload as JSON text instead. */
  payloadJson?: string;
  environment: [string, string][];
  /** Loop back-edges the component may take in this call (see wasm/fuel.ts). */
  fuel: number;
  /** Run node@0.6.0 `invoke` through jco's glue even when the direct path is available (tests). */
  glue?: boolean;
  host: HostApi | null;
}

export interface NodeErrorWire {
  code: string;
  message: string;
  retryable: boolean;
  backoffMs?: number;
  details?: Uint8Array;
  /** Legacy JSON dialects carry details as JSON text. */
  detailsJson?: string;
}

export interface LogLineWire {
  stream: 'stdout' | 'stderr';
  line: string;
}

export type InvokeReply =
  | {
      ok: true;
      outputCbor?: Uint8Array;
      outputJson?: string;
      outputMetadataCbor?: Uint8Array;
      logs: LogLineWire[];
      fuelUsed?: number;
      /** Which path lowered the call: the isolate's own canonical ABI code or jco's glue. */
      via?: 'direct' | 'glue';
    }
  | { ok: false; error: NodeErrorWire; logs: LogLineWire[] };

/** What the host calls on an MCP router component (`wasix:mcp/router@25.6.18`). */
export type McpRouterCallWire = { fn: 'list-tools' } | { fn: 'call-tool'; tool: string; argumentsJson: string };

export interface McpRouterRequest {
  component: string;
  call: McpRouterCallWire;
  environment: [string, string][];
  fuel: number;
  host: HostApi | null;
}

/**
 * What the router returned, as jco lifts it (records camelCase, variants `{tag, val}`, absent
 * options undefined); mapped to MCP's JSON shapes by the caller (mcp/mcp-router.ts).
 */
export type McpRouterValue =
  | { fn: 'list-tools'; tools: unknown }
  | { fn: 'call-tool'; response: unknown }
  | { fn: 'call-tool'; toolError: { tag: string; val: unknown } };

/** The outcome of one call into a component: its value, or how it failed (trap, fuel, memory). */
export type CallReply<T> =
  | { ok: true; value: T; logs: LogLineWire[]; fuelUsed?: number }
  | { ok: false; error: NodeErrorWire; logs: LogLineWire[] };

export type McpRouterReply = CallReply<McpRouterValue>;

export interface DescribeReply {
  ok: boolean;
  /** node@0.6.0: the descriptor record; other dialects: their describe payload. */
  descriptor?: unknown;
  describeCbor?: Uint8Array;
  describeJson?: string;
  error?: NodeErrorWire;
}

export type Dialect = 'node@0.6.0' | 'component-runtime@0.6.0' | 'node@0.5.0' | 'node@0.4.0' | typeof MCP_ROUTER_DIALECT;

/** An MCP server packaged as a component: called by `mcp` nodes, never as a flow node. */
export const MCP_ROUTER_DIALECT = 'mcp-router@25.6.18';
export const MCP_ROUTER_EXPORT = 'wasix:mcp/router@25.6.18';

/** A component's instantiation plan and the artifact file of each core module it instantiates. */
export interface ArtifactPlanWire {
  graph: InstantiationPlan;
  /** `modules[i]`: the core module file holding the component's module `i`. */
  modules: string[];
}

/** Per-component data baked into the isolate's generated main module. */
export interface ComponentSlot {
  id: string;
  dialect: Dialect;
  /** Import specifiers exactly as the transpiled glue names them. */
  imports: string[];
  exportName: string;
  /** `read_only`: the pack's assets are preopened at `/assets`; `none`: no preopens. */
  filesystem: 'none' | 'read_only';
  /**
   * Set when the isolate holds no jco glue for this component: the named core module is
   * instantiated alone and node@0.6.0 `invoke` runs on the direct path (see direct-plan.ts).
   */
  directMain?: string;
  /**
   * Set when the component is instantiated from its plan without jco's glue (see
   * upload/component-plan.ts and plan-instantiate.ts): the plan and its core modules' names in index order.
   */
  plan?: ArtifactPlanWire;
  /** Set when the component cannot start under its manifest's memory limit: every call fails with `oom`. */
  memoryError?: string;
}
