export declare const ISOLATE_RUNTIME_VERSION: string;
/** The component runtime for packs whose components import no WASI. */
export declare const ISOLATE_RUNTIME: string;
/** The runtime with WASI and the instantiation-plan executor. */
export declare const ISOLATE_RUNTIME_WASI: string;
