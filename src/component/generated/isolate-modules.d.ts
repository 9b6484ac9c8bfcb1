export declare const ISOLATE_RUNTIME_VERSION: string;
export declare const ISOLATE_RUNTIME: string;
