// What a WebChat user can send, end to end: the documented body limit is what reaches the bot
// (text, card values), with every row it leaves in Durable Object storage under the platform's
// 2 MB; anything larger or deeper is refused before a byte is stored; and a message the bot could
// not be handed is never shown, while a client's retry of it makes one echo and one reply.
import { createExecutionContext, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ActivitySet, WebchatConversation } from '../../src/channels/webchat/conversation.js';
import { MAX_ACTIVITY_BYTES, MAX_ACTIVITY_DEPTH } from '../../src/channels/webchat/directline.js';
import { setTelemetrySink } from '../../src/edge/telemetry.js';
import { channelObject, type WorkerEnv, webchatConversation } from '../../src/objects.js';
import { canonicalSessionKey } from '../../src/session/session-key.js';
import { app } from '../../src/worker.js';
import { activate, ECHO_FLOW, seedPack, testEnv } from '../support/runtime-fixtures.js';
import { DO_ROW_LIMIT_BYTES, largestRow } from '../support/sqlite-rows.js';
import { until } from '../support/until.js';
import { botRepliesTo, directLineBase, getActivities, json, post, type Started, startConversation } from '../support/webchat-client.js';

beforeAll(() => {
  setTelemetrySink(() => {});
});

/** Asks for a form, then thanks for every submit and parks again (so the submit is in a stored snapshot). */
const FORM_FLOW = `id: form
type: messaging
start: ask
nodes:
  ask:
    emit.response: { text: "Send the form" }
    routing: [ { to: wait } ]
  wait:
    session.wait: { reason: form }
    routing: [ { to: thanks } ]
  thanks:
    emit.response: { text: "Got {{entry.metadata.action}}" }
    routing: [ { to: again } ]
  again:
    session.wait: { reason: more }
    routing: [ { to: thanks } ]
`;

/** An activity whose JSON body is exactly `bytes` long, padded in `pad` (which must be a string field). */
function activityOfSize(bytes: number, build: (pad: string) => Record<string, unknown>): string {
  const bare = new TextEncoder().encode(JSON.stringify(build(''))).byteLength;
  const body = JSON.stringify(build('x'.repeat(bytes - bare)));
  expect(new TextEncoder().encode(body).byteLength).toBe(bytes);
  return body;
}

async function log(tenant: string, s: Started): Promise<ActivitySet['activities']> {
  return (await json<ActivitySet>(await getActivities(tenant, s.conversationId, s.token))).activities;
}

/** The log without the conversation's welcome (bot activities that answer no user activity). */
async function answers(tenant: string, s: Started): Promise<ActivitySet['activities']> {
  return (await log(tenant, s)).filter((a) => a.from?.role !== 'bot' || a.replyToId !== undefined);
}

/** The largest row in the session's channel object and in the conversation object. */
async function largestRows(tenant: string, s: Started, user = 'u1') {
  const session = canonicalSessionKey(tenant, 'webchat', s.conversationId, user);
  const channel = channelObject(testEnv, { env: testEnv.GREENTIC_ENV, tenant, team: 'default', channel: 'webchat' }, session);
  const inChannel = await runInDurableObject(channel, (_o, state) => largestRow(state.storage.sql));
  const inConversation = await runInDurableObject(webchatConversation(testEnv, tenant, s.conversationId), (_o, state) =>
    largestRow(state.storage.sql),
  );
  return { inChannel, inConversation };
}

describe('WebChat size and nesting limits, end to end', () => {
  it('a body of exactly the limit, all of it text, reaches the bot whole; one byte more is 413 naming the limit and stores nothing', async () => {
    const digest = await seedPack('lim-text', '1.0.0', [ECHO_FLOW('bot')]);
    await activate('lim-text', 'lim-text', digest);
    const s = await startConversation('lim-text');
    const body = activityOfSize(MAX_ACTIVITY_BYTES, (pad) => ({
      type: 'message',
      from: { id: 'u1' },
      text: pad,
      channelData: { clientActivityID: 'big-text' },
    }));
    const res = await post('lim-text', s.conversationId, s.token, body);
    expect(res.status).toBe(200);
    const { id } = await json<{ id: string }>(res);
    const sent = (JSON.parse(body) as { text: string }).text;
    expect(await botRepliesTo('lim-text', s, id)).toEqual([`bot: ${sent}`]);
    const rows = await largestRows('lim-text', s);
    expect(rows.inChannel.bytes).toBeLessThan(DO_ROW_LIMIT_BYTES);
    expect(rows.inConversation.bytes).toBeLessThan(DO_ROW_LIMIT_BYTES);

    const before = await log('lim-text', s);
    const over = activityOfSize(MAX_ACTIVITY_BYTES + 1, (pad) => ({ type: 'message', from: { id: 'u1' }, text: pad }));
    const refused = await post('lim-text', s.conversationId, s.token, over);
    expect(refused.status).toBe(413);
    const error = (await json<{ error: { code: string; message: string } }>(refused)).error;
    expect(error).toEqual({
      code: 'MessageSizeTooBig',
      message: `the activity exceeds the limit of ${MAX_ACTIVITY_BYTES} bytes (256 KiB)`,
    });
    expect(await log('lim-text', s)).toEqual(before);
  });

  it('a card submit whose value fills the limit resumes the parked flow, and every row it leaves (snapshot, echo) stays under 2 MB', async () => {
    const digest = await seedPack('lim-card', '1.0.0', [FORM_FLOW]);
    await activate('lim-card', 'lim-card', digest);
    const s = await startConversation('lim-card');
    // Starting the conversation ran the flow (its welcome), which asks for the form and parks.
    const welcome = await until(async () => {
      const texts = (await log('lim-card', s)).map((a) => a.text);
      return texts.length > 0 ? texts : undefined;
    }, 'the welcome');
    expect(welcome).toEqual(['Send the form']);

    // A postBack as WebChat sends it: the value's fields are copied into metadata too, so the
    // envelope holds the note twice, and the parked run's snapshot holds the envelope twice.
    const body = activityOfSize(MAX_ACTIVITY_BYTES, (pad) => ({
      type: 'message',
      from: { id: 'u1' },
      value: { action: 'send', note: pad },
      channelData: { postBack: true, clientActivityID: 'big-card' },
    }));
    const res = await post('lim-card', s.conversationId, s.token, body);
    expect(res.status).toBe(200);
    const { id } = await json<{ id: string }>(res);
    expect(await botRepliesTo('lim-card', s, id)).toEqual(['Got send']);
    const rows = await largestRows('lim-card', s);
    expect(rows.inChannel.table).toBe('waits');
    expect(rows.inChannel.bytes).toBeGreaterThan(2 * MAX_ACTIVITY_BYTES);
    expect(rows.inChannel.bytes).toBeLessThan(DO_ROW_LIMIT_BYTES);
    expect(rows.inConversation.bytes).toBeLessThan(DO_ROW_LIMIT_BYTES);
  });

  it('a card value nested 100,000 levels deep is refused with 400 naming the depth limit and where, and nothing is stored', async () => {
    const s = await startConversation('lim-deep');
    const depth = 100_000;
    const body = `{"type":"message","from":{"id":"u1"},"value":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const res = await post('lim-deep', s.conversationId, s.token, body);
    expect(res.status).toBe(400);
    const error = (await json<{ error: { code: string; message: string } }>(res)).error;
    expect(error.code).toBe('BadArgument');
    expect(error.message).toContain(`deeper than ${MAX_ACTIVITY_DEPTH} levels at /value/0/0/`);
    expect(await log('lim-deep', s)).toEqual([]);
  });

  it('an activity nested exactly to the depth limit is accepted', async () => {
    const s = await startConversation('lim-depth-ok');
    // The activity is one level and `value` another; the rest is arrays.
    const inner = MAX_ACTIVITY_DEPTH - 2;
    const body = `{"type":"message","from":{"id":"u1"},"value":{"deep":${'['.repeat(inner)}${']'.repeat(inner)}}}`;
    const res = await post('lim-depth-ok', s.conversationId, s.token, body);
    expect(res.status).toBe(200);
    const over = `{"type":"message","from":{"id":"u1"},"value":{"deep":${'['.repeat(inner + 1)}${']'.repeat(inner + 1)}}}`;
    expect((await post('lim-depth-ok', s.conversationId, s.token, over)).status).toBe(400);
  });
});

/** The Worker with the channel object unable to take messages and the ingress queue down too. */
function handOverDown(): WorkerEnv {
  const refuse = () => Promise.reject(new Error('Durable Object is overloaded. (simulated)'));
  return {
    ...testEnv,
    CHANNEL: { idFromName: (name: string) => testEnv.CHANNEL.idFromName(name), get: () => ({ accept: refuse }) },
    INGRESS: { send: () => Promise.reject(new Error('Queue is unavailable (simulated)')), sendBatch: refuse },
  } as unknown as WorkerEnv;
}

/** What clients are shown (the RPC result's type is too deep for tsc, so it is named here). */
async function shown(stub: ReturnType<typeof webchatConversation>): Promise<ActivitySet> {
  return (await stub.activities(undefined)) as unknown as ActivitySet;
}

async function postVia(env: WorkerEnv, tenant: string, s: Started, activity: unknown): Promise<Response> {
  const request = new Request(`${directLineBase(tenant)}/conversations/${s.conversationId}/activities`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(activity),
  });
  return app.fetch(request, env, createExecutionContext());
}

describe('WebChat never keeps a half-accepted message', () => {
  it('a message the bot cannot be handed (object and queue down) answers 503 and leaves no echo; the retry makes one echo and one reply', async () => {
    const digest = await seedPack('half-pack', '1.0.0', [ECHO_FLOW('bot')]);
    await activate('half', 'half-pack', digest);
    const s = await startConversation('half');
    const activity = { type: 'message', from: { id: 'u1' }, text: 'ping', channelData: { clientActivityID: 'retry-me' } };

    const failed = await postVia(handOverDown(), 'half', s, activity);
    expect(failed.status).toBe(503);
    expect((await json<{ error: { code: string } }>(failed)).error.code).toBe('ServiceUnavailable');
    expect(await answers('half', s)).toEqual([]);

    // WebChat retries the same activity (same clientActivityID); a second retry changes nothing.
    const retried = await post('half', s.conversationId, s.token, activity);
    expect(retried.status).toBe(200);
    const { id } = await json<{ id: string }>(retried);
    expect(await botRepliesTo('half', s, id)).toEqual(['bot: ping']);
    const again = await json<{ id: string }>(await post('half', s.conversationId, s.token, activity));
    expect(again.id).toBe(id);
    await new Promise((r) => setTimeout(r, 200));
    const shown = await answers('half', s);
    expect(shown.map((a) => `${a.from?.role ?? 'user'}:${a.text}`)).toEqual(['user:ping', 'bot:bot: ping']);
    expect(shown[0]!.id).toBe(id);
  });

  it('while a message is being handed over nothing after it is shown, so the echo always comes before the reply', async () => {
    const s = await startConversation('hold');
    const stub = webchatConversation(testEnv, 'hold', s.conversationId);
    const place = (await stub.reserveUserActivity({ type: 'message', from: { id: 'u1' }, text: 'first' }))!;
    await stub.appendBotActivity('reply-1', { type: 'message', from: { id: 'bot', role: 'bot' }, text: 'reply', replyToId: place.id });
    expect(await shown(stub)).toEqual({ activities: [], watermark: '0' });

    expect(await stub.publishUserActivity(place.seq)).toBe(true);
    const set = await shown(stub);
    expect(set.activities.map((a) => a.text)).toEqual(['first', 'reply']);
    expect(set.watermark).toBe('2');
  });

  it('a withdrawn message keeps its number as a tombstone no client sees, and later activities flow past it', async () => {
    const s = await startConversation('tomb');
    const stub = webchatConversation(testEnv, 'tomb', s.conversationId);
    const place = (await stub.reserveUserActivity({ type: 'message', from: { id: 'u1' }, text: 'lost' }))!;
    await stub.appendBotActivity('later', { type: 'message', from: { id: 'bot', role: 'bot' }, text: 'later' });
    expect(await stub.withdrawUserActivity(place.seq)).toBe(true);
    const set = await shown(stub);
    expect(set.activities.map((a) => [a.id, a.text])).toEqual([[`${s.conversationId}|0000001`, 'later']]);
    expect(set.watermark).toBe('2');
    // Numbers are never reused: the bot's dedup knows messages by them.
    const next = await stub.appendUserActivity({ type: 'event', from: { id: 'u1' }, name: 'next' });
    expect(next!.id).toBe(`${s.conversationId}|0000002`);
  });

  it('a reservation whose request never came back is published by the alarm after 30 s, releasing what waited behind it', async () => {
    const s = await startConversation('stale');
    const stub = webchatConversation(testEnv, 'stale', s.conversationId);
    await stub.reserveUserActivity({ type: 'message', from: { id: 'u1' }, text: 'orphan' });
    await stub.appendBotActivity('behind', { type: 'message', from: { id: 'bot', role: 'bot' }, text: 'behind' });
    await runInDurableObject(stub, (_o, state) => {
      state.storage.sql.exec('UPDATE activities SET created_at = created_at - 31000');
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const set = await until(async () => {
      const got = await shown(stub);
      return got.activities.length === 2 ? got : undefined;
    }, 'the stale reservation published');
    expect(set.activities.map((a) => a.text)).toEqual(['orphan', 'behind']);
  });

  it('a conversation stored before echoes were reserved keeps its log: its rows are shown, and new messages go through the reservation', async () => {
    const s = await startConversation('legacy');
    const stub = webchatConversation(testEnv, 'legacy', s.conversationId);
    await runInDurableObject(stub, (_o, state) => {
      const sql = state.storage.sql;
      sql.exec('DROP TABLE activities');
      sql.exec('CREATE TABLE activities (seq INTEGER PRIMARY KEY, activity_json TEXT NOT NULL, created_at INTEGER NOT NULL)');
      const old = { type: 'message', id: `${s.conversationId}|0000000`, text: 'from before', from: { id: 'u1' } };
      sql.exec('INSERT INTO activities (seq, activity_json, created_at) VALUES (0, ?, ?)', JSON.stringify(old), Date.now());
    });
    // A new instance over the same storage, as after a deploy.
    await runInDurableObject(stub, (_o, state) => new WebchatConversation(state, testEnv));
    const res = await post('legacy', s.conversationId, s.token, { type: 'message', from: { id: 'u1' }, text: 'after' });
    expect(res.status).toBe(200);
    expect((await answers('legacy', s)).filter((a) => a.from?.role !== 'bot').map((a) => a.text)).toEqual(['from before', 'after']);
  });
});
