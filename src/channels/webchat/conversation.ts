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

/**
 * A user message's place in the log, taken before the message is handed to the bot. `pending`:
 * numbered but shown to nobody yet (activities after it are held back, so the echo still comes
 * before the bot's reply); `visible`: published. `reserved` is true for the request that took the
 * place, false when a retry with the same `clientActivityID` found it.
 */
export interface Reservation {
  id: string;
  seq: number;
  state: 'pending' | 'visible';
  reserved: boolean;
}

type RowState = 'visible' | 'pending' | 'withdrawn';

/** Ring of an idle socket: the client pings with `""` every 20 s; the auto-response answers without waking the object. */
const PING = '';
const DEFAULT_RETENTION_DAYS = 30;
/**
 * A reservation whose request never came back to publish or withdraw it (the Worker died
 * mid-POST) is published after this, so it cannot hold the bot's replies back for long. The
 * client got no answer and retries with the same `clientActivityID`, which hands the message
 * over again under the same key: the bot's inbox takes it once either way.
 */
export const PENDING_TIMEOUT_MS = 30_000;

/**
 * One object per WebChat conversation (`{env}:{tenant}:{conversationId}`): the Direct Line
 * activity log (numbered per conversation; the watermark is the count stored), the dedup tables
 * that make user posts and bot replies exactly-once, and the open WebSockets, accepted through
 * the hibernation API so an idle conversation costs nothing.
 *
 * Every method runs to completion without awaiting, so storing an activity and fanning it out
 * to sockets is atomic with respect to a socket that is being opened and replayed: a new socket
 * gets its history and then live frames, with no gap and no repeat.
 *
 * A user message is numbered before it is handed to the bot but published only once the bot
 * holds it (`reserveUserActivity`, then `publishUserActivity` or `withdrawUserActivity`). Clients
 * see the log up to the first pending row (the frontier), so nothing overtakes an echo and a
 * message the bot never got is never shown. A withdrawn row keeps its number as an empty
 * tombstone: numbers are never reused, since the bot's dedup knows messages by them.
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
      CREATE TABLE IF NOT EXISTS activities (seq INTEGER PRIMARY KEY, activity_json TEXT NOT NULL, created_at INTEGER NOT NULL, state TEXT NOT NULL DEFAULT 'visible');
      CREATE TABLE IF NOT EXISTS client_ids (client_activity_id TEXT PRIMARY KEY, seq INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS egress_keys (idempotency_key TEXT PRIMARY KEY, seq INTEGER NOT NULL);
    `);
    // Conversations stored before reservations existed have no state column: all their rows are visible.
    const columns = this.sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('activities')").toArray();
    if (!columns.some((c) => c.name === 'state')) this.sql.exec("ALTER TABLE activities ADD COLUMN state TEXT NOT NULL DEFAULT 'visible'");
  }

  /** Clients never say goodbye (Direct Line has no end call), so idle conversations expire here. */
  private retentionMs(): number {
    const days = Number.parseFloat(this.env.WEBCHAT_RETENTION_DAYS ?? '');
    return (Number.isFinite(days) && days > 0 ? days : DEFAULT_RETENTION_DAYS) * 24 * 3600 * 1000;
  }

  private lastUse(): number {
    const last = this.sql.exec<{ t: number | null }>('SELECT MAX(created_at) AS t FROM activities').one().t;
    const started = this.sql.exec<{ t: number | null }>('SELECT MAX(created_at) AS t FROM meta').one().t;
    return Math.max(last ?? 0, started ?? 0);
  }

  /** One alarm serves both timers: the oldest reservation's timeout and the retention expiry. */
  private scheduleAlarm(): void {
    const pending = this.sql.exec<{ t: number | null }>("SELECT MIN(created_at) AS t FROM activities WHERE state = 'pending'").one().t;
    const expiry = this.lastUse() + this.retentionMs();
    void this.ctx.storage.setAlarm(pending === null ? expiry : Math.min(expiry, pending + PENDING_TIMEOUT_MS));
  }

  override async alarm(): Promise<void> {
    const now = Date.now();
    const stale = this.sql
      .exec<{ seq: number }>(
        "SELECT seq FROM activities WHERE state = 'pending' AND created_at <= ? ORDER BY seq",
        now - PENDING_TIMEOUT_MS,
      )
      .toArray();
    for (const { seq } of stale) this.setState(seq, 'visible');
    const lastUse = this.lastUse();
    if (lastUse > 0 && now - lastUse < this.retentionMs()) {
      this.scheduleAlarm();
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
    this.scheduleAlarm();
    return { created: true, info: this.info()! };
  }

  info(): ConversationInfo | null {
    const row = this.sql
      .exec<{ tenant: string; conversation_id: string; user_id: string | null; created_at: number }>(
        'SELECT tenant, conversation_id, user_id, created_at FROM meta',
      )
      .toArray()[0];
    if (row === undefined) return null;
    return { ...row, watermark: String(this.frontier()) };
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
    const seq = this.store(activity, 'visible');
    if (clientId !== undefined) this.sql.exec('INSERT INTO client_ids (client_activity_id, seq) VALUES (?, ?)', clientId, seq);
    return { id: this.activityId(seq), duplicate: false };
  }

  /**
   * Numbers a user message without showing it (see the class comment). A `clientActivityID` seen
   * before returns that place instead, so a client's retry never makes a second echo.
   */
  reserveUserActivity(activity: DirectLineActivity): Reservation | null {
    if (this.info() === null) return null;
    const clientId = clientActivityId(activity);
    if (clientId !== undefined) {
      const seen = this.sql
        .exec<{ seq: number; state: RowState }>(
          'SELECT c.seq AS seq, a.state AS state FROM client_ids c JOIN activities a ON a.seq = c.seq WHERE c.client_activity_id = ?',
          clientId,
        )
        .toArray()[0];
      if (seen !== undefined && seen.state !== 'withdrawn') {
        if (seen.state === 'pending') this.claims.set(seen.seq, (this.claims.get(seen.seq) ?? 0) + 1);
        return { id: this.activityId(seen.seq), seq: seen.seq, state: seen.state, reserved: false };
      }
    }
    const seq = this.store(activity, 'pending');
    if (clientId !== undefined) this.sql.exec('INSERT OR REPLACE INTO client_ids (client_activity_id, seq) VALUES (?, ?)', clientId, seq);
    this.claims.set(seq, 1);
    this.scheduleAlarm();
    return { id: this.activityId(seq), seq, state: 'pending', reserved: true };
  }

  /** The bot holds the message: its echo is shown, and whatever waited behind it follows. False if it was withdrawn. */
  publishUserActivity(seq: number): boolean {
    this.claims.delete(seq);
    const state = this.stateOf(seq);
    if (state === 'pending') this.setState(seq, 'visible');
    return state === 'pending' || state === 'visible';
  }

  /**
   * The hand-over failed: the reservation becomes an empty tombstone that no client ever sees,
   * unless a retry of the same message is handing it over at this moment (that one decides).
   * False when the echo is already visible (its timeout published it) and stays.
   */
  withdrawUserActivity(seq: number): boolean {
    const claims = (this.claims.get(seq) ?? 1) - 1;
    if (claims > 0) {
      this.claims.set(seq, claims);
      return true;
    }
    this.claims.delete(seq);
    const state = this.stateOf(seq);
    if (state !== 'pending') return state === 'withdrawn';
    this.sql.exec('DELETE FROM client_ids WHERE seq = ?', seq);
    this.setState(seq, 'withdrawn');
    return true;
  }

  /** Stores a bot activity once per egress idempotency key and pushes it to open sockets. */
  appendBotActivity(idempotencyKey: string, activity: DirectLineActivity): AppendResult | null {
    if (this.info() === null) return null;
    const seen = this.sql.exec<{ seq: number }>('SELECT seq FROM egress_keys WHERE idempotency_key = ?', idempotencyKey).toArray()[0];
    if (seen !== undefined) return { id: this.activityId(seen.seq), duplicate: true };
    const seq = this.store(activity, 'visible');
    this.sql.exec('INSERT INTO egress_keys (idempotency_key, seq) VALUES (?, ?)', idempotencyKey, seq);
    return { id: this.activityId(seq), duplicate: false };
  }

  /**
   * Published activities numbered ≥ watermark and before the frontier, in order (an empty or
   * non-numeric watermark means from the start).
   */
  activities(watermark: string | undefined, limit = 500): ActivitySet | null {
    if (this.info() === null) return null;
    const from = parseWatermark(watermark);
    const end = this.frontier();
    const rows = this.sql
      .exec<{ seq: number; state: RowState; activity_json: string }>(
        'SELECT seq, state, activity_json FROM activities WHERE seq >= ? AND seq < ? ORDER BY seq LIMIT ?',
        from,
        end,
        limit,
      )
      .toArray();
    const activities = rows.filter((r) => r.state === 'visible').map((r) => JSON.parse(r.activity_json) as DirectLineActivity);
    const last = rows.at(-1);
    return { activities, watermark: String(rows.length === limit && last !== undefined ? last.seq + 1 : end) };
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

  /** Handers-over of each pending reservation now in flight (the first request and any retries). */
  private readonly claims = new Map<number, number>();

  private nextSeq(): number {
    return this.sql.exec<{ n: number }>('SELECT COALESCE(MAX(seq) + 1, 0) AS n FROM activities').one().n;
  }

  /** The first pending row: clients see the log up to here. */
  private frontier(): number {
    const pending = this.sql.exec<{ s: number | null }>("SELECT MIN(seq) AS s FROM activities WHERE state = 'pending'").one().s;
    return pending ?? this.nextSeq();
  }

  private stateOf(seq: number): RowState | undefined {
    return this.sql.exec<{ state: RowState }>('SELECT state FROM activities WHERE seq = ?', seq).toArray()[0]?.state;
  }

  /** Moves a pending row on (published or withdrawn) and sends sockets what that released. */
  private setState(seq: number, state: 'visible' | 'withdrawn'): void {
    const before = this.frontier();
    if (state === 'withdrawn') this.sql.exec("UPDATE activities SET state = 'withdrawn', activity_json = '' WHERE seq = ?", seq);
    else this.sql.exec("UPDATE activities SET state = 'visible' WHERE seq = ?", seq);
    this.release(before);
    this.scheduleAlarm();
  }

  /** Sends open sockets the published rows between the old frontier and the current one. */
  private release(before: number): void {
    const after = this.frontier();
    if (after <= before) return;
    const activities = this.sql
      .exec<{ activity_json: string }>(
        "SELECT activity_json FROM activities WHERE seq >= ? AND seq < ? AND state = 'visible' ORDER BY seq",
        before,
        after,
      )
      .toArray()
      .map((r) => JSON.parse(r.activity_json) as DirectLineActivity);
    if (activities.length === 0) return;
    const frame = JSON.stringify({ activities, watermark: String(after) } satisfies ActivitySet);
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.send(frame);
      } catch {
        // A socket that is closing gets the activities on its reconnect replay.
      }
    }
  }

  private conversationId(): string {
    const info = this.sql.exec<{ conversation_id: string }>('SELECT conversation_id FROM meta').toArray()[0];
    if (info === undefined) throw new Error('UnknownConversation: the conversation was not started');
    return info.conversation_id;
  }

  private activityId(seq: number): string {
    return `${this.conversationId()}|${String(seq).padStart(7, '0')}`;
  }

  /** Numbers, stamps and stores one activity, then fans out what became visible; returns its seq. */
  private store(activity: DirectLineActivity, state: 'visible' | 'pending'): number {
    const before = this.frontier();
    const seq = this.nextSeq();
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
    this.sql.exec(
      'INSERT INTO activities (seq, activity_json, created_at, state) VALUES (?, ?, ?, ?)',
      seq,
      JSON.stringify(stored),
      now,
      state,
    );
    this.scheduleAlarm();
    this.release(before);
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
