/**
 * The component runtime with WASI: the lean runtime (runtime-main.ts) plus the WASI
 * implementation (wasi.ts) and the plan executor (plan-instantiate.ts, wasi-abi.ts). The parent
 * loads this bundle instead of the lean one for packs with a component that imports WASI.
 */

import { instantiatePlan } from './plan-instantiate.js';
import { enableWasi } from './runtime-main.js';
import { WasiExit, wasiImports } from './wasi.js';

export * from './runtime-main.js';

enableWasi({ wasiImports, isExit: (err): err is Error => err instanceof WasiExit, instantiatePlan });
