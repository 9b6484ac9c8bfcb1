// The durable inbox: accepted but not yet committed messages in arrival order (`seq`). A message
// leaves it in the transaction that commits its turn, or after too many failed attempts.
import type { IngressMessage } from '../bus/messages.js';

export interface InboxRow {
  seq: number;
  idempotency_key: string;
  session_key: string;
  message_json: string;
  [key: string]: SqlStorageValue;
}

export class InboxStore {
  constructor(private readonly sql: SqlStorage) {}

  /** Records a message once per idempotency key and returns its place in arrival order. */
  accept(message: IngressMessage, now: number): number {
    const key = message.idempotency_key;
    this.sql.exec(
      'INSERT INTO inbox (idempotency_key, session_key, message_json, received_at) VALUES (?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING',
      key,
      message.envelope.session_id,
      JSON.stringify(message),
      now,
    );
    return this.sql.exec<{ seq: number }>('SELECT seq FROM inbox WHERE idempotency_key = ?', key).one().seq;
  }

  /** The oldest message of a session at or before `seq`. */
  head(sessionKey: string, seq: number): InboxRow | undefined {
    return this.sql
      .exec<InboxRow>(
        'SELECT seq, idempotency_key, session_key, message_json FROM inbox WHERE session_key = ? AND seq <= ? ORDER BY seq LIMIT 1',
        sessionKey,
        seq,
      )
      .toArray()[0];
  }

  remove(seq: number): void {
    this.sql.exec('DELETE FROM inbox WHERE seq = ?', seq);
  }
}
