export declare const TRANSPILER_VERSION: string;
export declare const TRANSPILER_MAIN: string;
export declare const TRANSPILER_WASM_BASE64: Record<string, string>;
