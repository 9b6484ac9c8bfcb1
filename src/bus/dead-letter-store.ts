// Dead letters in D1 (table `dead_letters`, migrations/d1/0002): one row per message, however
// often it is dead-lettered. Rows are kept until an operator deletes them through the admin API.
import { sha256HexAsync } from '../pack/digest.js';

/** Where a dead letter came from; `unknown` is a DLQ body that is neither an ingress nor an egress message. */
export const STORED_SOURCES = ['ingress', 'egress', 'unknown'] as const;
export type StoredSource = (typeof STORED_SOURCES)[number];

/**
 * Upper bound on the stored message (UTF-8 bytes), well below D1's 2 MB row limit. Anything that
 * arrives through the DLQ is smaller (a queue message is at most 128 KB); only an oversized
 * message handed to `deadLetter()` can exceed it, and it is then stored cut to this size, marked
 * `truncated` and cannot be replayed.
 */
export const MAX_STORED_MESSAGE_BYTES = 1024 * 1024;

/** The listing's page size: default and maximum. */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/** What the DLQ consumer stores for one dead-lettered message. */
export interface DeadLetterEntry {
  id: string;
  source: StoredSource;
  env: string | null;
  tenant: string | null;
  team: string | null;
  channel: string | null;
  idempotency_key: string | null;
  subject: string | null;
  reason: string;
  /** How often delivery was tried; null when the queue gave up, since it does not say. */
  attempts: number | null;
  failed_at: number;
  message_json: string;
  truncated: boolean;
}

/** A stored row: the entry plus what the store keeps about it (times in unix ms). */
export interface DeadLetterRow extends DeadLetterEntry {
  failures: number;
  received_at: number;
  replayed_at: number | null;
  replays: number;
}

/** A listed row: everything but the message, which may hold user data. */
export type DeadLetterSummary = Omit<DeadLetterRow, 'message_json'>;

export const DEAD_LETTER_ID = /^[0-9a-f]{32}$/;
/** A listing cursor: the last row's `failed_at` and id (newest first, so the next page is older). */
const CURSOR = /^(\d{1,15})\.([0-9a-f]{32})$/;

export interface PageCursor {
  failed_at: number;
  id: string;
}

export function formatCursor(row: PageCursor): string {
  return `${row.failed_at}.${row.id}`;
}

export function parseCursor(text: string): PageCursor | undefined {
  const m = CURSOR.exec(text);
  return m === null ? undefined : { failed_at: Number(m[1]), id: m[2]! };
}

/**
 * The row id of a message: its identity (who it belongs to and its idempotency key), not when it
 * failed. So at-least-once redelivery of a DLQ message, the channel object and the queue both
 * giving up on one message, or a replay that fails again all land on the same row.
 */
export async function deadLetterId(identity: readonly (string | null)[]): Promise<string> {
  return (await sha256HexAsync(new TextEncoder().encode(JSON.stringify(identity)))).slice(0, 32);
}

/** Cuts `text` to at most `maxBytes` UTF-8 bytes on a character boundary. */
export function boundedText(text: string, maxBytes = MAX_STORED_MESSAGE_BYTES): { text: string; truncated: boolean } {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= maxBytes) return { text, truncated: false };
  let end = maxBytes;
  // Step back over UTF-8 continuation bytes (10xxxxxx) so no character is split.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return { text: new TextDecoder().decode(bytes.subarray(0, end)), truncated: true };
}

/**
 * Stores an entry. A row with the same id keeps one record: a later failure (newer `failed_at`)
 * replaces reason, attempts and message and counts in `failures`; the same failure delivered
 * again changes nothing. Returns whether anything was written.
 */
export async function storeDeadLetter(db: D1Database, entry: DeadLetterEntry, receivedAt: number): Promise<boolean> {
  const result = await db
    .prepare(
      `INSERT INTO dead_letters (id, source, env, tenant, team, channel, idempotency_key, subject, reason, attempts,
         failed_at, received_at, message_json, truncated)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET reason = excluded.reason, attempts = excluded.attempts, failed_at = excluded.failed_at,
         received_at = excluded.received_at, message_json = excluded.message_json, truncated = excluded.truncated,
         failures = dead_letters.failures + 1
       WHERE excluded.failed_at > dead_letters.failed_at`,
    )
    .bind(
      entry.id,
      entry.source,
      entry.env,
      entry.tenant,
      entry.team,
      entry.channel,
      entry.idempotency_key,
      entry.subject,
      entry.reason,
      entry.attempts,
      entry.failed_at,
      receivedAt,
      entry.message_json,
      entry.truncated ? 1 : 0,
    )
    .run();
  return result.meta.changes > 0;
}

export interface DeadLetterQuery {
  tenant?: string | undefined;
  channel?: string | undefined;
  source?: StoredSource | undefined;
  limit: number;
  after?: PageCursor | undefined;
}

const SUMMARY_COLUMNS =
  'id, source, env, tenant, team, channel, idempotency_key, subject, reason, attempts, failures, failed_at, received_at, truncated, replayed_at, replays';

/** A row as D1 returns it: SQLite has no booleans. */
type Raw<T> = Omit<T, 'truncated'> & { truncated: number };

function fromRaw<T extends { truncated: number }>(row: T): Omit<T, 'truncated'> & { truncated: boolean } {
  const { truncated, ...rest } = row;
  return { ...rest, truncated: truncated === 1 };
}

/** One page, newest failure first; `next` is the cursor of the following page, if there is one. */
export async function listDeadLetters(db: D1Database, query: DeadLetterQuery): Promise<{ rows: DeadLetterSummary[]; next: string | null }> {
  const where: string[] = [];
  const params: (string | number)[] = [];
  for (const column of ['tenant', 'channel', 'source'] as const) {
    const value = query[column];
    if (value === undefined) continue;
    where.push(`${column} = ?`);
    params.push(value);
  }
  if (query.after !== undefined) {
    where.push('(failed_at < ? OR (failed_at = ? AND id < ?))');
    params.push(query.after.failed_at, query.after.failed_at, query.after.id);
  }
  const sql = `SELECT ${SUMMARY_COLUMNS} FROM dead_letters ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
               ORDER BY failed_at DESC, id DESC LIMIT ?`;
  const { results } = await db
    .prepare(sql)
    .bind(...params, query.limit + 1)
    .all<Raw<DeadLetterSummary>>();
  const rows = results.slice(0, query.limit).map(fromRaw);
  const last = rows.at(-1);
  return { rows, next: results.length > query.limit && last !== undefined ? formatCursor(last) : null };
}

export async function findDeadLetter(db: D1Database, id: string): Promise<DeadLetterRow | null> {
  const row = await db.prepare('SELECT * FROM dead_letters WHERE id = ?').bind(id).first<Raw<DeadLetterRow>>();
  return row === null ? null : fromRaw(row);
}

/** Records a replay; null when the row is gone (deleted meanwhile). */
export async function markReplayed(db: D1Database, id: string, at: number): Promise<{ replayed_at: number; replays: number } | null> {
  return db
    .prepare('UPDATE dead_letters SET replayed_at = ?, replays = replays + 1 WHERE id = ? RETURNING replayed_at, replays')
    .bind(at, id)
    .first<{ replayed_at: number; replays: number }>();
}

export async function deleteDeadLetter(db: D1Database, id: string): Promise<boolean> {
  const result = await db.prepare('DELETE FROM dead_letters WHERE id = ?').bind(id).run();
  return result.meta.changes > 0;
}
