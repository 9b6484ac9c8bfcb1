// Which channel the object serves (fixed by its first call) and one row per conversation with
// its last committed inbox seq and turn count.
import type { WaitSummary } from './wait-store.js';

export interface ChannelIdentity {
  env: string;
  tenant: string;
  team: string;
  channel: string;
}

/** A session's persisted view (for channels like WebChat and for operators). */
export interface SessionInfo {
  session_key: string;
  last_seq: number;
  turns: number;
  updated_at: number;
  waits: WaitSummary[];
}

export class SessionStore {
  constructor(private readonly sql: SqlStorage) {}

  identity(): ChannelIdentity | undefined {
    return this.sql
      .exec<ChannelIdentity & Record<string, SqlStorageValue>>('SELECT env, tenant, team, channel FROM channel_meta')
      .toArray()[0];
  }

  claimIdentity(id: ChannelIdentity): void {
    this.sql.exec(
      'INSERT INTO channel_meta (id, env, tenant, team, channel, shard) VALUES (1, ?, ?, ?, ?, 0)',
      id.env,
      id.tenant,
      id.team,
      id.channel,
    );
  }

  /** Call inside the turn's transaction. */
  recordTurn(sessionKey: string, tenantCtxJson: string, seq: number, now: number): void {
    this.sql.exec(
      `INSERT INTO sessions (session_key, tenant_ctx, last_seq, turns, updated_at) VALUES (?, ?, ?, 1, ?)
       ON CONFLICT (session_key) DO UPDATE SET tenant_ctx = excluded.tenant_ctx, last_seq = excluded.last_seq, turns = sessions.turns + 1, updated_at = excluded.updated_at`,
      sessionKey,
      tenantCtxJson,
      seq,
      now,
    );
  }

  turnsOf(sessionKey: string): { last_seq: number; turns: number; updated_at: number } | undefined {
    return this.sql
      .exec<{ last_seq: number; turns: number; updated_at: number }>(
        'SELECT last_seq, turns, updated_at FROM sessions WHERE session_key = ?',
        sessionKey,
      )
      .toArray()[0];
  }
}
