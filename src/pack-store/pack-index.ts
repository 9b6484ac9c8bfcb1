// The pack index in D1: which packs were uploaded (immutable, by digest) and which are active per
// environment and tenant. Activation is read on every message, so a change takes effect on the
// next message without a redeploy.

export interface PackRecord {
  digest: string;
  pack_id: string;
  version: string;
  kind: string;
  publisher: string;
  size: number;
  signed_by: string | null;
  trust: string;
  archive_key: string;
  model_key: string;
  uploaded_at: string;
}

export interface ActivePack {
  pack_id: string;
  version: string;
  digest: string;
  model_key: string;
  activated_at: string;
  /** The pack's recorded verification (`PackRecord.trust`, `signed_by`), checked against the policy in force. */
  trust: string;
  signed_by: string | null;
}

export async function recordPack(db: D1Database, pack: PackRecord): Promise<void> {
  await db
    .prepare(
      `INSERT INTO packs (digest, pack_id, version, kind, publisher, size, signed_by, trust, archive_key, model_key, uploaded_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(
      pack.digest,
      pack.pack_id,
      pack.version,
      pack.kind,
      pack.publisher,
      pack.size,
      pack.signed_by,
      pack.trust,
      pack.archive_key,
      pack.model_key,
      pack.uploaded_at,
    )
    .run();
}

/** Records the outcome of verifying a stored pack again (re-upload, activation) under the policy in force. */
export async function recordVerification(db: D1Database, digest: string, outcome: Pick<PackRecord, 'trust' | 'signed_by'>): Promise<void> {
  await db.batch([
    db.prepare('UPDATE packs SET trust = ?, signed_by = ? WHERE digest = ?').bind(outcome.trust, outcome.signed_by, digest),
    // Whether the pack runs may have changed for every tenant that has it active.
    db
      .prepare(
        `INSERT INTO tenant_generations (env, tenant, generation) SELECT DISTINCT env, tenant, 1 FROM activations WHERE digest = ?
         ON CONFLICT (env, tenant) DO UPDATE SET generation = generation + 1`,
      )
      .bind(digest),
  ]);
}

/** Bumps a tenant's generation: its channel objects re-read its active packs on their next message. */
function bumpGeneration(db: D1Database, env: string, tenant: string): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO tenant_generations (env, tenant, generation) VALUES (?, ?, 1)
       ON CONFLICT (env, tenant) DO UPDATE SET generation = generation + 1`,
    )
    .bind(env, tenant);
}

/** Tenants of an env that have this digest active. */
export async function tenantsRunning(db: D1Database, env: string, digest: string): Promise<string[]> {
  const { results } = await db
    .prepare('SELECT DISTINCT tenant FROM activations WHERE env = ? AND digest = ?')
    .bind(env, digest)
    .all<{ tenant: string }>();
  return results.map((r) => r.tenant);
}

/** The tenant's generation (0 before its first activation): a point read on the hot path. */
export async function tenantGeneration(db: D1Database, env: string, tenant: string): Promise<number> {
  const row = await db
    .prepare('SELECT generation FROM tenant_generations WHERE env = ? AND tenant = ?')
    .bind(env, tenant)
    .first<{ generation: number }>();
  return row?.generation ?? 0;
}

export async function findPackByDigest(db: D1Database, digest: string): Promise<PackRecord | null> {
  return db.prepare('SELECT * FROM packs WHERE digest = ?').bind(digest).first<PackRecord>();
}

export async function findPackByVersion(db: D1Database, packId: string, version: string): Promise<PackRecord | null> {
  return db.prepare('SELECT * FROM packs WHERE pack_id = ? AND version = ?').bind(packId, version).first<PackRecord>();
}

export async function listPacks(db: D1Database): Promise<PackRecord[]> {
  const { results } = await db.prepare('SELECT * FROM packs ORDER BY pack_id, uploaded_at').all<PackRecord>();
  return results;
}

export async function activatePack(
  db: D1Database,
  env: string,
  tenant: string,
  packId: string,
  digest: string,
  now: string,
): Promise<void> {
  await db.batch([
    db
      .prepare(
        `INSERT INTO activations (env, tenant, pack_id, digest, activated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (env, tenant, pack_id) DO UPDATE SET digest = excluded.digest, activated_at = excluded.activated_at`,
      )
      .bind(env, tenant, packId, digest, now),
    bumpGeneration(db, env, tenant),
  ]);
}

/** Returns whether the pack was active; the generation moves only when it was (a refused call writes nothing). */
export async function deactivatePack(db: D1Database, env: string, tenant: string, packId: string): Promise<boolean> {
  const [, res] = await db.batch([
    db
      .prepare(
        `INSERT INTO tenant_generations (env, tenant, generation)
         SELECT ?, ?, 1 WHERE EXISTS (SELECT 1 FROM activations WHERE env = ? AND tenant = ? AND pack_id = ?)
         ON CONFLICT (env, tenant) DO UPDATE SET generation = generation + 1`,
      )
      .bind(env, tenant, env, tenant, packId),
    db.prepare('DELETE FROM activations WHERE env = ? AND tenant = ? AND pack_id = ?').bind(env, tenant, packId),
  ]);
  return (res?.meta.changes ?? 0) > 0;
}

export async function activePacks(db: D1Database, env: string, tenant: string): Promise<ActivePack[]> {
  const { results } = await db
    .prepare(
      `SELECT a.pack_id, p.version, a.digest, p.model_key, a.activated_at, p.trust, p.signed_by
         FROM activations a JOIN packs p ON p.digest = a.digest
        WHERE a.env = ? AND a.tenant = ?
        ORDER BY a.pack_id`,
    )
    .bind(env, tenant)
    .all<ActivePack>();
  return results;
}

export async function countActivations(db: D1Database, env: string): Promise<number> {
  const row = await db.prepare('SELECT COUNT(*) AS n FROM activations WHERE env = ?').bind(env).first<{ n: number }>();
  return row?.n ?? 0;
}
