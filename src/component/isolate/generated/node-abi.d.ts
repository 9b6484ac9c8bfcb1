import type { GuestMemory } from '../guest-memory.js';
export declare const INVOKE_PARAMS_SIZE: number;
export declare const INVOKE_PARAMS_ALIGN: number;
/** Stores `[op, envelope]` (node@0.6.0 `invoke` parameters) at `ptr`. */
export declare function storeInvokeParams(mem: GuestMemory, ptr: number, value: unknown): void;
/** Reads `result<invocation-result, node-error>` as `{ tag, val }`. */
export declare function loadInvokeResult(mem: GuestMemory, ptr: number): unknown;
