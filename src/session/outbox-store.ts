// Committed replies waiting to leave: written in the turn's transaction, marked sent only once the
// egress accepted them, so a crash between commit and send re-sends from here.
import type { EgressMessage } from '../bus/messages.js';

export interface OutboxEntry {
  id: number;
  message: EgressMessage;
}

export class OutboxStore {
  constructor(private readonly sql: SqlStorage) {}

  /** Call inside the turn's transaction; a reply key already queued is kept as it is. */
  add(message: EgressMessage, sessionKey: string, now: number): void {
    this.sql.exec(
      'INSERT INTO outbox (idempotency_key, session_key, message_json, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING',
      message.idempotency_key,
      sessionKey,
      JSON.stringify(message),
      now,
    );
  }

  /** Unsent replies in commit order. */
  unsent(limit: number): OutboxEntry[] {
    return this.sql
      .exec<{ id: number; message_json: string }>('SELECT id, message_json FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT ?', limit)
      .toArray()
      .map((r) => ({ id: r.id, message: JSON.parse(r.message_json) as EgressMessage }));
  }

  unsentCount(): number {
    return this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL').one().n;
  }

  markSent(entries: readonly OutboxEntry[], now: number): void {
    for (const e of entries) this.sql.exec('UPDATE outbox SET sent_at = ?, attempts = attempts + 1 WHERE id = ?', now, e.id);
  }

  markFailedAttempt(entries: readonly OutboxEntry[]): void {
    for (const e of entries) this.sql.exec('UPDATE outbox SET attempts = attempts + 1 WHERE id = ?', e.id);
  }

  pruneSentBefore(cutoff: number): void {
    this.sql.exec('DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ?', cutoff);
  }
}
