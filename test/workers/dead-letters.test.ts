// Dead letters are visible and replayable: whatever reaches the DLQ is stored once per message,
// listed without its body behind the admin token, and a replay delivers it again end to end.
import { createExecutionContext, createMessageBatch, getQueueResult, runInDurableObject, SELF } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetterListing } from '../../src/admin/dead-letters-api.js';
import { MAX_STORED_MESSAGE_BYTES } from '../../src/bus/dead-letter-store.js';
import { deadLetter } from '../../src/bus/dead-letters.js';
import type { ChannelMessageEnvelope } from '../../src/bus/envelope.js';
import { type EgressMessage, egressMessage, type IngressMessage } from '../../src/bus/messages.js';
import type { WebchatConversation } from '../../src/channels/webchat/conversation.js';
import { setTelemetrySink } from '../../src/edge/telemetry.js';
import { buildTenantCtx } from '../../src/edge/tenant-ctx.js';
import { webchatConversation } from '../../src/objects.js';
import worker from '../../src/worker.js';
import { deliverIngress } from '../support/channel-session.js';
import { activate, ECHO_FLOW, seedPack, testEnv, webchatMessage } from '../support/runtime-fixtures.js';
import { until } from '../support/until.js';

beforeAll(() => {
  setTelemetrySink(() => {});
});

const AUTH = { authorization: 'Bearer test-admin-token' };

function admin(path: string, method = 'GET', headers: Record<string, string> = AUTH): Promise<Response> {
  return SELF.fetch(`http://runner.test/admin/v1${path}`, { method, headers });
}

interface Page {
  dead_letters: DeadLetterListing[];
  next_cursor: string | null;
}

async function list(query: string): Promise<Page> {
  const res = await admin(`/dead-letters?${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Page;
}

async function detail(id: string): Promise<Record<string, unknown>> {
  const res = await admin(`/dead-letters/${id}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

let seq = 0;
/** Hands bodies to the Worker's queue handler as a batch of the DLQ; returns what it acked. */
async function consume(...messages: { body: unknown; timestamp?: Date }[]): Promise<string[]> {
  const batch = createMessageBatch<unknown>(
    'greentic-dlq',
    messages.map((m) => ({ id: `dlq-${++seq}`, timestamp: m.timestamp ?? new Date(), attempts: 1, body: m.body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, testEnv);
  const result = await getQueueResult(batch, ctx);
  expect(result.retryMessages).toEqual([]);
  return result.explicitAcks;
}

/** The record `deadLetter()` sends, as the DLQ consumer receives it. */
function record(source: 'ingress' | 'egress', message: IngressMessage | EgressMessage, reason: string, failedAt: number) {
  return { v: 1, kind: 'dead-letter', source, reason, attempts: 5, failed_at: failedAt, message };
}

function webchatReply(tenant: string, conversation: string, key: string, text: string): EgressMessage {
  const envelope: ChannelMessageEnvelope = {
    id: key,
    tenant: buildTenantCtx({ env: testEnv.GREENTIC_ENV, tenant, channel: 'webchat' }),
    channel: 'webchat',
    session_id: `${tenant}:webchat:${conversation}:u1`,
    reply_scope: { conversation },
    to: [{ id: 'u1', kind: 'user' }],
    text,
    attachments: [],
    metadata: {},
    extensions: {},
  };
  return egressMessage(envelope, key, 'webchat:none', Date.now());
}

/** A started WebChat conversation and a probe for the bot's activity with `text`. */
async function conversation(tenant: string, id: string) {
  const stub = webchatConversation(testEnv, tenant, id);
  await stub.start(tenant, id, 'u1');
  return async (text: string) => {
    const set = await runInDurableObject(stub, (conversation: WebchatConversation) => conversation.activities(undefined));
    return set?.activities.find((a) => a.from?.role === 'bot' && a.text === text);
  };
}

const LISTING_KEYS = [
  'age_seconds',
  'attempts',
  'channel',
  'env',
  'failed_at',
  'failures',
  'id',
  'reason',
  'replayed_at',
  'replays',
  'source',
  'team',
  'tenant',
];

describe('dead letters: recording', () => {
  it('a message given to deadLetter() travels the DLQ and is listed with tenant, channel, reason and age, without its body', async () => {
    const reply = webchatReply('dl-record', 'conv-1', 'dl-record#0', 'secret words of the user');
    await deadLetter(testEnv, 'egress', reply, 'provider answered 500 five times', 5);

    const page = await until(async () => {
      const p = await list('tenant=dl-record');
      return p.dead_letters.length > 0 ? p : undefined;
    }, 'the dead letter in the listing');
    expect(page.dead_letters).toHaveLength(1);
    const item = page.dead_letters[0]!;
    expect(item).toMatchObject({
      tenant: 'dl-record',
      env: testEnv.GREENTIC_ENV,
      team: 'default',
      channel: 'webchat',
      source: 'egress',
      reason: 'provider answered 500 five times',
      attempts: 5,
      failures: 1,
      replayed_at: null,
      replays: 0,
    });
    expect(item.age_seconds).toBeGreaterThanOrEqual(0);
    expect(item.age_seconds).toBeLessThan(60);
    expect(Date.parse(item.failed_at)).toBeGreaterThan(Date.now() - 60_000);
    expect(Object.keys(item).sort()).toEqual(LISTING_KEYS);
    expect(JSON.stringify(page)).not.toContain('secret words');

    const one = await detail(item.id);
    expect(one).toMatchObject({ id: item.id, idempotency_key: 'dl-record#0', subject: reply.subject, truncated: false });
    expect(one.message).toEqual(reply);
  });

  it('a raw ingress message the queue gave up on is listed as queue_retries_exhausted, aged from when it was queued', async () => {
    const message = webchatMessage('dl-raw', 'conv-1', 'hello');
    const queuedAt = new Date(Date.now() - 90_000);
    expect(await consume({ body: message, timestamp: queuedAt })).toHaveLength(1);

    const [item] = (await list('tenant=dl-raw')).dead_letters;
    expect(item).toMatchObject({
      tenant: 'dl-raw',
      channel: 'webchat',
      source: 'ingress',
      reason: 'queue_retries_exhausted',
      attempts: null,
      failed_at: queuedAt.toISOString(),
    });
    expect(item!.age_seconds).toBeGreaterThanOrEqual(90);
    expect(item!.age_seconds).toBeLessThan(150);
    expect((await detail(item!.id)).message).toEqual(message);
  });

  it('a body that is neither a record nor a message is kept as unparseable text, and cannot be replayed', async () => {
    const queuedAt = new Date(Date.now() - 12_345);
    const acked = await consume(
      { body: { hello: 'world', marker: 'dl-garbage' }, timestamp: queuedAt },
      // A record whose message is broken is not half-read either.
      {
        body: { v: 1, kind: 'dead-letter', source: 'ingress', reason: 'x', attempts: 1, failed_at: 1, message: { v: 2 } },
        timestamp: queuedAt,
      },
    );
    expect(acked).toHaveLength(2);

    const unparseable = (await list('source=unknown&limit=500')).dead_letters.filter((d) => d.failed_at === queuedAt.toISOString());
    expect(unparseable).toHaveLength(2);
    for (const item of unparseable) expect(item).toMatchObject({ source: 'unknown', reason: 'unparseable', tenant: null, channel: null });
    const bodies = await Promise.all(unparseable.map(async (d) => (await detail(d.id)).body));
    expect(bodies).toContain(JSON.stringify({ hello: 'world', marker: 'dl-garbage' }));

    const replay = await admin(`/dead-letters/${unparseable[0]!.id}/replay`, 'POST');
    expect(replay.status).toBe(409);
    expect(await replay.json()).toMatchObject({ error: 'not_replayable' });
  });

  it('an unparseable body beyond the size bound is stored cut to the bound and marked truncated', async () => {
    const queuedAt = new Date(Date.now() - 54_321);
    await consume({ body: `dl-huge:${'é'.repeat(MAX_STORED_MESSAGE_BYTES)}`, timestamp: queuedAt });

    const [item] = (await list('source=unknown&limit=500')).dead_letters.filter((d) => d.failed_at === queuedAt.toISOString());
    const one = await detail(item!.id);
    expect(one.truncated).toBe(true);
    const body = one.body as string;
    expect(body.startsWith('dl-huge:éé')).toBe(true);
    expect(new TextEncoder().encode(body).length).toBeLessThanOrEqual(MAX_STORED_MESSAGE_BYTES);
    expect(new TextEncoder().encode(body).length).toBeGreaterThan(MAX_STORED_MESSAGE_BYTES - 2);
  });

  it('a message too large for a queue message is stored by deadLetter() directly, nothing lost', async () => {
    const message = webchatMessage('dl-large', 'conv-1', 'x'.repeat(200_000));
    await deadLetter(testEnv, 'ingress', message, 'turn failed', 5);

    const [item] = (await list('tenant=dl-large')).dead_letters;
    expect(item).toMatchObject({ source: 'ingress', reason: 'turn failed', attempts: 5 });
    expect((await detail(item!.id)).message).toEqual(message);
  });

  it('the same message dead-lettered twice, and given up on by its queue as well, is one row', async () => {
    const message = webchatMessage('dl-dup', 'conv-1', 'hello');
    const failedAt = Date.now() - 5_000;
    const first = record('ingress', message, 'turn failed', failedAt);
    // At-least-once delivery: the same record arrives twice, in one batch and in another.
    expect(await consume({ body: first }, { body: first })).toHaveLength(2);
    expect(await consume({ body: first })).toHaveLength(1);
    let rows = (await list('tenant=dl-dup')).dead_letters;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ reason: 'turn failed', failures: 1 });

    // The queue's own copy gives up later: still one row, now showing the later failure.
    await consume({ body: message, timestamp: new Date(failedAt + 1_000) });
    rows = (await list('tenant=dl-dup')).dead_letters;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ reason: 'queue_retries_exhausted', failures: 2 });
  });
});

describe('dead letters: listing', () => {
  it('lists newest first, filtered by tenant, channel and source, a page of `limit` at a time with a cursor', async () => {
    const now = Date.now();
    const messages = [0, 1, 2].map((i) => webchatMessage('dl-page', `conv-${i}`, 'hi'));
    await consume(...messages.map((m, i) => ({ body: record('ingress', m, `failure ${i}`, now - 10_000 + i) })));
    await consume({ body: record('egress', webchatReply('dl-page', 'conv-9', 'dl-page#0', 'r'), 'egress failure', now) });

    const first = await list('tenant=dl-page&source=ingress&channel=webchat&limit=2');
    expect(first.dead_letters.map((d) => d.reason)).toEqual(['failure 2', 'failure 1']);
    expect(first.next_cursor).not.toBeNull();
    const second = await list(`tenant=dl-page&source=ingress&channel=webchat&limit=2&cursor=${first.next_cursor}`);
    expect(second.dead_letters.map((d) => d.reason)).toEqual(['failure 0']);
    expect(second.next_cursor).toBeNull();

    expect((await list('tenant=dl-page')).dead_letters.map((d) => d.reason)).toEqual([
      'egress failure',
      'failure 2',
      'failure 1',
      'failure 0',
    ]);
    expect((await list('tenant=dl-page&source=egress')).dead_letters.map((d) => d.reason)).toEqual(['egress failure']);
    expect((await list('tenant=dl-page&channel=slack')).dead_letters).toEqual([]);
  });

  it('answers 400 naming the problem for a malformed query parameter', async () => {
    const cases: [string, string, RegExp][] = [
      ['limit=0', 'invalid_limit', /from 1 to 500/],
      ['limit=501', 'invalid_limit', /from 1 to 500/],
      ['limit=ten', 'invalid_limit', /"ten"/],
      ['source=queue', 'invalid_source', /ingress, egress, unknown/],
      ['tenant=a%20b', 'invalid_tenant', /not an identifier/],
      ['channel=web/chat', 'invalid_channel', /not an identifier/],
      ['cursor=abc', 'invalid_cursor', /next_cursor/],
      ['tenat=acme', 'unknown_parameter', /"tenat"/],
    ];
    for (const [query, error, message] of cases) {
      const res = await admin(`/dead-letters?${query}`);
      expect(res.status, query).toBe(400);
      const body = (await res.json()) as { error: string; message: string };
      expect(body.error, query).toBe(error);
      expect(body.message, query).toMatch(message);
    }
  });

  it('answers 400 for a malformed id and 404 for an unknown one, on every route', async () => {
    const unknown = '0'.repeat(32);
    for (const [path, method] of [
      ['', 'GET'],
      ['/replay', 'POST'],
      ['', 'DELETE'],
    ] as const) {
      const bad = await admin(`/dead-letters/not-an-id${path}`, method);
      expect(bad.status, `${method} malformed`).toBe(400);
      expect(((await bad.json()) as { message: string }).message).toMatch(/32 lowercase hex digits/);
      const missing = await admin(`/dead-letters/${unknown}${path}`, method);
      expect(missing.status, `${method} unknown`).toBe(404);
      expect(await missing.json()).toMatchObject({ error: 'dead_letter_not_found' });
    }
  });

  it('needs the admin token: 401 without one, 403 with a wrong one', async () => {
    await consume({ body: webchatMessage('dl-auth', 'conv-1', 'hi') });
    const [item] = (await list('tenant=dl-auth')).dead_letters;
    for (const [path, method] of [
      ['/dead-letters', 'GET'],
      [`/dead-letters/${item!.id}`, 'GET'],
      [`/dead-letters/${item!.id}/replay`, 'POST'],
      [`/dead-letters/${item!.id}`, 'DELETE'],
    ] as const) {
      expect((await admin(path, method, {})).status, `${method} ${path}`).toBe(401);
      expect((await admin(path, method, { authorization: 'Bearer wrong' })).status, `${method} ${path}`).toBe(403);
    }
    expect((await list('tenant=dl-auth')).dead_letters.map((d) => d.replays)).toEqual([0]);
  });

  it('DELETE removes a dead letter: 204, then 404', async () => {
    await consume({ body: webchatMessage('dl-delete', 'conv-1', 'hi') });
    const [item] = (await list('tenant=dl-delete')).dead_letters;
    expect((await admin(`/dead-letters/${item!.id}`, 'DELETE')).status).toBe(204);
    expect((await list('tenant=dl-delete')).dead_letters).toEqual([]);
    expect((await admin(`/dead-letters/${item!.id}`, 'DELETE')).status).toBe(404);
  });
});

describe('dead letters: replay', () => {
  it('a message its channel object dead-lettered (no active pack) is listed, and once a pack is active its replay runs it', async () => {
    const botSaid = await conversation('dl-object', 'conv-obj');
    const message = webchatMessage('dl-object', 'conv-obj', 'are you there');
    await expect(deliverIngress(testEnv, message)).rejects.toThrow(/NoActivePack/);
    const item = await until(async () => (await list('tenant=dl-object')).dead_letters[0], 'the dead letter from the channel object');
    expect(item).toMatchObject({ source: 'ingress', reason: 'NoActivePack', attempts: 1, channel: 'webchat' });
    // The user was told, once, with the generic failure text (no pack will appear on a retry).
    await until(() => botSaid('Sorry, something went wrong while handling your message. Please try again later.'), 'the notice');

    const digest = await seedPack('dl-object-echo', '1.0.0', [ECHO_FLOW('bot')]);
    await activate('dl-object', 'dl-object-echo', digest);
    const res = await admin(`/dead-letters/${item.id}/replay`, 'POST');
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ source: 'ingress', via: 'channel_object' });
    await until(() => botSaid('bot: are you there'), 'the reply to the replayed message');
  }, 60_000);

  it("replaying an ingress dead letter runs the turn in the channel object, the bot's reply reaches the conversation, and the row is marked replayed", async () => {
    const digest = await seedPack('dl-echo', '1.0.0', [ECHO_FLOW('bot')]);
    await activate('dl-replay-in', 'dl-echo', digest);
    const botSaid = await conversation('dl-replay-in', 'conv-in');
    const message = webchatMessage('dl-replay-in', 'conv-in', 'once more');
    await consume({ body: message });
    const [item] = (await list('tenant=dl-replay-in')).dead_letters;

    const res = await admin(`/dead-letters/${item!.id}/replay`, 'POST');
    expect(res.status).toBe(202);
    const replay = (await res.json()) as Record<string, unknown>;
    expect(replay).toMatchObject({ id: item!.id, source: 'ingress', idempotency_key: message.idempotency_key, replays: 1 });

    await until(() => botSaid('bot: once more'), 'the bot reply in the conversation', 45_000);
    const [after] = (await list('tenant=dl-replay-in')).dead_letters;
    expect(after).toMatchObject({ replays: 1, replayed_at: replay.replayed_at });
    expect(Date.parse(after!.replayed_at!)).toBeGreaterThanOrEqual(Date.parse(after!.failed_at));
  }, 60_000);

  it('replaying an egress dead letter delivers the reply to the WebChat conversation', async () => {
    const botSaid = await conversation('dl-replay-out', 'conv-out');
    const reply = webchatReply('dl-replay-out', 'conv-out', 'dl-replay-out#0', 'the lost reply');
    await consume({ body: record('egress', reply, 'provider unreachable', Date.now()) });
    const [item] = (await list('tenant=dl-replay-out')).dead_letters;
    expect(await botSaid('the lost reply')).toBeUndefined();

    const res = await admin(`/dead-letters/${item!.id}/replay`, 'POST');
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ source: 'egress', via: 'egress_queue', idempotency_key: 'dl-replay-out#0', replays: 1 });
    await until(() => botSaid('the lost reply'), 'the replayed reply in the conversation', 30_000);
    expect((await list('tenant=dl-replay-out')).dead_letters[0]!.replayed_at).not.toBeNull();
  }, 45_000);
});
