// Dead letters under the admin API: list (never with bodies: they may hold user data), inspect one
// with its message, replay it, delete it. The rows come from the DLQ consumer (bus/dead-letters.ts).
import { Hono } from 'hono';
import { replayDeadLetter } from '../bus/dead-letter-replay.js';
import {
  DEAD_LETTER_ID,
  DEFAULT_PAGE_SIZE,
  type DeadLetterQuery,
  type DeadLetterRow,
  type DeadLetterSummary,
  deleteDeadLetter,
  findDeadLetter,
  listDeadLetters,
  MAX_PAGE_SIZE,
  markReplayed,
  parseCursor,
  STORED_SOURCES,
  type StoredSource,
} from '../bus/dead-letter-store.js';
import { logEvent } from '../edge/telemetry.js';
import { IDENTIFIER, notAnIdentifier } from '../edge/tenant-ctx.js';
import type { WorkerEnv } from '../objects.js';

const QUERY_PARAMETERS = ['tenant', 'channel', 'source', 'limit', 'cursor'];

interface QueryError {
  error: string;
  message: string;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const isSource = (value: string): value is StoredSource => (STORED_SOURCES as readonly string[]).includes(value);

/** The listing's query, or the first thing wrong with it. */
function parseListQuery(query: Record<string, string>): DeadLetterQuery | QueryError {
  const unknown = Object.keys(query).find((k) => !QUERY_PARAMETERS.includes(k));
  if (unknown !== undefined)
    return {
      error: 'unknown_parameter',
      message: `unknown query parameter "${unknown.slice(0, 100)}": use ${QUERY_PARAMETERS.join(', ')}`,
    };
  const { tenant, channel, source, limit, cursor } = query;
  if (tenant !== undefined && !IDENTIFIER.test(tenant)) return { error: 'invalid_tenant', message: notAnIdentifier('tenant', tenant) };
  if (channel !== undefined && !IDENTIFIER.test(channel)) return { error: 'invalid_channel', message: notAnIdentifier('channel', channel) };
  const from = source === undefined || isSource(source) ? source : null;
  if (from === null)
    return { error: 'invalid_source', message: `source "${source?.slice(0, 100)}" is not one of ${STORED_SOURCES.join(', ')}` };
  const size = limit === undefined ? DEFAULT_PAGE_SIZE : /^\d{1,4}$/.test(limit) ? Number(limit) : Number.NaN;
  if (!(size >= 1 && size <= MAX_PAGE_SIZE))
    return { error: 'invalid_limit', message: `limit "${limit?.slice(0, 100)}" is not a whole number from 1 to ${MAX_PAGE_SIZE}` };
  const after = cursor === undefined ? undefined : parseCursor(cursor);
  if (cursor !== undefined && after === undefined)
    return {
      error: 'invalid_cursor',
      message: `cursor "${cursor.slice(0, 100)}" is not one this API gave (use next_cursor of the previous page)`,
    };
  return { tenant, channel, source: from, limit: size, after };
}

/** One item of `GET /admin/v1/dead-letters`: who and why, never the message. Times are ISO 8601. */
export interface DeadLetterListing {
  id: string;
  tenant: string | null;
  env: string | null;
  team: string | null;
  channel: string | null;
  source: StoredSource;
  reason: string;
  attempts: number | null;
  failures: number;
  age_seconds: number;
  failed_at: string;
  replayed_at: string | null;
  replays: number;
}

function summary(row: DeadLetterSummary, now: number): DeadLetterListing {
  return {
    id: row.id,
    tenant: row.tenant,
    env: row.env,
    team: row.team,
    channel: row.channel,
    source: row.source,
    reason: row.reason,
    attempts: row.attempts,
    failures: row.failures,
    age_seconds: Math.max(0, Math.floor((now - row.failed_at) / 1000)),
    failed_at: iso(row.failed_at),
    replayed_at: row.replayed_at === null ? null : iso(row.replayed_at),
    replays: row.replays,
  };
}

/** The stored message as JSON when it is one, else the stored text (unparseable or cut bodies). */
function content(row: DeadLetterRow): { message: unknown } | { body: string } {
  if (row.source === 'unknown' || row.truncated) return { body: row.message_json };
  try {
    return { message: JSON.parse(row.message_json) as unknown };
  } catch {
    return { body: row.message_json };
  }
}

const badId = (id: string) => ({
  error: 'invalid_id',
  message: `dead letter id "${id.slice(0, 100)}" is not 32 lowercase hex digits (the id GET /admin/v1/dead-letters lists)`,
});
const notFound = (id: string) => ({ error: 'dead_letter_not_found', message: `no dead letter ${id} (deleted, or never stored)` });

/** Routes under the admin API (auth is the admin API's middleware). */
export function deadLettersApi(): Hono<{ Bindings: WorkerEnv }> {
  const api = new Hono<{ Bindings: WorkerEnv }>();

  api.get('/dead-letters', async (c) => {
    const query = parseListQuery(c.req.query());
    if ('error' in query) return c.json(query, 400);
    const page = await listDeadLetters(c.env.PACK_INDEX, query);
    const now = Date.now();
    return c.json({ dead_letters: page.rows.map((row) => summary(row, now)), next_cursor: page.next });
  });

  api.get('/dead-letters/:id', async (c) => {
    const id = c.req.param('id');
    if (!DEAD_LETTER_ID.test(id)) return c.json(badId(id), 400);
    const row = await findDeadLetter(c.env.PACK_INDEX, id);
    if (row === null) return c.json(notFound(id), 404);
    return c.json({
      ...summary(row, Date.now()),
      idempotency_key: row.idempotency_key,
      subject: row.subject,
      received_at: iso(row.received_at),
      truncated: row.truncated,
      ...content(row),
    });
  });

  api.post('/dead-letters/:id/replay', async (c) => {
    const id = c.req.param('id');
    if (!DEAD_LETTER_ID.test(id)) return c.json(badId(id), 400);
    const row = await findDeadLetter(c.env.PACK_INDEX, id);
    if (row === null) return c.json(notFound(id), 404);
    const result = await replayDeadLetter(c.env, row);
    if (result.status === 'not_replayable') return c.json({ error: 'not_replayable', message: result.message }, 409);
    const now = Date.now();
    const marked = (await markReplayed(c.env.PACK_INDEX, id, now)) ?? { replayed_at: now, replays: row.replays + 1 };
    logEvent('info', 'admin.dead_letter_replayed', {
      'greentic.env': row.env ?? undefined,
      'greentic.tenant.id': row.tenant ?? undefined,
      'greentic.dead_letter.id': id,
      source: result.source,
      via: result.via,
    });
    return c.json(
      {
        id,
        source: result.source,
        via: result.via,
        idempotency_key: result.idempotency_key,
        replayed_at: iso(marked.replayed_at),
        replays: marked.replays,
      },
      202,
    );
  });

  api.delete('/dead-letters/:id', async (c) => {
    const id = c.req.param('id');
    if (!DEAD_LETTER_ID.test(id)) return c.json(badId(id), 400);
    if (!(await deleteDeadLetter(c.env.PACK_INDEX, id))) return c.json(notFound(id), 404);
    logEvent('info', 'admin.dead_letter_deleted', { 'greentic.dead_letter.id': id });
    return c.body(null, 204);
  });

  return api;
}
