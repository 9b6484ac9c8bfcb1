// Where a turn's packs come from: the tenant's activations (D1 pack index) and each pack's runtime
// model (R2). A storage failure is transient: the turn is not committed and the message is retried.
// An activation the trust policy in force refuses (an unsigned pack activated under `dev`, a pack
// signed by a key since removed) is skipped as if it were not active.
import { errorMessage } from '../core/coded-error.js';
import { logEvent, tenantAttributes } from '../edge/telemetry.js';
import type { TenantCtx } from '../edge/tenant-ctx.js';
import type { Env } from '../env.js';
import { type ActivePack, activePacks, tenantGeneration } from '../pack-store/pack-index.js';
import { loadPackModel, type PackModel } from '../pack-store/pack-store.js';
import { runsUnderPolicy, trustPolicyOf } from '../pack-store/trust-policy.js';
import { TransientTurnError } from './flow-engine.js';
import type { LoadedPack } from './flow-router.js';

type PackBindings = Pick<Env, 'PACK_INDEX' | 'PACKS'>;

/** Each isolate's view of each tenant's runnable packs, valid while the tenant's generation is unchanged. */
const runnableCache = new Map<string, { generation: number; runnable: ActivePack[] }>();
const MAX_CACHED_TENANTS = 1_000;

/**
 * The tenant's active packs that the trust policy in force lets run. The hot path reads one row
 * (the tenant's generation, bumped by every activation change) and reuses what this isolate read
 * before when it is unchanged; the policy itself only changes with a deploy, i.e. a new isolate.
 */
export async function activePacksOf(
  env: PackBindings & Pick<Env, 'PACK_TRUST_POLICY' | 'PACK_TRUSTED_KEYS'>,
  ctx: TenantCtx,
): Promise<ActivePack[]> {
  // The policy is part of the key: one isolate can serve objects built with different vars (tests).
  const key = `${ctx.env}:${ctx.tenant}:${trustPolicyOf(env)}:${env.PACK_TRUSTED_KEYS ?? ''}`;
  let active: ActivePack[];
  let generation: number;
  try {
    generation = await tenantGeneration(env.PACK_INDEX, ctx.env, ctx.tenant);
    const cached = runnableCache.get(key);
    if (cached !== undefined && cached.generation === generation) return cached.runnable;
    active = await activePacks(env.PACK_INDEX, ctx.env, ctx.tenant);
  } catch (err) {
    throw new TransientTurnError('PackIndexUnavailable', `could not read the pack index: ${errorMessage(err)}`);
  }
  const runnable: ActivePack[] = [];
  for (const pack of active) {
    if (runsUnderPolicy(env, pack)) {
      runnable.push(pack);
      continue;
    }
    logEvent('warn', 'session.pack_refused', {
      ...tenantAttributes(ctx),
      'greentic.pack.id': pack.pack_id,
      'greentic.pack.version': pack.version,
      digest: pack.digest,
      policy: trustPolicyOf(env),
      trust: pack.trust,
    });
  }
  if (runnableCache.size >= MAX_CACHED_TENANTS) runnableCache.delete(runnableCache.keys().next().value ?? '');
  runnableCache.set(key, { generation, runnable });
  return runnable;
}

export async function packModelOf(env: PackBindings, digest: string, key?: string): Promise<PackModel> {
  try {
    return await loadPackModel(env.PACKS, digest, key);
  } catch (err) {
    throw new TransientTurnError('PackStorageUnavailable', errorMessage(err));
  }
}

/** Every active pack with its model, for routing a new run. */
export function loadActivePacks(env: PackBindings, active: readonly ActivePack[]): Promise<LoadedPack[]> {
  return Promise.all(active.map(async (pack) => ({ pack, model: await packModelOf(env, pack.digest, pack.model_key) })));
}
