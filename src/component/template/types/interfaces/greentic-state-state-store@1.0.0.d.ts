declare module 'greentic:state/state-store@1.0.0' {
  export function read(key: StateKey, ctx: TenantCtx | undefined): Uint8Array;
  export function write(key: StateKey, bytes: Uint8Array, ctx: TenantCtx | undefined): OpAck;
  export { _delete as delete };
  function _delete(key: StateKey, ctx: TenantCtx | undefined): OpAck;
  export type TenantCtx = import('greentic:interfaces-types/types@0.1.0').TenantCtx;
  export type StateKey = import('greentic:interfaces-types/types@0.1.0').StateKey;
  export interface HostError {
    code: string,
    message: string,
  }
  /**
   * # Variants
   * 
   * ## `"ok"`
   */
  export type OpAck = 'ok';
}
