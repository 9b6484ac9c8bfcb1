declare module 'greentic:telemetry/logger-api@1.0.0' {
  export function log(span: SpanContext, fields: Array<[string, string]>, ctx: TenantCtx | undefined): OpAck;
  export type TenantCtx = import('greentic:interfaces-types/types@0.1.0').TenantCtx;
  export type SpanContext = import('greentic:interfaces-types/types@0.1.0').SpanContext;
  export type HostError = import('greentic:interfaces-types/types@0.1.0').HostError;
  /**
   * # Variants
   * 
   * ## `"ok"`
   */
  export type OpAck = 'ok';
}
