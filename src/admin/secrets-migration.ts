// `POST /admin/v1/secrets/migrate`: re-seals this environment's stored secrets under the primary
// key of SECRETS_ENCRYPTION_KEYS — plaintext values written before encryption at rest and values
// sealed under an older key — so a key can be dropped from the keyring afterwards. It walks R2 in
// key order, a bounded number of objects per request, and answers a cursor (the last key it
// handled) while objects remain; running it again from the start is harmless, since values already
// under the primary key are only counted.
import { Hono } from 'hono';
import { z } from 'zod';
import { envSecretPrefixes } from '../component/edge/host-policy.js';
import { type Keyring, requireKeyring } from '../edge/secret-cipher.js';
import { resealSecretObject } from '../edge/secret-objects.js';
import { logEvent } from '../edge/telemetry.js';
import type { Env } from '../env.js';
import { adminKeyring } from './secrets-keyring.js';

/** Objects handled per request by default: each re-seal is an R2 read and a write. */
export const DEFAULT_MIGRATION_LIMIT = 100;
export const MAX_MIGRATION_LIMIT = 500;

export interface MigrationReport {
  env: string;
  key_id: string;
  /** Objects looked at in this request. */
  scanned: number;
  /** Already sealed under the primary key. */
  current: number;
  reencrypted: number;
  /** Of `reencrypted`, the values that were plaintext. */
  from_plaintext: number;
  /** Written or removed by someone else while this ran: left as they are now. */
  changed: number;
  /** Values that open under no listed key (their key was dropped, or they were altered): left in place. */
  unreadable: { storage_key: string; reason: string }[];
  /** Pass back as `?cursor=` to go on; `null` once every object was handled. */
  cursor: string | null;
}

const migrateQuery = z.object({
  cursor: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_MIGRATION_LIMIT).default(DEFAULT_MIGRATION_LIMIT),
});

async function migrate(bucket: R2Bucket, env: string, keyring: Keyring, from: string | undefined, limit: number) {
  const report: Omit<MigrationReport, 'env' | 'key_id'> = {
    scanned: 0,
    current: 0,
    reencrypted: 0,
    from_plaintext: 0,
    changed: 0,
    unreadable: [],
    cursor: null,
  };
  const prefixes = envSecretPrefixes(env);
  for (const [i, prefix] of prefixes.entries()) {
    // The cursor is the last key handled: prefixes before its own are done, its own resumes after it.
    if (from !== undefined && from > prefix && !from.startsWith(prefix)) continue;
    let startAfter = from?.startsWith(prefix) ? from : undefined;
    for (;;) {
      const page = await bucket.list({
        prefix,
        limit: limit - report.scanned,
        include: ['customMetadata'],
        ...(startAfter === undefined ? {} : { startAfter }),
      });
      for (const obj of page.objects) {
        const outcome = await resealSecretObject(bucket, keyring, obj);
        report.scanned++;
        if (outcome.status === 'current') report.current++;
        else if (outcome.status === 'changed') report.changed++;
        else if (outcome.status === 'unreadable') report.unreadable.push({ storage_key: obj.key, reason: outcome.reason });
        else {
          report.reencrypted++;
          if (outcome.from === null) report.from_plaintext++;
        }
        startAfter = obj.key;
      }
      const more = page.truncated || i < prefixes.length - 1;
      if (report.scanned >= limit) {
        report.cursor = more ? (startAfter ?? null) : null;
        return report;
      }
      if (!page.truncated) break;
    }
  }
  return report;
}

export function secretsMigrationApi(): Hono<{ Bindings: Env }> {
  const api = new Hono<{ Bindings: Env }>();

  api.post('/secrets/migrate', async (c) => {
    const query = migrateQuery.safeParse(c.req.query());
    if (!query.success)
      return c.json(
        { error: 'invalid_query', message: `use ?limit=<1..${MAX_MIGRATION_LIMIT}> and ?cursor=<the cursor of the last answer>` },
        400,
      );
    const { cursor, limit } = query.data;
    const env = c.env.GREENTIC_ENV;
    if (cursor !== undefined && !envSecretPrefixes(env).some((p) => cursor.startsWith(p)))
      return c.json(
        { error: 'invalid_cursor', message: `cursor "${cursor.slice(0, 200)}" is not one this endpoint returned for env "${env}"` },
        400,
      );
    const ring = await adminKeyring(c, (setting) => requireKeyring(setting, 'secrets cannot be migrated'));
    if ('failure' in ring) return ring.failure;
    const report = await migrate(c.env.PACKS, env, ring.keyring, cursor, limit);
    logEvent(report.unreadable.length > 0 ? 'warn' : 'info', 'admin.secrets_migrated', {
      'greentic.env': env,
      key_id: ring.keyring.primary.id,
      scanned: report.scanned,
      reencrypted: report.reencrypted,
      unreadable: report.unreadable.length,
    });
    const body: MigrationReport = { env, key_id: ring.keyring.primary.id, ...report };
    return c.json(body);
  });

  return api;
}
