declare module 'greentic:types-core/core@0.6.0' {
  export type EnvId = string;
  export type TenantId = string;
  export type TeamId = string;
  export type UserId = string;
  export type FlowId = string;
  export type StepId = string;
  export type ComponentId = string;
  export type TraceId = string;
  export type CorrelationId = string;
  export type CapabilityId = string;
  /**
   * The 10-field context handed to a component on every invocation.
   * `deadline-ms` is epoch milliseconds (0 = none); `i18n-id` is always set (hosts default to `en`).
   */
  export interface TenantCtx {
    tenantId: TenantId,
    teamId?: TeamId,
    userId?: UserId,
    envId: EnvId,
    traceId: TraceId,
    correlationId: CorrelationId,
    deadlineMs: bigint,
    attempt: number,
    idempotencyKey?: string,
    i18nId: string,
  }
  export interface HostError {
    code: string,
    message: string,
  }
  /**
   * `details` is canonical CBOR of a JSON-like value.
   */
  export interface NodeError {
    code: string,
    message: string,
    retryable: boolean,
    backoffMs?: bigint,
    details?: Uint8Array,
  }
  export interface Capability {
    id: CapabilityId,
    description?: string,
  }
  export interface CapabilityRequirement {
    capability: CapabilityId,
    optional: boolean,
  }
}
