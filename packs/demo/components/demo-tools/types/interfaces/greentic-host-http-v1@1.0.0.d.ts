declare module 'greentic:host/http-v1@1.0.0' {
  export function request(method: string, url: string, headers: Array<string>, body: Uint8Array | undefined): Uint8Array;
}
