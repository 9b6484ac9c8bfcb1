// Tenant secrets for this deployment's environment, stored where the component host reads them
// (R2 `PACKS`, the operator's key from host-policy.ts). Values go in and never come out: the
// listing names keys with a sha256 of each value, so `greentic-pack publish` can tell an unchanged
// secret without reading it back.
import { Hono } from 'hono';
import { MAX_SECRET_BYTES, operatorSecretKey, SECRET_KEY } from '../component/edge/host-policy.js';
import { readBoundedBody } from '../edge/bounded-body.js';
import { logEvent } from '../edge/telemetry.js';
import { IDENTIFIER } from '../edge/tenant-ctx.js';
import type { Env } from '../env.js';
import { sha256HexAsync } from '../pack/digest.js';

export { MAX_SECRET_BYTES };

/** One listed secret: its name and a digest of its value, never the value. */
export interface SecretListing {
  key: string;
  sha256: string;
  size: number;
  updated_at: string;
}

/** The operator's key: the host reads it first, so a secret set here reaches every team's components that declare it. */
export function tenantSecretStorageKey(env: string, tenant: string, key: string): string {
  return operatorSecretKey({ env, tenant }, key);
}

async function listTenantSecrets(bucket: R2Bucket, env: string, tenant: string): Promise<SecretListing[]> {
  const prefix = tenantSecretStorageKey(env, tenant, '');
  const out: SecretListing[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, include: ['customMetadata'], ...(cursor === undefined ? {} : { cursor }) });
    for (const obj of page.objects) {
      const name = decodeURIComponent(obj.key.slice(prefix.length));
      // Keys with another encoded segment belong to no tenant-wide secret (defensive: never list them).
      if (name === '' || obj.key.slice(prefix.length).includes('/')) continue;
      out.push({
        key: name,
        sha256: obj.customMetadata?.sha256 ?? '',
        size: obj.size,
        updated_at: obj.customMetadata?.updated_at ?? obj.uploaded.toISOString(),
      });
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor !== undefined);
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

const badTenant = (tenant: string) => ({
  error: 'invalid_tenant',
  message: `tenant "${tenant}" is not an identifier (letters, digits, ".", "_", "-")`,
});
const badKey = (key: string) => ({
  error: 'invalid_key',
  message: `secret key "${key}" is not valid: use letters, digits, ".", "_", "-" and "/" (not leading, no "..") — the rule components' secret reads follow`,
});

/** Routes under the admin API (auth is the admin API's middleware). */
export function secretsApi(): Hono<{ Bindings: Env }> {
  const api = new Hono<{ Bindings: Env }>();

  api.get('/tenants/:tenant/secrets', async (c) => {
    const tenant = c.req.param('tenant');
    if (!IDENTIFIER.test(tenant)) return c.json(badTenant(tenant), 400);
    return c.json({ env: c.env.GREENTIC_ENV, tenant, secrets: await listTenantSecrets(c.env.PACKS, c.env.GREENTIC_ENV, tenant) });
  });

  api.put('/tenants/:tenant/secrets/:key{.+}', async (c) => {
    const tenant = c.req.param('tenant');
    const key = c.req.param('key');
    if (!IDENTIFIER.test(tenant)) return c.json(badTenant(tenant), 400);
    if (!SECRET_KEY.test(key)) return c.json(badKey(key), 400);
    const value = await readBoundedBody(c.req.raw, MAX_SECRET_BYTES);
    if (value === undefined)
      return c.json(
        { error: 'secret_too_large', message: `the value of secret "${key}" is larger than the limit of ${MAX_SECRET_BYTES} bytes` },
        413,
      );
    if (value.length === 0)
      return c.json(
        { error: 'empty_body', message: `send the value of secret "${key}" as the request body; to remove it, use DELETE` },
        400,
      );
    const sha256 = await sha256HexAsync(value);
    const storageKey = tenantSecretStorageKey(c.env.GREENTIC_ENV, tenant, key);
    const existing = await c.env.PACKS.head(storageKey);
    const updatedAt = new Date().toISOString();
    await c.env.PACKS.put(storageKey, value, { customMetadata: { sha256, updated_at: updatedAt } });
    logEvent('info', 'admin.secret_set', { 'greentic.env': c.env.GREENTIC_ENV, 'greentic.tenant.id': tenant, key });
    return c.json(
      { env: c.env.GREENTIC_ENV, tenant, key, sha256, size: value.length, updated_at: updatedAt },
      existing === null ? 201 : 200,
    );
  });

  api.delete('/tenants/:tenant/secrets/:key{.+}', async (c) => {
    const tenant = c.req.param('tenant');
    const key = c.req.param('key');
    if (!IDENTIFIER.test(tenant)) return c.json(badTenant(tenant), 400);
    if (!SECRET_KEY.test(key)) return c.json(badKey(key), 400);
    const storageKey = tenantSecretStorageKey(c.env.GREENTIC_ENV, tenant, key);
    if ((await c.env.PACKS.head(storageKey)) === null) {
      return c.json(
        { error: 'secret_not_found', message: `tenant "${tenant}" has no secret "${key}" in env "${c.env.GREENTIC_ENV}"` },
        404,
      );
    }
    await c.env.PACKS.delete(storageKey);
    logEvent('info', 'admin.secret_deleted', { 'greentic.env': c.env.GREENTIC_ENV, 'greentic.tenant.id': tenant, key });
    return c.body(null, 204);
  });

  return api;
}
