declare module 'greentic:component/component-qa@0.6.0' {
  export function qaSpec(mode: QaMode): Uint8Array;
  export function applyAnswers(mode: QaMode, currentConfig: Uint8Array, answers: Uint8Array): Uint8Array;
  /**
   * # Variants
   * 
   * ## `"default"`
   * 
   * ## `"setup"`
   * 
   * ## `"update"`
   * 
   * ## `"remove"`
   */
  export type QaMode = 'default' | 'setup' | 'update' | 'remove';
}
