// Readiness: the runner can serve messages only when the pack index answers and this environment
// has at least one active pack. Liveness (/healthz) stays trivially 200.

import { errorMessage } from '../core/coded-error.js';
import type { Env } from '../env.js';
import { countActivations } from '../pack-store/pack-index.js';

export interface Readiness {
  ready: boolean;
  env: string;
  active_packs: number;
  reasons: string[];
}

export async function readiness(env: Env): Promise<Readiness> {
  const reasons: string[] = [];
  let active = 0;
  try {
    active = await countActivations(env.PACK_INDEX, env.GREENTIC_ENV);
    if (active === 0) reasons.push(`no pack is active in env "${env.GREENTIC_ENV}"`);
  } catch (err) {
    reasons.push(`pack index unreachable: ${errorMessage(err)}`);
  }
  return { ready: reasons.length === 0, env: env.GREENTIC_ENV, active_packs: active, reasons };
}
