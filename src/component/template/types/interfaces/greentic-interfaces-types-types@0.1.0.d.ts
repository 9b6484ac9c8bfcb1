declare module 'greentic:interfaces-types/types@0.1.0' {
  export type EnvId = string;
  export type TenantId = string;
  export type TeamId = string;
  export type UserId = string;
  export type StateKey = string;
  export type SessionKey = string;
  export interface Impersonation {
    actorId: UserId,
    reason?: string,
  }
  export interface TenantCtx {
    env: EnvId,
    tenant: TenantId,
    tenantId: TenantId,
    team?: TeamId,
    teamId?: TeamId,
    user?: UserId,
    userId?: UserId,
    traceId?: string,
    i18nId?: string,
    correlationId?: string,
    attributes: Array<[string, string]>,
    sessionId?: string,
    flowId?: string,
    nodeId?: string,
    providerId?: string,
    deadlineMs?: bigint,
    attempt: number,
    idempotencyKey?: string,
    impersonation?: Impersonation,
  }
  export interface SessionCursor {
    nodePointer: string,
    waitReason?: string,
    outboxMarker?: string,
  }
  /**
   * # Variants
   * 
   * ## `"unknown"`
   * 
   * ## `"invalid-input"`
   * 
   * ## `"not-found"`
   * 
   * ## `"conflict"`
   * 
   * ## `"timeout"`
   * 
   * ## `"unauthenticated"`
   * 
   * ## `"permission-denied"`
   * 
   * ## `"rate-limited"`
   * 
   * ## `"unavailable"`
   * 
   * ## `"internal"`
   */
  export type ErrorCode = 'unknown' | 'invalid-input' | 'not-found' | 'conflict' | 'timeout' | 'unauthenticated' | 'permission-denied' | 'rate-limited' | 'unavailable' | 'internal';
  export interface HostError {
    code: string,
    message: string,
  }
  /**
   * # Variants
   * 
   * ## `"invalid-arg"`
   * 
   * ## `"not-found"`
   * 
   * ## `"denied"`
   * 
   * ## `"unavailable"`
   * 
   * ## `"internal"`
   */
  export type IfaceError = 'invalid-arg' | 'not-found' | 'denied' | 'unavailable' | 'internal';
  export interface OutcomePending {
    reason: string,
    expectedInput?: Array<string>,
  }
  export interface OutcomeError {
    code: ErrorCode,
    message: string,
  }
  export type Outcome = OutcomeDone | OutcomePending | OutcomeError;
  export interface OutcomeDone {
    tag: 'done',
    val: string,
  }
  export interface OutcomePending {
    tag: 'pending',
    val: OutcomePending,
  }
  export interface OutcomeError {
    tag: 'error',
    val: OutcomeError,
  }
  export type Protocol = ProtocolHttp | ProtocolHttps | ProtocolTcp | ProtocolUdp | ProtocolGrpc | ProtocolCustom;
  export interface ProtocolHttp {
    tag: 'http',
  }
  export interface ProtocolHttps {
    tag: 'https',
  }
  export interface ProtocolTcp {
    tag: 'tcp',
  }
  export interface ProtocolUdp {
    tag: 'udp',
  }
  export interface ProtocolGrpc {
    tag: 'grpc',
  }
  export interface ProtocolCustom {
    tag: 'custom',
    val: string,
  }
  export interface AllowList {
    domains: Array<string>,
    ports: Uint16Array,
    protocols: Array<Protocol>,
  }
  export interface NetworkPolicy {
    egress: AllowList,
    denyOnMiss: boolean,
  }
  export type SignatureAlgorithm = SignatureAlgorithmEd25519 | SignatureAlgorithmOther;
  export interface SignatureAlgorithmEd25519 {
    tag: 'ed25519',
  }
  export interface SignatureAlgorithmOther {
    tag: 'other',
    val: string,
  }
  export interface Signature {
    keyId: string,
    algorithm: SignatureAlgorithm,
    signature: Uint8Array,
  }
  export interface PackRef {
    ociUrl: string,
    version: string,
    digest: string,
    signatures: Array<Signature>,
  }
  export interface SpanContext {
    tenant: TenantId,
    sessionId?: SessionKey,
    flowId: string,
    nodeId?: string,
    provider: string,
    startMs?: bigint,
    endMs?: bigint,
  }
}
