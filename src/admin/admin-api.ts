// The admin API, mounted at /admin/v1: pack upload (verified before anything is stored), pack list,
// per-tenant activation (verified again under the policy in force) and tenant secrets (secrets-api.ts) for this deployment's environment.
import { Hono } from 'hono';
import { z } from 'zod';
import { readBoundedBody } from '../edge/bounded-body.js';
import { logEvent } from '../edge/telemetry.js';
import { IDENTIFIER, notAnIdentifier } from '../edge/tenant-ctx.js';
import type { Env } from '../env.js';
import { checkPackFlows, type PackFlowCheck } from '../flow/entry-flow.js';
import type { WorkerEnv } from '../objects.js';
import { sha256HexAsync } from '../pack/digest.js';
import {
  activatePack,
  activePacks,
  deactivatePack,
  findPackByDigest,
  findPackByVersion,
  listPacks,
  type PackRecord,
  recordVerification,
  tenantsRunning,
} from '../pack-store/pack-index.js';
import { runsUnderPolicy, type TrustPolicy, trustPolicyOf } from '../pack-store/trust-policy.js';
import { type AuthFailureLimit, adminAuth } from './auth.js';
import { deadLettersApi } from './dead-letters-api.js';
import { secretsApi } from './secrets-api.js';
import { storePack } from './store-pack.js';
import { MAX_PACK_BYTES, type PackInspection, type PackUploadPipeline } from './upload.js';
import { activeNoticedPacks, noticeWebhookObjects } from './webhook-notices.js';

const activationBody = z.union([
  z.object({ version: z.string().min(1) }).strict(),
  z.object({ digest: z.string().regex(/^sha256:[0-9a-f]{64}$/) }).strict(),
]);

function publicPack(p: PackRecord) {
  return {
    pack_id: p.pack_id,
    version: p.version,
    digest: p.digest,
    kind: p.kind,
    publisher: p.publisher,
    size: p.size,
    signed_by: p.signed_by,
    trust: p.trust,
    uploaded_at: p.uploaded_at,
  };
}

function isAccepted(inspection: PackInspection): inspection is PackInspection & { pack_id: string; version: string } {
  return inspection.ok && inspection.pack_id !== undefined && inspection.version !== undefined;
}

/** What the index records of a verification that passed. */
function verificationOf(inspection: PackInspection): { trust: string; signed_by: string | null } {
  return { trust: inspection.trust ?? 'unverified', signed_by: inspection.signed_by ?? null };
}

/** Whether any flow of the pack can start with the components it carries, and what an operator should know. */
function runnability(inspection: PackInspection): PackFlowCheck {
  const components = new Set((inspection.components ?? []).filter((c) => c.digest !== undefined).map((c) => c.id));
  return checkPackFlows(inspection.flows ?? [], components);
}

/** The 422 body of a pack the policy in force refuses, at upload or activation. */
function rejection(inspection: PackInspection, policy: TrustPolicy, digest: string) {
  logEvent('warn', 'admin.pack_rejected', { digest, policy, reason: inspection.reason });
  return {
    error: 'pack_rejected',
    message: inspection.reason ?? `the pack failed verification under the "${policy}" trust policy`,
    policy,
    report: inspection.report,
  };
}

/**
 * The admin app is typed with the bindings every layer reads; mounted in the Worker it has the
 * Durable Object namespaces too, which the webhook notices need.
 */
function workerEnv(env: Env): WorkerEnv {
  return env as WorkerEnv;
}

export function adminApi(pipeline: () => PackUploadPipeline | undefined, authLimit?: AuthFailureLimit): Hono<{ Bindings: Env }> {
  const api = new Hono<{ Bindings: Env }>();
  api.use('*', adminAuth(authLimit));

  api.post('/packs', async (c) => {
    const bytes = await readBoundedBody(c.req.raw, MAX_PACK_BYTES);
    if (bytes === undefined)
      return c.json({ error: 'pack_too_large', message: `the pack is larger than the limit of ${MAX_PACK_BYTES} bytes` }, 413);
    if (bytes.length === 0)
      return c.json(
        { error: 'empty_body', message: 'send the .gtpack bytes as the request body (Content-Type: application/octet-stream)' },
        400,
      );
    const ingest = pipeline();
    if (ingest === undefined) return c.json({ error: 'upload_unavailable', message: 'pack verification is not wired in this build' }, 503);

    const digest = `sha256:${await sha256HexAsync(bytes)}`;
    // Verified on every upload, a known digest too: the policy or the keys may have changed since.
    const policy = trustPolicyOf(c.env);
    const inspection = await ingest.inspect(bytes, { policy, trustedKeys: c.env.PACK_TRUSTED_KEYS ?? '' });
    if (!isAccepted(inspection)) return c.json(rejection(inspection, policy, digest), 422);

    const existing = await findPackByDigest(c.env.PACK_INDEX, digest);
    if (existing !== null) {
      await recordVerification(c.env.PACK_INDEX, digest, verificationOf(inspection));
      // Whether it runs may have changed for every tenant running it.
      for (const tenant of await tenantsRunning(c.env.PACK_INDEX, c.env.GREENTIC_ENV, digest))
        await noticeWebhookObjects(workerEnv(c.env), tenant, [existing]);
      return c.json({ pack_id: existing.pack_id, version: existing.version, digest, existing: true }, 200);
    }
    const clash = await findPackByVersion(c.env.PACK_INDEX, inspection.pack_id, inspection.version);
    if (clash !== null) {
      return c.json(
        {
          error: 'version_exists',
          message: `${inspection.pack_id}@${inspection.version} was already uploaded with digest ${clash.digest}; bump the version`,
        },
        409,
      );
    }

    const stored = await storePack(c.env, ingest, { bytes, digest, inspection });
    if (stored.status === 'component_rejected') {
      const { component, code, message } = stored.rejection;
      logEvent('warn', 'admin.pack_rejected', { digest, policy, component, reason: message });
      return c.json({ error: 'component_rejected', component, code, message }, 422);
    }
    if (stored.status === 'failed') {
      logEvent('error', 'admin.pack_upload_failed', { digest, error: stored.message });
      return c.json(
        { error: 'upload_failed', message: `the pack could not be stored (${stored.message}); nothing was kept, retry the upload` },
        503,
      );
    }
    logEvent('info', 'admin.pack_uploaded', {
      'greentic.pack.id': inspection.pack_id,
      'greentic.pack.version': inspection.version,
      digest,
      policy,
    });
    return c.json({ pack_id: inspection.pack_id, version: inspection.version, digest }, 201);
  });

  api.get('/packs', async (c) => c.json({ packs: (await listPacks(c.env.PACK_INDEX)).map(publicPack) }));

  api.get('/tenants/:tenant/packs', async (c) => {
    const tenant = c.req.param('tenant');
    if (!IDENTIFIER.test(tenant)) return c.json({ error: 'invalid_tenant', message: notAnIdentifier('tenant', tenant) }, 400);
    const active = await activePacks(c.env.PACK_INDEX, c.env.GREENTIC_ENV, tenant);
    return c.json({
      env: c.env.GREENTIC_ENV,
      tenant,
      packs: active.map(({ model_key: _k, ...rest }) => ({ ...rest, runs: runsUnderPolicy(c.env, rest) })),
    });
  });

  api.put('/tenants/:tenant/packs/:pack_id', async (c) => {
    const tenant = c.req.param('tenant');
    const packId = c.req.param('pack_id');
    if (!IDENTIFIER.test(tenant)) return c.json({ error: 'invalid_tenant', message: notAnIdentifier('tenant', tenant) }, 400);
    let raw: unknown;
    try {
      raw = await c.req.json();
    } catch {
      return c.json({ error: 'invalid_body', message: 'send JSON {"version": "<version>"} or {"digest": "sha256:<hex>"}' }, 400);
    }
    const body = activationBody.safeParse(raw);
    if (!body.success)
      return c.json({ error: 'invalid_body', message: 'send JSON {"version": "<version>"} or {"digest": "sha256:<hex>"}' }, 400);
    const pack =
      'version' in body.data
        ? await findPackByVersion(c.env.PACK_INDEX, packId, body.data.version)
        : await findPackByDigest(c.env.PACK_INDEX, body.data.digest);
    if (pack === null || pack.pack_id !== packId) {
      return c.json(
        {
          error: 'pack_not_found',
          message: `no uploaded pack ${packId} with ${JSON.stringify(body.data)}; upload it with POST /admin/v1/packs`,
        },
        404,
      );
    }
    // Activation verifies the stored archive again under the policy and keys in force.
    const ingest = pipeline();
    if (ingest === undefined) return c.json({ error: 'upload_unavailable', message: 'pack verification is not wired in this build' }, 503);
    const archive = await c.env.PACKS.get(pack.archive_key);
    if (archive === null) {
      return c.json(
        {
          error: 'pack_archive_missing',
          message: `the archive of ${packId}@${pack.version} is not in storage ("${pack.archive_key}"); upload the pack again`,
        },
        409,
      );
    }
    const policy = trustPolicyOf(c.env);
    const inspection = await ingest.inspect(new Uint8Array(await archive.arrayBuffer()), {
      policy,
      trustedKeys: c.env.PACK_TRUSTED_KEYS ?? '',
    });
    if (!isAccepted(inspection)) return c.json(rejection(inspection, policy, pack.digest), 422);
    const flows = runnability(inspection);
    if (flows.reason !== undefined) {
      logEvent('warn', 'admin.pack_cannot_run', { digest: pack.digest, reason: flows.reason });
      return c.json({ error: 'pack_cannot_run', message: flows.reason, warnings: flows.warnings }, 422);
    }
    const before = await activeNoticedPacks(workerEnv(c.env), tenant);
    await recordVerification(c.env.PACK_INDEX, pack.digest, verificationOf(inspection));
    await activatePack(c.env.PACK_INDEX, c.env.GREENTIC_ENV, tenant, packId, pack.digest, new Date().toISOString());
    await noticeWebhookObjects(workerEnv(c.env), tenant, [...before, pack]);
    logEvent('info', 'admin.pack_activated', {
      'greentic.env': c.env.GREENTIC_ENV,
      'greentic.tenant.id': tenant,
      'greentic.pack.id': packId,
      'greentic.pack.version': pack.version,
    });
    return c.json(
      { env: c.env.GREENTIC_ENV, tenant, pack_id: packId, version: pack.version, digest: pack.digest, warnings: flows.warnings },
      200,
    );
  });

  api.delete('/tenants/:tenant/packs/:pack_id', async (c) => {
    const tenant = c.req.param('tenant');
    const packId = c.req.param('pack_id');
    if (!IDENTIFIER.test(tenant)) return c.json({ error: 'invalid_tenant', message: notAnIdentifier('tenant', tenant) }, 400);
    const before = await activeNoticedPacks(workerEnv(c.env), tenant);
    const removed = await deactivatePack(c.env.PACK_INDEX, c.env.GREENTIC_ENV, tenant, packId);
    if (removed) await noticeWebhookObjects(workerEnv(c.env), tenant, before);
    if (!removed)
      return c.json(
        { error: 'not_active', message: `pack ${packId} is not active for tenant "${tenant}" in env "${c.env.GREENTIC_ENV}"` },
        404,
      );
    return c.body(null, 204);
  });

  api.route('/', secretsApi());
  api.route('/', deadLettersApi());

  return api;
}
