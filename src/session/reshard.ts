// Resharding without losing anything. With SESSION_SHARDS_PREVIOUS set to the count a deployment
// ran with before, a channel object that meets a session for the first time asks the object that
// held the session under the previous count to hand it over: the session row, its parked waits and
// its dedup records move (deleted there in the same transaction that exports them), and that
// object's flow state (`state.*`, shared by the channel's sessions) is copied once, keys already
// present here winning. The previous object keeps running whatever is still in its own inbox and
// outbox; remove SESSION_SHARDS_PREVIOUS once those are empty (README "Changing the shard count").

export interface HandedOver {
  session: { tenant_ctx: string; last_seq: number; turns: number; updated_at: number } | null;
  waits: Record<string, SqlStorageValue>[];
  dedup: Record<string, SqlStorageValue>[];
  state: Record<string, SqlStorageValue>[];
}

/** What the new object calls on the previous one (an RPC stub in production). */
export interface PreviousShard {
  handOver(sessionKey: string, includeState: boolean): Promise<HandedOver>;
}

/** The previous holder of a session: its object name (a stable id for the state copy) and stub. */
export interface PreviousShardRef {
  name: string;
  stub: PreviousShard;
}

/** The old object's side: exports a session's rows and deletes them (call inside a transaction). */
export function exportSession(sql: SqlStorage, sessionKey: string, includeState: boolean): HandedOver {
  const rows = (query: string, ...args: SqlStorageValue[]) => sql.exec<Record<string, SqlStorageValue>>(query, ...args).toArray();
  const [session] = sql
    .exec<{ tenant_ctx: string; last_seq: number; turns: number; updated_at: number }>(
      'SELECT tenant_ctx, last_seq, turns, updated_at FROM sessions WHERE session_key = ?',
      sessionKey,
    )
    .toArray();
  const handed: HandedOver = {
    session: session ?? null,
    waits: rows('SELECT * FROM waits WHERE session_key = ?', sessionKey),
    dedup: rows('SELECT * FROM dedup WHERE session_key = ?', sessionKey),
    state: includeState ? rows('SELECT * FROM state') : [],
  };
  sql.exec('DELETE FROM waits WHERE session_key = ?', sessionKey);
  sql.exec('DELETE FROM dedup WHERE session_key = ?', sessionKey);
  sql.exec('DELETE FROM sessions WHERE session_key = ?', sessionKey);
  return handed;
}

/** The new object's side: whether the session (or a previous object's state) was taken over already. */
export function adopted(sql: SqlStorage, subject: string): boolean {
  return sql.exec('SELECT 1 FROM adoptions WHERE subject = ?', subject).toArray().length > 0;
}

/** Imports what the previous object handed over (call inside a transaction); rows here win. */
export function importSession(
  sql: SqlStorage,
  sessionKey: string,
  from: string,
  handed: HandedOver,
  includedState: boolean,
  now: number,
): void {
  const insert = (table: string, row: Record<string, SqlStorageValue>) => {
    const columns = Object.keys(row);
    sql.exec(
      `INSERT OR IGNORE INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
      ...columns.map((c) => row[c] ?? null),
    );
  };
  if (handed.session !== null) insert('sessions', { session_key: sessionKey, ...handed.session });
  for (const row of handed.waits) insert('waits', row);
  for (const row of handed.dedup) insert('dedup', row);
  for (const row of handed.state) insert('state', row);
  sql.exec('INSERT OR IGNORE INTO adoptions (subject, adopted_at) VALUES (?, ?)', sessionKey, now);
  if (includedState) sql.exec('INSERT OR IGNORE INTO adoptions (subject, adopted_at) VALUES (?, ?)', `state:${from}`, now);
}
