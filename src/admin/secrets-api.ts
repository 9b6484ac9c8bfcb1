// Tenant secrets for this deployment's environment, stored where the component host reads them
// (R2 `PACKS`, keys from host-policy.ts). The operator sets a tenant's values here; components'
// secrets-store `put`s are listed and removable here too, so everything a component can read is
// visible. Values go in and never come out: they are sealed at rest (edge/secret-objects.ts), and
// the listing names keys with a keyed digest of each value. A PUT of the value already stored
// changes nothing and says so, which is how `greentic-pack publish` tells an unchanged secret.
import { Hono } from 'hono';
import {
  componentSecretKey,
  formerComponentSecretKey,
  MAX_SECRET_BYTES,
  MAX_SECRET_KEY_LENGTH,
  operatorSecretKey,
  SECRET_KEY,
  secretPrefixes,
} from '../component/edge/host-policy.js';
import { readBoundedBody } from '../edge/bounded-body.js';
import { type Keyring, keyringOf, requireKeyring, secretDigest } from '../edge/secret-cipher.js';
import { sealedUnder, storedSecretSummary, writeSecretObject } from '../edge/secret-objects.js';
import { logEvent } from '../edge/telemetry.js';
import { IDENTIFIER, notAnIdentifier } from '../edge/tenant-ctx.js';
import type { Env } from '../env.js';
import { adminKeyring } from './secrets-keyring.js';
import { secretsMigrationApi } from './secrets-migration.js';

export { MAX_SECRET_BYTES };

/**
 * One stored value a component can read: its name, who wrote it (the operator through this API,
 * or a component's `put`, for a team or tenant-wide) and a keyed digest of its value, never the
 * value. `shadowed`: an operator value of the same key exists, so components read that one instead.
 * `key_id`: the key it is sealed under, `null` while it is plaintext awaiting the migration.
 */
export interface SecretListing {
  key: string;
  source: 'operator' | 'component';
  team: string | null;
  shadowed: boolean;
  digest: string | null;
  key_id: string | null;
  size: number;
  updated_at: string;
}

/** Every stored secret under `prefix`, keyed `<team>/<key>` (both encoded) below it. */
async function listUnder(
  bucket: R2Bucket,
  keyring: Keyring | undefined,
  prefix: string,
  entry: (team: string, key: string) => Pick<SecretListing, 'source' | 'team'>,
): Promise<SecretListing[]> {
  const out: SecretListing[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, include: ['customMetadata'], ...(cursor === undefined ? {} : { cursor }) });
    for (const obj of page.objects) {
      const [team, key, ...more] = obj.key.slice(prefix.length).split('/');
      // Keys with another encoded segment belong to no secret (defensive: never list them).
      if (!team || !key || more.length > 0) continue;
      const name = decodeURIComponent(key);
      out.push({
        key: name,
        ...entry(decodeURIComponent(team), name),
        shadowed: false,
        ...(await storedSecretSummary(bucket, keyring, obj)),
        updated_at: obj.customMetadata?.updated_at ?? obj.uploaded.toISOString(),
      });
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor !== undefined);
  return out;
}

/** Ordered by key; per key the operator's value first, then tenant-wide and team component writes. */
const rank = (s: SecretListing): string => `${s.key}\u0000${s.source === 'operator' ? '0' : s.team === null ? '1' : `2${s.team}`}`;

async function listTenantSecrets(bucket: R2Bucket, keyring: Keyring | undefined, env: string, tenant: string): Promise<SecretListing[]> {
  const prefixes = secretPrefixes({ env, tenant });
  const stored = [
    // Team `_` under `secrets/` is the operator's value; another team is a component's write in the former layout.
    ...(await listUnder(bucket, keyring, prefixes.operator, (team) =>
      team === '_' ? { source: 'operator', team: null } : { source: 'component', team },
    )),
    ...(await listUnder(bucket, keyring, prefixes.component, (team) => ({ source: 'component', team: team === '_' ? null : team }))),
  ];
  const operatorKeys = new Set(stored.filter((s) => s.source === 'operator').map((s) => s.key));
  for (const s of stored) s.shadowed = s.source === 'component' && operatorKeys.has(s.key);
  return stored.sort((a, b) => (rank(a) < rank(b) ? -1 : rank(a) > rank(b) ? 1 : 0));
}

const badTenant = (tenant: string) => ({
  error: 'invalid_tenant',
  message: notAnIdentifier('tenant', tenant),
});
const badSource = (source: string) => ({
  error: 'invalid_source',
  message: `source "${source}" is not "operator" or "component"`,
});
const badTeam = (team: string) => ({
  error: 'invalid_team',
  message: notAnIdentifier('team', team),
});
const badKey = (key: string) => ({
  error: 'invalid_key',
  message: `secret key "${key.slice(0, 300)}" is not valid: use letters, digits, ".", "_", "-" and "/" (not leading, no ".."), at most ${MAX_SECRET_KEY_LENGTH} characters — the rule components' secret reads follow`,
});

/** Routes under the admin API (auth is the admin API's middleware). */
export function secretsApi(): Hono<{ Bindings: Env }> {
  const api = new Hono<{ Bindings: Env }>();

  api.get('/tenants/:tenant/secrets', async (c) => {
    const tenant = c.req.param('tenant');
    if (!IDENTIFIER.test(tenant)) return c.json(badTenant(tenant), 400);
    const ring = await adminKeyring(c, keyringOf);
    if ('failure' in ring) return ring.failure;
    const secrets = await listTenantSecrets(c.env.PACKS, ring.keyring, c.env.GREENTIC_ENV, tenant);
    return c.json({ env: c.env.GREENTIC_ENV, tenant, secrets });
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
    const ring = await adminKeyring(c, (setting) => requireKeyring(setting, `secret "${key}" cannot be stored`));
    if ('failure' in ring) return ring.failure;
    const { keyring } = ring;
    const storageKey = operatorSecretKey({ env: c.env.GREENTIC_ENV, tenant }, key);
    const existing = await c.env.PACKS.head(storageKey);
    const digest = await secretDigest(keyring.primary, value);
    const stored = { env: c.env.GREENTIC_ENV, tenant, key, digest, key_id: keyring.primary.id, size: value.length };
    // The same value sealed under the current key is left alone: no write, no new updated_at.
    if (existing !== null && sealedUnder(existing.customMetadata) === keyring.primary.id && existing.customMetadata?.digest === digest) {
      const updatedAt = existing.customMetadata.updated_at ?? existing.uploaded.toISOString();
      return c.json({ ...stored, updated_at: updatedAt, unchanged: true }, 200);
    }
    const updatedAt = new Date().toISOString();
    await writeSecretObject(c.env.PACKS, keyring, storageKey, value, updatedAt);
    logEvent('info', 'admin.secret_set', { 'greentic.env': c.env.GREENTIC_ENV, 'greentic.tenant.id': tenant, key });
    return c.json({ ...stored, updated_at: updatedAt, unchanged: false }, existing === null ? 201 : 200);
  });

  // Without a query this removes the operator's value; `?source=component` (with `&team=<team>`
  // for a team's copy) removes what a component's `put` stored, in the current or former layout.
  api.delete('/tenants/:tenant/secrets/:key{.+}', async (c) => {
    const tenant = c.req.param('tenant');
    const key = c.req.param('key');
    const source = c.req.query('source') ?? 'operator';
    const team = c.req.query('team');
    if (!IDENTIFIER.test(tenant)) return c.json(badTenant(tenant), 400);
    if (!SECRET_KEY.test(key)) return c.json(badKey(key), 400);
    if (source !== 'operator' && source !== 'component') return c.json(badSource(source), 400);
    if (team !== undefined && (source === 'operator' || !IDENTIFIER.test(team))) return c.json(badTeam(team), 400);
    const scope = { env: c.env.GREENTIC_ENV, tenant, ...(team === undefined ? {} : { team }) };
    const candidates =
      source === 'operator' ? [operatorSecretKey(scope, key)] : [componentSecretKey(scope, key), formerComponentSecretKey(scope, key)];
    const stored: string[] = [];
    for (const k of candidates) if (k !== undefined && (await c.env.PACKS.head(k)) !== null) stored.push(k);
    if (stored.length === 0) {
      const whose =
        source === 'operator' ? '' : team === undefined ? ' written by a component' : ` written by a component for team "${team}"`;
      return c.json(
        { error: 'secret_not_found', message: `tenant "${tenant}" has no secret "${key}"${whose} in env "${c.env.GREENTIC_ENV}"` },
        404,
      );
    }
    for (const k of stored) await c.env.PACKS.delete(k);
    logEvent('info', 'admin.secret_deleted', {
      'greentic.env': c.env.GREENTIC_ENV,
      'greentic.tenant.id': tenant,
      key,
      source,
      ...(team === undefined ? {} : { 'greentic.team.id': team }),
    });
    return c.body(null, 204);
  });

  api.route('/', secretsMigrationApi());

  return api;
}
