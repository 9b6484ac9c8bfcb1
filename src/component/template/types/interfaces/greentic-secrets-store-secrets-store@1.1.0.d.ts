declare module 'greentic:secrets-store/secrets-store@1.1.0' {
  export function get(key: string): Uint8Array | undefined;
  export function put(key: string, value: Uint8Array): void;
  /**
   * # Variants
   * 
   * ## `"not-found"`
   * 
   * ## `"denied"`
   * 
   * ## `"invalid-key"`
   * 
   * ## `"internal"`
   */
  export type SecretsError = 'not-found' | 'denied' | 'invalid-key' | 'internal';
}
