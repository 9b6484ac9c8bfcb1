// Parked runs: the executor's snapshot per session and reply scope, with the pack version it
// started on and its expiry.

export interface WaitRow {
  session_key: string;
  scope_hash: string;
  pack_id: string;
  pack_digest: string;
  flow_id: string;
  reason: string | null;
  snapshot: string;
  expires_at: number;
  [key: string]: SqlStorageValue;
}

export interface WaitSummary {
  scope_hash: string;
  pack_id: string;
  flow_id: string;
  reason: string | null;
  expires_at: number;
}

export interface ParkedRun {
  sessionKey: string;
  scopeHash: string;
  packId: string;
  packDigest: string;
  flowId: string;
  reason: string | null;
  snapshot: unknown;
}

export class WaitStore {
  constructor(private readonly sql: SqlStorage) {}

  find(sessionKey: string, scopeHash: string): WaitRow | undefined {
    return this.sql.exec<WaitRow>('SELECT * FROM waits WHERE session_key = ? AND scope_hash = ?', sessionKey, scopeHash).toArray()[0];
  }

  /** Parks (or re-parks) a run; call inside the turn's transaction. */
  park(run: ParkedRun, now: number, expiresAt: number): void {
    this.sql.exec(
      `INSERT INTO waits (session_key, scope_hash, pack_id, pack_digest, flow_id, reason, snapshot, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (session_key, scope_hash) DO UPDATE SET pack_id = excluded.pack_id, pack_digest = excluded.pack_digest, flow_id = excluded.flow_id,
         reason = excluded.reason, snapshot = excluded.snapshot, created_at = excluded.created_at, expires_at = excluded.expires_at`,
      run.sessionKey,
      run.scopeHash,
      run.packId,
      run.packDigest,
      run.flowId,
      run.reason,
      JSON.stringify(run.snapshot),
      now,
      expiresAt,
    );
  }

  clear(sessionKey: string, scopeHash: string): void {
    this.sql.exec('DELETE FROM waits WHERE session_key = ? AND scope_hash = ?', sessionKey, scopeHash);
  }

  earliestExpiry(): number | null {
    return this.sql.exec<{ t: number | null }>('SELECT MIN(expires_at) AS t FROM waits').one().t;
  }

  expiredCount(now: number): number {
    return this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM waits WHERE expires_at <= ?', now).one().n;
  }

  deleteExpired(now: number): void {
    this.sql.exec('DELETE FROM waits WHERE expires_at <= ?', now);
  }

  listFor(sessionKey: string): WaitSummary[] {
    return this.sql
      .exec<WaitSummary & Record<string, SqlStorageValue>>(
        'SELECT scope_hash, pack_id, flow_id, reason, expires_at FROM waits WHERE session_key = ? ORDER BY scope_hash',
        sessionKey,
      )
      .toArray();
  }
}
