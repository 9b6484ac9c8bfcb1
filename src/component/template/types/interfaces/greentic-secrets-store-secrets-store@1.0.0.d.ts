declare module 'greentic:secrets-store/secrets-store@1.0.0' {
  export function get(key: string): Uint8Array | undefined;
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
