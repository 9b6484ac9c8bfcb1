// Processed idempotency keys (provider event ids, `Idempotency-Key`) and what each produced, kept
// for the retention period so a redelivery answers with the first outcome instead of running again.

export class DedupStore {
  constructor(private readonly sql: SqlStorage) {}

  outcome<T>(key: string): T | undefined {
    const row = this.sql.exec<{ outcome_json: string }>('SELECT outcome_json FROM dedup WHERE idempotency_key = ?', key).toArray()[0];
    return row === undefined ? undefined : (JSON.parse(row.outcome_json) as T);
  }

  /** Call inside the transaction that commits the key's effects. */
  record(key: string, sessionKey: string, outcome: unknown, now: number): void {
    this.sql.exec(
      'INSERT INTO dedup (idempotency_key, session_key, outcome_json, processed_at) VALUES (?, ?, ?, ?)',
      key,
      sessionKey,
      JSON.stringify(outcome),
      now,
    );
  }

  /** An operator replays a dead-lettered key: its record must not answer the replay as a duplicate. */
  forget(key: string): void {
    this.sql.exec('DELETE FROM dedup WHERE idempotency_key = ?', key);
  }

  hasOlderThan(cutoff: number): boolean {
    return this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM dedup WHERE processed_at < ?', cutoff).one().n > 0;
  }

  pruneOlderThan(cutoff: number): void {
    this.sql.exec('DELETE FROM dedup WHERE processed_at < ?', cutoff);
  }
}
