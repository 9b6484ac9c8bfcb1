declare module 'greentic:http/http-client@1.0.0' {
  export function send(req: Request, ctx: TenantCtx | undefined): Response;
  export type TenantCtx = import('greentic:interfaces-types/types@0.1.0').TenantCtx;
  export type HostError = import('greentic:interfaces-types/types@0.1.0').HostError;
  export interface Request {
    method: string,
    url: string,
    headers: Array<[string, string]>,
    body?: Uint8Array,
  }
  export interface Response {
    status: number,
    headers: Array<[string, string]>,
    body?: Uint8Array,
  }
}
