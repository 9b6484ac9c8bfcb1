import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../../env.js';

/**
 * A Direct Line activity as stored and delivered. Only the fields the facade sets are typed;
 * everything else a client sent (channelData, entities, value…) is kept byte-for-byte.
 */
export interface DirectLineActivity {
  type: string;
  id?: string;
  timestamp?: string;
  channelId?: string;
  conversation?: { id: string };
  from?: { id: string; name?: string; role?: string };
  [key: string]: unknown;
}

export interface ActivitySet {
  activities: DirectLineActivity[];
  watermark: string;
}

export interface ConversationInfo {
  tenant: string;
  conversation_id: string;
  user_id: string | null;
  created_at: number;
  watermark: string;
}

export interface AppendResult {
  id: string;
  /** True when this client activity id or egress key was stored before (nothing new was stored). */
  duplicate: boolean;
}

/** Ring of an idle socket: the client pings with `""` every 20 s; the auto-response answers without waking the object. */
const PING = '';
const DEFAULT_RETENTION_DAYS = 30;

/**
 * One object per WebChat conversation (`{env}:{tenant}:{conversationId}`): the Direct Line
 * activity log (numbered per conversation; the watermark is the count stored), the dedup tables
 * that make user posts and bot replies exactly-once, and the open WebSockets, accepted through
 * the hibernation API so an idle conversation costs nothing.
 *
 * Every method runs to completion without awaiting, so storing an activity and fanning it out
 * to sockets is atomic with respect to a socket that is being opened and replayed: a new socket
 * gets its history and then live frames, with no gap and no repeat.
 */
export class WebchatConversation extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.ensureSchema();
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PING));
  }

  private ensureSchema(): void {
    this.ctx.storage.sql.exec(`
      CREATE TABLE IF NOT EXISTS meta (id INTEGER PRIMARY KEY CHECK (id = 1), tenant TEXT NOT NULL, conversation_id TEXT NOT NULL, user_id TEXT, created_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS activities (seq INTEGER PRIMARY KEY, activity_json TEXT NOT NULL, created_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS client_ids (client_activity_id TEXT PRIMARY KEY, seq INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS egress_keys (idempotency_key TEXT PRIMARY KEY, seq INTEGER NOT NULL);
    `);
  }

  /** Clients never say goodbye (Direct Line has no end call), so idle conversations expire here. */
  private retentionMs(): number {
    const days = Number.parseFloat(this.env.WEBCHAT_RETENTION_DAYS ?? '');
    return (Number.isFinite(days) && days > 0 ? days : DEFAULT_RETENTION_DAYS) * 24 * 3600 * 1000;
  }

  private touch(now: number): void {
    void this.ctx.storage.setAlarm(now + this.retentionMs());
  }

  override async alarm(): Promise<void> {
    const last = this.sql.exec<{ t: number | null }>('SELECT MAX(created_at) AS t FROM activities').one().t;
    const started = this.sql.exec<{ t: number | null }>('SELECT MAX(created_at) AS t FROM meta').one().t;
    const lastUse = Math.max(last ?? 0, started ?? 0);
    const now = Date.now();
    if (lastUse > 0 && now - lastUse < this.retentionMs()) {
      await this.ctx.storage.setAlarm(lastUse + this.retentionMs());
      return;
    }
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.close(1000, 'conversation expired');
      } catch {
        // already closed
      }
    }
    await this.ctx.storage.deleteAll();
    this.ensureSchema();
  }

  private get sql(): SqlStorage {
    return this.ctx.storage.sql;
  }

  /** Creates the conversation on first call; later calls return it unchanged (`created: false`). */
  start(tenant: string, conversationId: string, userId: string | null): { created: boolean; info: ConversationInfo } {
    const existing = this.info();
    if (existing !== null) {
      if (existing.tenant !== tenant || existing.conversation_id !== conversationId)
        throw new Error('WrongConversation: this object serves another conversation');
      if (existing.user_id === null && userId !== null) this.sql.exec('UPDATE meta SET user_id = ? WHERE id = 1', userId);
      return { created: false, info: this.info()! };
    }
    const now = Date.now();
    this.sql.exec(
      'INSERT INTO meta (id, tenant, conversation_id, user_id, created_at) VALUES (1, ?, ?, ?, ?)',
      tenant,
      conversationId,
      userId,
      now,
    );
    this.touch(now);
    return { created: true, info: this.info()! };
  }

  info(): ConversationInfo | null {
    const row = this.sql
      .exec<{ tenant: string; conversation_id: string; user_id: string | null; created_at: number }>(
        'SELECT tenant, conversation_id, user_id, created_at FROM meta',
      )
      .toArray()[0];
    if (row === undefined) return null;
    return { ...row, watermark: String(this.count()) };
  }

  /**
   * Stores the echo of a user activity (id, server timestamp, `channelId: directline`) and pushes
   * it to open sockets. A repeated `channelData.clientActivityID` returns the first id instead.
   */
  appendUserActivity(activity: DirectLineActivity): AppendResult | null {
    if (this.info() === null) return null;
    const clientId = clientActivityId(activity);
    if (clientId !== undefined) {
      const seen = this.sql.exec<{ seq: number }>('SELECT seq FROM client_ids WHERE client_activity_id = ?', clientId).toArray()[0];
      if (seen !== undefined) return { id: this.activityId(seen.seq), duplicate: true };
    }
    const seq = this.store(activity);
    if (clientId !== undefined) this.sql.exec('INSERT INTO client_ids (client_activity_id, seq) VALUES (?, ?)', clientId, seq);
    return { id: this.activityId(seq), duplicate: false };
  }

  /** Stores a bot activity once per egress idempotency key and pushes it to open sockets. */
  appendBotActivity(idempotencyKey: string, activity: DirectLineActivity): AppendResult | null {
    if (this.info() === null) return null;
    const seen = this.sql.exec<{ seq: number }>('SELECT seq FROM egress_keys WHERE idempotency_key = ?', idempotencyKey).toArray()[0];
    if (seen !== undefined) return { id: this.activityId(seen.seq), duplicate: true };
    const seq = this.store(activity);
    this.sql.exec('INSERT INTO egress_keys (idempotency_key, seq) VALUES (?, ?)', idempotencyKey, seq);
    return { id: this.activityId(seq), duplicate: false };
  }

  /** Activities numbered ≥ watermark, in order (an empty or non-numeric watermark means from the start). */
  activities(watermark: string | undefined, limit = 500): ActivitySet | null {
    if (this.info() === null) return null;
    const from = parseWatermark(watermark);
    const rows = this.sql
      .exec<{ activity_json: string }>('SELECT activity_json FROM activities WHERE seq >= ? ORDER BY seq LIMIT ?', from, limit)
      .toArray();
    const activities = rows.map((r) => JSON.parse(r.activity_json) as DirectLineActivity);
    return { activities, watermark: String(activities.length > 0 ? from + activities.length : this.count()) };
  }

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('upgrade')?.toLowerCase() !== 'websocket') return new Response('expected a WebSocket upgrade', { status: 426 });
    if (this.info() === null) return new Response('unknown conversation', { status: 404 });
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server);
    const replay = this.activities(new URL(request.url).searchParams.get('watermark') ?? undefined, 10_000)!;
    // Always one frame, even empty: the client then knows the current watermark.
    server.send(JSON.stringify(replay));
    return new Response(null, { status: 101, webSocket: client });
  }

  override webSocketMessage(): void {
    // Clients send nothing but `""` pings (answered by the auto-response); activities arrive only via POST.
  }

  override webSocketClose(ws: WebSocket, code: number): void {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, 'closing');
    } catch {
      // already closed
    }
  }

  override webSocketError(ws: WebSocket): void {
    try {
      ws.close(1011, 'error');
    } catch {
      // already closed
    }
  }

  /** Open sockets (for tests and operators). */
  openSockets(): number {
    return this.ctx.getWebSockets().length;
  }

  // ------------------------------------------------------------------ internals

  private count(): number {
    return this.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM activities').one().n;
  }

  private conversationId(): string {
    const info = this.sql.exec<{ conversation_id: string }>('SELECT conversation_id FROM meta').toArray()[0];
    if (info === undefined) throw new Error('UnknownConversation: the conversation was not started');
    return info.conversation_id;
  }

  private activityId(seq: number): string {
    return `${this.conversationId()}|${String(seq).padStart(7, '0')}`;
  }

  /** Numbers, stamps and stores one activity, then fans it out; returns its seq. */
  private store(activity: DirectLineActivity): number {
    const seq = this.count();
    const conversationId = this.conversationId();
    const last = this.sql.exec<{ created_at: number }>('SELECT created_at FROM activities ORDER BY seq DESC LIMIT 1').toArray()[0];
    // Timestamps must never decrease as the counter grows, or WebChat reorders the transcript.
    const now = Math.max(Date.now(), last?.created_at ?? 0);
    const stored: DirectLineActivity = {
      ...activity,
      id: `${conversationId}|${String(seq).padStart(7, '0')}`,
      timestamp: new Date(now).toISOString(),
      channelId: 'directline',
      conversation: { id: conversationId },
    };
    this.sql.exec('INSERT INTO activities (seq, activity_json, created_at) VALUES (?, ?, ?)', seq, JSON.stringify(stored), now);
    this.touch(now);
    const frame = JSON.stringify({ activities: [stored], watermark: String(seq + 1) } satisfies ActivitySet);
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.send(frame);
      } catch {
        // A socket that is closing gets the activity on its reconnect replay.
      }
    }
    return seq;
  }
}

function clientActivityId(activity: DirectLineActivity): string | undefined {
  const cd = activity.channelData;
  if (typeof cd !== 'object' || cd === null) return undefined;
  const id = (cd as Record<string, unknown>).clientActivityID;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

function parseWatermark(watermark: string | undefined): number {
  if (watermark === undefined || !/^\d+$/.test(watermark)) return 0;
  const n = Number.parseInt(watermark, 10);
  return Number.isSafeInteger(n) ? n : 0;
}
