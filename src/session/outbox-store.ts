// Committed replies waiting to leave: written in the turn's transaction and delivered right after
// it, marked sent only once the provider (or the WebChat conversation object) accepted them. A
// crash between commit and delivery, or a failed delivery, is retried from here with backoff; a
// reply that keeps failing is dead-lettered and leaves the outbox.
import type { EgressMessage } from '../bus/messages.js';

export interface OutboxEntry {
  id: number;
  session_key: string;
  attempts: number;
  next_attempt_at: number;
  message: EgressMessage;
}

export class OutboxStore {
  constructor(private readonly sql: SqlStorage) {}

  /**
   * Call inside the turn's transaction; a reply key already queued is kept as it is. The reply is
   * delivered right after the commit; `recheckAt` is when the alarm delivers it if that never ends.
   */
  add(message: EgressMessage, sessionKey: string, now: number, recheckAt: number): void {
    this.sql.exec(
      `INSERT INTO outbox (idempotency_key, session_key, message_json, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (idempotency_key) DO NOTHING`,
      message.idempotency_key,
      sessionKey,
      JSON.stringify(message),
      now,
      recheckAt,
    );
  }

  /** A session's unsent replies in commit order (a session's replies leave in order). */
  unsentOf(sessionKey: string, limit: number): OutboxEntry[] {
    return this.sql
      .exec<{ id: number; session_key: string; attempts: number; next_attempt_at: number; message_json: string }>(
        `SELECT id, session_key, attempts, next_attempt_at, message_json FROM outbox
         WHERE session_key = ? AND sent_at IS NULL ORDER BY id LIMIT ?`,
        sessionKey,
        limit,
      )
      .toArray()
      .map(({ message_json, ...row }) => ({ ...row, message: JSON.parse(message_json) as EgressMessage }));
  }

  /** Sessions whose oldest unsent reply is due by `now`. */
  dueSessions(now: number): string[] {
    return this.sql
      .exec<{ session_key: string }>(
        `SELECT session_key FROM outbox WHERE sent_at IS NULL GROUP BY session_key
         HAVING MIN(id) IN (SELECT id FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= ?)`,
        now,
      )
      .toArray()
      .map((r) => r.session_key);
  }

  /** When the earliest unsent reply is next due (undefined: nothing unsent). */
  earliestDue(): number | undefined {
    return this.sql.exec<{ t: number | null }>('SELECT MIN(next_attempt_at) AS t FROM outbox WHERE sent_at IS NULL').one().t ?? undefined;
  }

  unsentCount(): number {
    return this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL').one().n;
  }

  markSent(entry: OutboxEntry, now: number): void {
    this.sql.exec('UPDATE outbox SET sent_at = ?, attempts = attempts + 1 WHERE id = ?', now, entry.id);
  }

  /** Counts a failed delivery and defers the reply until `nextAttemptAt`. */
  markFailedAttempt(entry: OutboxEntry, error: string, nextAttemptAt: number): void {
    this.sql.exec(
      'UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?',
      nextAttemptAt,
      error.slice(0, 500),
      entry.id,
    );
  }

  /** The reply went to the dead-letter queue: it leaves the outbox (kept until pruned, for dedup). */
  markDeadLettered(entry: OutboxEntry, error: string, now: number): void {
    this.sql.exec(
      'UPDATE outbox SET sent_at = ?, dead_lettered_at = ?, attempts = attempts + 1, last_error = ? WHERE id = ?',
      now,
      now,
      error.slice(0, 500),
      entry.id,
    );
  }

  pruneSentBefore(cutoff: number): void {
    this.sql.exec('DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ?', cutoff);
  }
}
