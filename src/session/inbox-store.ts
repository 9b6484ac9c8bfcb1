// The durable inbox: accepted but not yet committed messages in arrival order (`seq`). A message
// leaves it in the transaction that commits its turn, or when it is dead-lettered after too many
// failed attempts. Attempts and the next due time are stored, so retries survive a restart.
import type { IngressMessage } from '../bus/messages.js';

export interface InboxRow {
  seq: number;
  idempotency_key: string;
  session_key: string;
  message_json: string;
  attempts: number;
  next_attempt_at: number;
  [key: string]: SqlStorageValue;
}

const COLUMNS = 'seq, idempotency_key, session_key, message_json, attempts, next_attempt_at';

export class InboxStore {
  constructor(private readonly sql: SqlStorage) {}

  /** Records a message once per idempotency key and returns its place in arrival order. */
  accept(message: IngressMessage, now: number, recheckAt: number): number {
    const key = message.idempotency_key;
    this.sql.exec(
      `INSERT INTO inbox (idempotency_key, session_key, message_json, received_at, next_attempt_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (idempotency_key) DO NOTHING`,
      key,
      message.envelope.session_id,
      JSON.stringify(message),
      now,
      recheckAt,
    );
    return this.sql.exec<{ seq: number }>('SELECT seq FROM inbox WHERE idempotency_key = ?', key).one().seq;
  }

  /** The oldest message of a session at or before `seq` (any seq when omitted). */
  head(sessionKey: string, seq = Number.MAX_SAFE_INTEGER): InboxRow | undefined {
    return this.sql
      .exec<InboxRow>(`SELECT ${COLUMNS} FROM inbox WHERE session_key = ? AND seq <= ? ORDER BY seq LIMIT 1`, sessionKey, seq)
      .toArray()[0];
  }

  has(key: string): boolean {
    return this.sql.exec('SELECT 1 FROM inbox WHERE idempotency_key = ?', key).toArray().length > 0;
  }

  /** Sessions whose oldest message is due by `now` (a retry, or a turn that never ran or never ended). */
  dueSessions(now: number): string[] {
    return this.sql
      .exec<{ session_key: string }>(
        'SELECT session_key FROM inbox GROUP BY session_key HAVING MIN(seq) IN (SELECT seq FROM inbox WHERE next_attempt_at <= ?)',
        now,
      )
      .toArray()
      .map((r) => r.session_key);
  }

  /** When the earliest message is next due (undefined: the inbox is empty). */
  earliestDue(): number | undefined {
    return this.sql.exec<{ t: number | null }>('SELECT MIN(next_attempt_at) AS t FROM inbox').one().t ?? undefined;
  }

  /** Later messages of a session (their keys), after `seq`. */
  keysAfter(sessionKey: string, seq: number): string[] {
    return this.sql
      .exec<{ idempotency_key: string }>(
        'SELECT idempotency_key FROM inbox WHERE session_key = ? AND seq > ? ORDER BY seq',
        sessionKey,
        seq,
      )
      .toArray()
      .map((r) => r.idempotency_key);
  }

  /** An attempt starts: counted now, and looked at again by `recheckAt` if it never ends (the object was reset). */
  beginAttempt(seq: number, recheckAt: number): void {
    this.sql.exec('UPDATE inbox SET attempts = attempts + 1, next_attempt_at = ? WHERE seq = ?', recheckAt, seq);
  }

  /** The attempt failed: the message waits until `nextAttemptAt`. */
  deferAttempt(seq: number, error: string, nextAttemptAt: number): void {
    this.sql.exec('UPDATE inbox SET next_attempt_at = ?, last_error = ? WHERE seq = ?', nextAttemptAt, error.slice(0, 500), seq);
  }

  remove(seq: number): void {
    this.sql.exec('DELETE FROM inbox WHERE seq = ?', seq);
  }

  count(): number {
    return this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM inbox').one().n;
  }
}
