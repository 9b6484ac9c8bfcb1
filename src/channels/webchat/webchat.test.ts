import { runDurableObjectAlarm, runInDurableObject, SELF } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { activate, ECHO_FLOW, seedPack, testEnv } from '../../../test/support/runtime-fixtures.js';
import { until } from '../../../test/support/until.js';
import {
  webchatBase as base,
  botRepliesTo,
  directLineBase as dl,
  getActivities,
  json,
  post,
  type Started,
  startConversation,
} from '../../../test/support/webchat-client.js';

import type { ChannelMessageEnvelope } from '../../bus/envelope.js';
import { type EgressMessage, egressMessage } from '../../bus/messages.js';
import { setTelemetrySink } from '../../edge/telemetry.js';
import { buildTenantCtx } from '../../edge/tenant-ctx.js';
import { webchatConversation } from '../../objects.js';
import type { ActivitySet, DirectLineActivity, WebchatConversation } from './conversation.js';
import { MAX_ACTIVITY_BYTES } from './directline.js';
import { BUTTONS_MIME, replyActivity, webchatEgressSender } from './sender.js';
import { mintToken } from './token.js';

const ORIGIN = 'http://127.0.0.1:8787';

beforeAll(() => {
  setTelemetrySink(() => {});
});

const event = (name: string) => ({ type: 'event', name, from: { id: 'u1' } });

/** Opens the conversation's stream and collects every ActivitySet frame. */
async function openStream(started: Started, watermark?: string): Promise<{ ws: WebSocket; frames: ActivitySet[] }> {
  const url = new URL(started.streamUrl.replace(/^ws/, 'http'));
  if (watermark !== undefined) url.searchParams.set('watermark', watermark);
  const res = await SELF.fetch(url.toString(), { headers: { Upgrade: 'websocket' } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  const frames: ActivitySet[] = [];
  ws.addEventListener('message', (e) => {
    if (typeof e.data === 'string' && e.data !== '') frames.push(JSON.parse(e.data) as ActivitySet);
  });
  ws.accept();
  return { ws, frames };
}

function reply(
  tenant: string,
  conversation: string,
  key: string,
  body: Partial<ChannelMessageEnvelope>,
  inReplyTo = 'webchat:none',
): EgressMessage {
  const envelope: ChannelMessageEnvelope = {
    id: key,
    tenant: buildTenantCtx({ env: testEnv.GREENTIC_ENV, tenant, channel: 'webchat' }),
    channel: 'webchat',
    session_id: `${tenant}:webchat:${conversation}:u1`,
    reply_scope: { conversation },
    to: [{ id: 'u1', kind: 'user' }],
    attachments: [],
    metadata: {},
    extensions: {},
    ...body,
  };
  return egressMessage(envelope, key, inReplyTo, Date.now());
}

describe('webchat facade: tokens', () => {
  it('mints a token bound to a fresh URL-safe conversation id, with CORS headers for the page', async () => {
    const res = await SELF.fetch(`${base('acme')}/token`, { method: 'POST', headers: { Origin: 'http://example.test' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://example.test');
    const body = await json<{ token: string; conversationId: string; expires_in: number; domain: string }>(res);
    expect(body.conversationId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(body.expires_in).toBeGreaterThanOrEqual(1800);
    expect(body.domain).toBe(`${ORIGIN}/v1/messaging/webchat/acme/v3/directline`);
    expect(body.token.split('.')).toHaveLength(3);
  });

  it('answers a preflight without credentials and lists the Direct Line headers', async () => {
    const res = await SELF.fetch(`${dl('acme')}/conversations`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://example.test', 'Access-Control-Request-Method': 'POST' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-headers')).toContain('x-ms-bot-agent');
    expect(res.headers.get('access-control-allow-headers')).toContain('Authorization');
  });

  it('starting twice with the same token creates the conversation once (201, then 200, same id)', async () => {
    const minted = await json<{ token: string; conversationId: string }>(
      await SELF.fetch(`${dl('acme')}/tokens/generate`, { method: 'POST' }),
    );
    const first = await SELF.fetch(`${dl('acme')}/conversations`, { method: 'POST', headers: { Authorization: `Bearer ${minted.token}` } });
    const second = await SELF.fetch(`${dl('acme')}/conversations`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${minted.token}` },
    });
    expect([first.status, second.status]).toEqual([201, 200]);
    const a = await json<Started>(first);
    const b = await json<Started>(second);
    expect(a.conversationId).toBe(minted.conversationId);
    expect(b.conversationId).toBe(minted.conversationId);
    expect(a.streamUrl).toMatch(
      new RegExp(`^ws://127\\.0\\.0\\.1:8787/v1/messaging/webchat/acme/v3/directline/conversations/${a.conversationId}/stream\\?t=`),
    );
  });

  it('refresh returns a new token for the same conversation, and the new token works', async () => {
    const started = await startConversation('acme');
    const res = await SELF.fetch(`${dl('acme')}/tokens/refresh`, { method: 'POST', headers: { Authorization: `Bearer ${started.token}` } });
    expect(res.status).toBe(200);
    const refreshed = await json<{ conversationId: string; token: string }>(res);
    expect(refreshed.conversationId).toBe(started.conversationId);
    expect((await getActivities('acme', started.conversationId, refreshed.token)).status).toBe(200);
  });

  it('an expired token is answered 403 TokenExpired; a forged or missing one 401', async () => {
    const started = await startConversation('acme');
    const { token: expired } = await mintToken('test-webchat-secret', 'acme', started.conversationId, Math.floor(Date.now() / 1000) - 3600);
    const res = await getActivities('acme', started.conversationId, expired);
    expect(res.status).toBe(403);
    expect(await json<{ error: { code: string } }>(res)).toEqual({ error: { code: 'TokenExpired', message: expect.any(String) } });

    const { token: forged } = await mintToken('another-secret', 'acme', started.conversationId);
    expect((await getActivities('acme', started.conversationId, forged)).status).toBe(401);
    const refresh = await SELF.fetch(`${dl('acme')}/tokens/refresh`, { method: 'POST', headers: { Authorization: 'Bearer undefined' } });
    expect(refresh.status).toBe(401);
    expect(refresh.headers.get('access-control-allow-origin')).toBe('*');
  });
});

describe('webchat facade: isolation', () => {
  it("a token for tenant A neither reads nor writes tenant B's conversations", async () => {
    const a = await startConversation('tenant-a');
    const b = await startConversation('tenant-b');
    expect((await getActivities('tenant-b', b.conversationId, a.token)).status).toBe(403);
    expect((await post('tenant-b', b.conversationId, a.token, event('x'))).status).toBe(403);
    // Same conversation id under the other tenant's path is still denied: the token names its tenant.
    expect((await getActivities('tenant-b', a.conversationId, a.token)).status).toBe(403);
    const start = await SELF.fetch(`${dl('tenant-b')}/conversations`, { method: 'POST', headers: { Authorization: `Bearer ${a.token}` } });
    expect(start.status).toBe(403);
  });

  it("a token for conversation X neither reads nor writes conversation Y, nor opens Y's stream", async () => {
    const x = await startConversation('acme');
    const y = await startConversation('acme');
    expect((await getActivities('acme', y.conversationId, x.token)).status).toBe(403);
    expect((await post('acme', y.conversationId, x.token, event('x'))).status).toBe(403);
    expect(
      (await SELF.fetch(`${dl('acme')}/conversations/${y.conversationId}?watermark=`, { headers: { Authorization: `Bearer ${x.token}` } }))
        .status,
    ).toBe(403);
    const ws = await SELF.fetch(`${dl('acme')}/conversations/${y.conversationId}/stream?t=${encodeURIComponent(x.token)}`, {
      headers: { Upgrade: 'websocket' },
    });
    expect(ws.status).toBe(403);
    expect(await json<ActivitySet>(await getActivities('acme', y.conversationId, y.token))).toEqual({ activities: [], watermark: '0' });
  });

  it('an unknown conversation is 404 on resume, polling and posting', async () => {
    const minted = await json<{ token: string; conversationId: string }>(await SELF.fetch(`${base('acme')}/token`, { method: 'POST' }));
    const auth = { Authorization: `Bearer ${minted.token}` };
    expect((await SELF.fetch(`${dl('acme')}/conversations/${minted.conversationId}?watermark=`, { headers: auth })).status).toBe(404);
    expect((await getActivities('acme', minted.conversationId, minted.token)).status).toBe(404);
    expect((await post('acme', minted.conversationId, minted.token, event('x'))).status).toBe(404);
  });
});

describe('webchat facade: activities', () => {
  it('numbers echoes per conversation and pages them by watermark', async () => {
    const s = await startConversation('acme');
    const ids: string[] = [];
    for (const name of ['a', 'b', 'c']) {
      const res = await post('acme', s.conversationId, s.token, { ...event(name), channelData: { clientActivityID: `client-${name}` } });
      expect(res.status).toBe(200);
      ids.push((await json<{ id: string }>(res)).id);
    }
    expect(ids).toEqual([0, 1, 2].map((n) => `${s.conversationId}|000000${n}`));

    const all = await json<ActivitySet>(await getActivities('acme', s.conversationId, s.token, ''));
    expect(all.watermark).toBe('3');
    expect(all.activities.map((a) => a.name)).toEqual(['a', 'b', 'c']);
    const echo = all.activities[0]!;
    expect(echo).toMatchObject({
      id: ids[0],
      channelId: 'directline',
      conversation: { id: s.conversationId },
      from: { id: 'u1' },
      channelData: { clientActivityID: 'client-a' },
    });
    expect(echo.timestamp).toMatch(/Z$/);
    const stamps = all.activities.map((a) => Date.parse(a.timestamp!));
    expect([...stamps].sort((p, q) => p - q)).toEqual(stamps);

    const tail = await json<ActivitySet>(await getActivities('acme', s.conversationId, s.token, '2'));
    expect(tail).toMatchObject({ watermark: '3', activities: [{ id: ids[2] }] });
    const none = await json<ActivitySet>(await getActivities('acme', s.conversationId, s.token, '3'));
    expect(none).toEqual({ activities: [], watermark: '3' });
  });

  it('a re-sent client activity (same clientActivityID) is stored once and keeps its id', async () => {
    const s = await startConversation('acme');
    const activity = { ...event('once'), channelData: { clientActivityID: 'retry-1' } };
    const first = await json<{ id: string }>(await post('acme', s.conversationId, s.token, activity));
    const again = await json<{ id: string }>(await post('acme', s.conversationId, s.token, activity));
    expect(again.id).toBe(first.id);
    expect((await json<ActivitySet>(await getActivities('acme', s.conversationId, s.token))).activities).toHaveLength(1);
  });

  it('rejects malformed activities with a 400 JSON error and bodies over the size limit with 413', async () => {
    const s = await startConversation('acme');
    for (const bad of [
      '{not json',
      JSON.stringify({ type: 'message', text: 'no sender' }),
      JSON.stringify({ from: { id: 'u1' }, text: 'no type' }),
      JSON.stringify([1, 2]),
    ]) {
      const res = await post('acme', s.conversationId, s.token, bad);
      expect(res.status).toBe(400);
      expect(await json<{ error: { code: string } }>(res)).toMatchObject({ error: { code: 'BadArgument' } });
    }
    const huge = JSON.stringify({ type: 'message', from: { id: 'u1' }, text: 'x'.repeat(MAX_ACTIVITY_BYTES) });
    const res = await post('acme', s.conversationId, s.token, huge);
    expect(res.status).toBe(413);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect((await json<ActivitySet>(await getActivities('acme', s.conversationId, s.token))).activities).toHaveLength(0);
  });

  it('an idle conversation expires after the retention period (30 days) and then answers 404; an active one is kept', async () => {
    const idle = await startConversation('acme');
    const active = await startConversation('acme');
    for (const s of [idle, active]) await post('acme', s.conversationId, s.token, event('x'));
    const idleStub = webchatConversation(testEnv, 'acme', idle.conversationId);
    await runInDurableObject(idleStub, (instance: WebchatConversation, state) => {
      const old = Date.now() - 31 * 24 * 3600 * 1000;
      state.storage.sql.exec('UPDATE activities SET created_at = ?', old);
      state.storage.sql.exec('UPDATE meta SET created_at = ?', old);
      expect(instance.openSockets()).toBe(0);
    });
    expect(await runDurableObjectAlarm(idleStub)).toBe(true);
    expect(await runDurableObjectAlarm(webchatConversation(testEnv, 'acme', active.conversationId))).toBe(true);
    expect((await getActivities('acme', idle.conversationId, idle.token)).status).toBe(404);
    expect((await json<ActivitySet>(await getActivities('acme', active.conversationId, active.token))).activities).toHaveLength(1);
  });

  it('resume (GET conversation) returns conversationId, a fresh token and a stream URL carrying the watermark', async () => {
    const s = await startConversation('acme');
    const res = await SELF.fetch(`${dl('acme')}/conversations/${s.conversationId}?watermark=4`, {
      headers: { Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/json' },
    });
    expect(res.status).toBe(200);
    const body = await json<Started>(res);
    expect(body.conversationId).toBe(s.conversationId);
    expect(body.token).toEqual(expect.any(String));
    expect(body.streamUrl).toContain('&watermark=4');
  });
});

describe('webchat facade: WebSocket stream and egress', () => {
  it('replays history on connect, then delivers bot replies in order and exactly once per egress key', async () => {
    const s = await startConversation('acme');
    await post('acme', s.conversationId, s.token, event('before-socket'));
    const { ws, frames } = await openStream(s);
    await until(() => (frames.length >= 1 ? true : undefined), 'the replay frame');
    expect(frames[0]).toMatchObject({ watermark: '1', activities: [{ name: 'before-socket' }] });

    const first = reply('acme', s.conversationId, 'turn-1#0', { text: 'one' }, `webchat:${s.conversationId}|0000000`);
    const second = reply('acme', s.conversationId, 'turn-1#1', { text: 'two' });
    await webchatEgressSender.send(first, testEnv);
    await webchatEgressSender.send(first, testEnv); // queue redelivery
    await webchatEgressSender.send(second, testEnv);
    await webchatEgressSender.send(second, testEnv);

    await until(() => (frames.length >= 3 ? true : undefined), 'two live frames');
    await new Promise((r) => setTimeout(r, 100));
    const live = frames.slice(1).flatMap((f) => f.activities);
    expect(live.map((a) => a.text)).toEqual(['one', 'two']);
    expect(frames.slice(1).map((f) => f.watermark)).toEqual(['2', '3']);
    expect(live[0]).toMatchObject({
      type: 'message',
      from: { role: 'bot' },
      recipient: { id: 'u1' },
      replyToId: `${s.conversationId}|0000000`,
    });
    expect(live[1]!.replyToId).toBeUndefined();
    ws.close();

    // A reconnect from watermark 2 replays only what came after.
    const again = await openStream(s, '2');
    await until(() => (again.frames.length >= 1 ? true : undefined), 'the reconnect replay');
    expect(again.frames[0]!.activities.map((a) => a.text)).toEqual(['two']);
    again.ws.close();
  });

  it('a posted message travels the real queues to the flow and its reply arrives on the socket after the echo', async () => {
    const digest = await seedPack('webchat-echo', '1.0.0', [ECHO_FLOW('bot')]);
    await activate('tenant-e2e', 'webchat-echo', digest);
    const s = await startConversation('tenant-e2e');
    const { ws, frames } = await openStream(s);
    const res = await post('tenant-e2e', s.conversationId, s.token, {
      type: 'message',
      from: { id: 'u1' },
      text: 'ping',
      channelData: { clientActivityID: 'c-1' },
    });
    const { id } = await json<{ id: string }>(res);
    // The conversation's welcome (the flow's answer to its autoStart) answers no user activity.
    const activities = () => frames.flatMap((f) => f.activities).filter((a) => a.from?.role !== 'bot' || a.replyToId !== undefined);
    const botReply = await until(() => activities().find((a) => a.from?.role === 'bot'), 'the bot reply on the socket', 30_000);
    expect(botReply).toMatchObject({ text: 'bot: ping', replyToId: id });
    expect(activities().map((a) => a.id)).toEqual([id, botReply.id]);
    ws.close();
  });

  it('fans out to every open socket of the conversation, and only of that conversation', async () => {
    const s = await startConversation('acme');
    const other = await startConversation('acme');
    const tab1 = await openStream(s);
    const tab2 = await openStream(s);
    const stranger = await openStream(other);
    await webchatEgressSender.send(reply('acme', s.conversationId, 'fan#0', { text: 'hello both' }), testEnv);
    for (const tab of [tab1, tab2]) {
      await until(() => tab.frames.flatMap((f) => f.activities).find((a) => a.text === 'hello both'), 'the fan-out');
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(stranger.frames.flatMap((f) => f.activities)).toEqual([]);
    for (const t of [tab1, tab2, stranger]) t.ws.close();
  });

  it('renders Adaptive Cards as attachments and button attachments as suggested actions', async () => {
    const s = await startConversation('acme');
    const card = {
      type: 'AdaptiveCard',
      version: '1.5',
      body: [{ type: 'TextBlock', text: 'Pick' }],
      actions: [{ type: 'Action.Submit', title: 'OK', data: { action: 'ok' } }],
    };
    await webchatEgressSender.send(
      reply('acme', s.conversationId, 'card#0', {
        text: 'Choose',
        attachments: [
          { mime_type: 'application/vnd.microsoft.card.adaptive', content: card },
          { mime_type: BUTTONS_MIME, content: [{ title: 'Yes', payload: 'yes' }, 'No'] },
        ],
      }),
      testEnv,
    );
    const [activity] = (await json<ActivitySet>(await getActivities('acme', s.conversationId, s.token))).activities as [DirectLineActivity];
    expect(activity.attachments).toEqual([{ contentType: 'application/vnd.microsoft.card.adaptive', content: card }]);
    expect(activity.suggestedActions).toEqual({
      actions: [
        { type: 'imBack', title: 'Yes', value: 'yes' },
        { type: 'imBack', title: 'No', value: 'No' },
      ],
      to: ['u1'],
    });
  });
});

describe('webchat egress: what a reply envelope shows', () => {
  it('a failure answer (metadata.error_kind) carries a "Something went wrong" card with the kind, never the internal message', () => {
    const activity = replyActivity(
      reply('acme', 'c', 'fail#0', {
        text: 'Sorry, something went wrong while handling your message. Please try again later.',
        metadata: { error_kind: 'flow_execution_failed', error_message: 'node "x" failed: secret path /internal' },
      }),
    );
    expect(activity.text).toBe('Sorry, something went wrong while handling your message. Please try again later.');
    expect(JSON.stringify(activity.attachments)).toContain('Something went wrong');
    expect(JSON.stringify(activity.attachments)).toContain('flow_execution_failed');
    expect(JSON.stringify(activity)).not.toContain('/internal');
  });

  it('Direct Line keys an output passed through (channelData, suggestedActions, speak, inputHint) reach the activity', () => {
    const activity = replyActivity(
      reply('acme', 'c', 'dl#0', {
        text: 'pick',
        extensions: {
          channel_data: { theme: 'dark' },
          suggested_actions: { actions: [{ type: 'imBack', title: 'A', value: 'a' }] },
          speak: 'pick one',
          input_hint: 'expectingInput',
        },
      }),
    );
    expect(activity).toMatchObject({
      channelData: { theme: 'dark' },
      suggestedActions: { actions: [{ type: 'imBack', title: 'A', value: 'a' }] },
      speak: 'pick one',
      inputHint: 'expectingInput',
    });
  });
});

const CARD_FLOW = `id: card
type: messaging
start: show
nodes:
  show:
    emit.response:
      text: "Pick one"
      adaptive_card:
        type: AdaptiveCard
        version: "1.5"
        body: [{ type: TextBlock, text: "Pick" }]
        actions:
          - { type: Action.Submit, title: Tea, data: { action: tea } }
          - { type: Action.Submit, title: Coffee, data: { action: coffee, size: large } }
    routing:
      - to: choose
  choose:
    var.set:
      name: picked
      value: "yes"
    routing:
      - condition: response.action == "tea"
        to: tea
      - condition: response.action == "coffee"
        to: coffee
  tea:
    emit.response:
      text: "Tea it is"
    routing: out
  coffee:
    emit.response:
      text: "A {{entry.size}} coffee"
    routing: out
`;

describe('webchat facade: card submit routing', () => {
  it('a card submit posted by the client arrives as `value`, routes the parked flow on response.action, and the reply lands in the conversation', async () => {
    const digest = await seedPack('card-pack', '1.0.0', [CARD_FLOW]);
    await activate('tenant-card', 'card-pack', digest);
    const s = await startConversation('tenant-card');

    // Each POST hands the message to the channel object, which runs the turn and appends the
    // bot's replies to the conversation.
    const turn = async (activity: Record<string, unknown>): Promise<string[]> => {
      const { id } = await json<{ id: string }>(await post('tenant-card', s.conversationId, s.token, activity));
      return botRepliesTo('tenant-card', s, id);
    };

    // Starting the conversation ran the flow (its autoStart welcome): the card is already there.
    const welcome = await until(async () => {
      const log = (await json<ActivitySet>(await getActivities('tenant-card', s.conversationId, s.token))).activities;
      return log.length > 0 ? log : undefined;
    }, 'the welcome');
    expect(welcome.map((a) => a.text)).toEqual(['Pick one']);
    expect(await turn({ type: 'message', from: { id: 'u1' }, value: { action: 'coffee', size: 'large' } })).toEqual(['A large coffee']);

    const log = (await json<ActivitySet>(await getActivities('tenant-card', s.conversationId, s.token))).activities;
    expect(log.map((a) => (a.from?.role === 'bot' ? `bot:${a.text}` : `user:${a.text ?? JSON.stringify(a.value)}`))).toEqual([
      'bot:Pick one',
      'user:{"action":"coffee","size":"large"}',
      'bot:A large coffee',
    ]);
    expect(log[0]!.attachments).toMatchObject([
      { contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard' } },
    ]);
    expect(log[2]!.replyToId).toBe(log[1]!.id);
  });
});
