declare module 'greentic:component/control@0.6.0' {
  export function shouldCancel(): boolean;
  export function yieldNow(): void;
}
