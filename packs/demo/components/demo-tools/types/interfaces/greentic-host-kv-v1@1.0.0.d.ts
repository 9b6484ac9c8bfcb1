declare module 'greentic:host/kv-v1@1.0.0' {
  export function get(ns: string, key: string): string | undefined;
  export function put(ns: string, key: string, val: string): void;
}
