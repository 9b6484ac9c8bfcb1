// After a change to what a tenant runs (an activation, a deactivation, a pack verified again),
// the admin API tells the objects that serve the affected webhook flows, so they drop the packs
// they keep between calls: the webhook's hot path makes no index read, and an activation still
// reaches the very next call. A notice that fails is logged; the object's age bound covers it.
import { errorMessage } from '../core/coded-error.js';
import { logEvent } from '../edge/telemetry.js';
import { type WorkerEnv, webhookObject } from '../objects.js';
import { activePacks } from '../pack-store/pack-index.js';
import { loadPackModel } from '../pack-store/pack-store.js';

export interface NoticedPack {
  digest: string;
  model_key: string;
}

/** The http/event flow ids of these packs; a model that cannot be read is logged and skipped. */
async function webhookFlowIds(env: WorkerEnv, packs: readonly NoticedPack[]): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const pack of packs) {
    try {
      const model = await loadPackModel(env.PACKS, pack.digest, pack.model_key);
      for (const flow of model.flows) if (flow.kind === 'http' || flow.kind === 'event') ids.add(flow.id);
    } catch (err) {
      logEvent('warn', 'admin.webhook_notice_skipped', { digest: pack.digest, error: errorMessage(err) });
    }
  }
  return ids;
}

/** Tells the webhook objects of these packs' flows that the tenant's active packs changed. */
export async function noticeWebhookObjects(env: WorkerEnv, tenant: string, packs: readonly NoticedPack[]): Promise<void> {
  const ids = await webhookFlowIds(env, packs);
  await Promise.all(
    [...ids].map(async (flowId) => {
      try {
        await webhookObject(env, tenant, flowId).invalidateWebhookPacks();
      } catch (err) {
        logEvent('warn', 'admin.webhook_notice_failed', {
          'greentic.tenant.id': tenant,
          'greentic.flow.id': flowId,
          error: errorMessage(err),
        });
      }
    }),
  );
}

/** The tenant's active packs now, to notice together with what changes. */
export function activeNoticedPacks(env: WorkerEnv, tenant: string): Promise<NoticedPack[]> {
  return activePacks(env.PACK_INDEX, env.GREENTIC_ENV, tenant);
}
