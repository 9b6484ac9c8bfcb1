export declare const TRANSPILER_VERSION: string;
export declare const TRANSPILER_MAIN: string;
/** Core modules of the bindgen, gzip-compressed, base64. */
export declare const TRANSPILER_WASM_GZIP_BASE64: Record<string, string>;
