import { createExecutionContext, createMessageBatch, getQueueResult, SELF } from 'cloudflare:test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTelemetrySink } from '../../src/edge/telemetry.js';
import { topicMatches } from '../../src/events/event-routing.js';
import { MAX_EVENT_HOPS } from '../../src/events/events-bus.js';
import { channelObjectFor, eventsObject, webchatConversation } from '../../src/objects.js';
import worker from '../../src/worker.js';
import { activate, seedPack, testEnv, webchatMessage } from '../support/runtime-fixtures.js';
import { until } from '../support/until.js';

const logs: { level: string; record: Record<string, unknown> }[] = [];
let restore: () => void = () => {};
beforeAll(() => {
  restore = setTelemetrySink((line, level) => {
    logs.push({ level, record: JSON.parse(line) as Record<string, unknown> });
  });
});
afterAll(() => restore());

const ON_EVENT = `id: on_event
type: events
nodes:
  answer:
    emit.response: { text: "got {{in.event.event_type}} n={{in.event.payload.n}} from {{in.event.source.provider}} for {{in.tenant}}/{{in.team}}" }
    routing: out
`;

const CHAT = `id: chat
type: messaging
nodes:
  hi:
    emit.response: { text: "chat saw {{in.event.event_type}}" }
    routing: out
`;

function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return SELF.fetch(`http://runner/v1/events/ingress/webhook/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

interface IngressAnswer {
  event_id: string;
  event_type: string;
  runs: { flow_id: string; status: string; output: unknown; emitted: number; replayed?: boolean }[];
}

describe('POST /v1/events/ingress/webhook/{tenant}/{team?}', () => {
  it("runs the tenant's events flow with upstream's input {event, events, tenant, team, correlation_id}", async () => {
    const digest = await seedPack('ev-basic', '1.0.0', [ON_EVENT, CHAT]);
    await activate('ev1', 'ev-basic', digest);
    const res = await post('ev1/ops', { n: 7 });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as IngressAnswer;
    expect(answer.event_type).toBe('webhook.received');
    expect(answer.runs).toHaveLength(1);
    expect(answer.runs[0]).toMatchObject({ flow_id: 'on_event', status: 'done' });
    expect(answer.runs[0]?.output).toEqual([{ text: 'got webhook.received n=7 from events.webhook for ev1/ops' }]);
  });

  it('logs and drops the messages of an event run that has no reply scope instead of sending them anywhere', async () => {
    const digest = await seedPack('ev-drop', '1.0.0', [ON_EVENT]);
    await activate('ev2', 'ev-drop', digest);
    const before = logs.length;
    expect((await post('ev2', { n: 1 })).status).toBe(200);
    const dropped = logs
      .slice(before)
      .find((l) => l.record['event'] === 'events.messages_dropped' || l.record['name'] === 'events.messages_dropped');
    expect(dropped?.level).toBe('warn');
  });

  it('falls back to the default messaging flow when no flow subscribes and there is no events flow', async () => {
    const digest = await seedPack('ev-chat', '1.0.0', [CHAT]);
    await activate('ev3', 'ev-chat', digest);
    const answer = (await (await post('ev3', {})).json()) as IngressAnswer;
    expect(answer.runs.map((r) => r.flow_id)).toEqual(['chat']);
    expect(answer.runs[0]?.output).toEqual([{ text: 'chat saw webhook.received' }]);
  });

  it('prefers flows whose subscribes_to matches the event type, running each once', async () => {
    const sub = (id: string, pattern: string) => `id: ${id}
type: events
parameters: { subscribes_to: ["${pattern}"] }
nodes:
  a:
    emit.log: { flow: ${id} }
    routing: out
`;
    const digest = await seedPack('ev-subs', '1.0.0', [ON_EVENT, sub('hooks', 'webhook.*'), sub('all', '*'), sub('orders', 'orders.*')]);
    await activate('ev4', 'ev-subs', digest);
    const answer = (await (await post('ev4', {})).json()) as IngressAnswer;
    expect(answer.runs.map((r) => r.flow_id)).toEqual(['hooks', 'all']);
  });

  it('runs an event once per event id: a repeated Idempotency-Key returns the recorded runs', async () => {
    const counter = `id: counter
type: events
nodes:
  read:
    state.get: { key: n }
    routing: [ { to: bump } ]
  bump:
    state.set: { key: n, value: "{{node.read.value}}i" }
    routing: out
`;
    const digest = await seedPack('ev-once', '1.0.0', [counter]);
    await activate('ev5', 'ev-once', digest);
    const first = (await (await post('ev5', {}, { 'Idempotency-Key': 'evt-1' })).json()) as IngressAnswer;
    const again = (await (await post('ev5', {}, { 'Idempotency-Key': 'evt-1' })).json()) as IngressAnswer;
    const other = (await (await post('ev5', {}, { 'Idempotency-Key': 'evt-2' })).json()) as IngressAnswer;
    expect(first.runs[0]?.output).toEqual({ key: 'n', value: 'i' });
    expect(again.runs[0]).toMatchObject({ replayed: true, output: { key: 'n', value: 'i' } });
    expect(other.runs[0]?.output).toEqual({ key: 'n', value: 'ii' });
  });

  it('checks an HMAC signature once the tenant sets its events_webhook_hmac secret, and only then', async () => {
    const digest = await seedPack('ev-auth', '1.0.0', [ON_EVENT]);
    await activate('ev8', 'ev-auth', digest);
    expect((await post('ev8', { n: 1 })).status).toBe(200);
    const put = await SELF.fetch('http://runner/admin/v1/tenants/ev8/secrets/events_webhook_hmac', {
      method: 'PUT',
      headers: { authorization: 'Bearer test-admin-token' },
      body: 'shared-secret',
    });
    expect(put.status).toBeLessThan(300);
    const unsigned = await post('ev8', { n: 2 });
    expect(unsigned.status).toBe(401);
    expect(await unsigned.json()).toMatchObject({ error: 'Unauthorized', message: expect.stringMatching(/X-Greentic-Signature/) });
    const body = JSON.stringify({ n: 3 });
    const key = await crypto.subtle.importKey('raw', new TextEncoder().encode('shared-secret'), { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
    ]);
    const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(body)));
    const hex = Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join('');
    const signed = await SELF.fetch('http://runner/v1/events/ingress/webhook/ev8', {
      method: 'POST',
      headers: { 'X-Greentic-Signature': `sha256=${hex}` },
      body,
    });
    expect(signed.status).toBe(200);
    const forged = await SELF.fetch('http://runner/v1/events/ingress/webhook/ev8', {
      method: 'POST',
      headers: { 'X-Greentic-Signature': `sha256=${'0'.repeat(64)}` },
      body,
    });
    expect(forged.status).toBe(401);
  });

  it('answers 404 for a tenant without packs and 400 for a body that is not JSON', async () => {
    const none = await post('ev-nobody', {});
    expect(none.status).toBe(404);
    expect(await none.json()).toMatchObject({ error: 'NoActivePack' });
    const bad = await SELF.fetch('http://runner/v1/events/ingress/webhook/ev1', { method: 'POST', body: '{nope' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'invalid_body', message: expect.stringMatching(/not JSON/) });
  });
});

describe('events emitted by flows', () => {
  it('an event emitted by one flow runs the subscribed flow once, through the events queue', async () => {
    const emitter = `id: emitter
type: events
parameters: { subscribes_to: ["webhook.received"] }
nodes:
  emit:
    emit.response: { emitted_events: [ { event_type: order.created, payload: { order: "{{in.event.payload.order}}" } } ] }
    routing: out
`;
    const onOrder = `id: on_order
type: events
parameters: { subscribes_to: ["order.*"] }
nodes:
  seen:
    emit.log: { order: "{{in.event.payload.order}}", via: "{{in.event.source.provider}}" }
    routing: out
`;
    const digest = await seedPack('ev-emit', '1.0.0', [emitter, onOrder]);
    await activate('ev6', 'ev-emit', digest);
    const answer = (await (await post('ev6', { order: 'A-1' }, { 'Idempotency-Key': 'order-evt' })).json()) as IngressAnswer;
    expect(answer.runs).toMatchObject([{ flow_id: 'emitter', emitted: 1 }]);
    // The same event again (a redelivery) publishes the emitted event again with the same id.
    await post('ev6', { order: 'A-1' }, { 'Idempotency-Key': 'order-evt' });
    const object = eventsObject(testEnv, 'ev6', 'default');
    const onOrderRuns = await until(async () => {
      const runs = (await object.recordedRuns()).filter((r) => r.outcome.flow_id === 'on_order');
      return runs.length > 0 ? runs : undefined;
    }, 'the subscribed flow to run');
    expect(onOrderRuns[0]?.outcome.output).toEqual([{ order: 'A-1', via: 'events.flow' }]);
    // Give a second delivery every chance to run it twice: a later event goes through the same queue.
    await post('ev6', { order: 'B-2' });
    await until(
      async () => ((await object.recordedRuns()).filter((r) => r.outcome.flow_id === 'on_order').length === 2 ? true : undefined),
      'B-2',
    );
    const orders = (await object.recordedRuns()).filter((r) => r.outcome.flow_id === 'on_order').map((r) => r.outcome.output);
    expect(orders).toEqual([[{ order: 'A-1', via: 'events.flow' }], [{ order: 'B-2', via: 'events.flow' }]]);
  });

  it('the events queue consumer acks a routed event and retries a body that is not an event message', async () => {
    const digest = await seedPack('ev-queue', '1.0.0', [ON_EVENT]);
    await activate('ev10', 'ev-queue', digest);
    const event = {
      event_id: 'q-1',
      event_type: 'custom.thing',
      occurred_at: new Date().toISOString(),
      source: { domain: 'events', provider: 'events.flow' },
      scope: { tenant: 'ev10' },
      payload: { n: 5 },
    };
    const batch = createMessageBatch<unknown>('greentic-events', [
      { id: 'good', timestamp: new Date(), attempts: 1, body: { v: 1, subject: 's', tenant: 'ev10', team: 'default', hop: 1, event } },
      { id: 'garbage', timestamp: new Date(), attempts: 1, body: { hello: 'world' } },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, testEnv);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual(['good']);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(['garbage']);
    const runs = await eventsObject(testEnv, 'ev10', 'default').recordedRuns();
    expect(runs.map((r) => r.outcome.output)).toEqual([[{ text: 'got custom.thing n=5 from events.flow for ev10/default' }]]);
  });

  it(`a cycle of emitted events stops after ${MAX_EVENT_HOPS} hops with a logged error`, async () => {
    const ping = `id: ping
type: events
parameters: { subscribes_to: ["webhook.received", "ping"] }
nodes:
  again:
    emit.response: { emitted_events: [ { event_type: ping } ] }
    routing: out
`;
    const digest = await seedPack('ev-cycle', '1.0.0', [ping]);
    await activate('ev7', 'ev-cycle', digest);
    const before = logs.length;
    await post('ev7', {});
    const stop = await until(
      () => logs.slice(before).find((l) => l.record['event'] === 'events.hop_limit' || l.record['name'] === 'events.hop_limit'),
      'the hop limit',
    );
    expect(stop.level).toBe('error');
    const runs = (await eventsObject(testEnv, 'ev7', 'default').recordedRuns()).filter((r) => r.outcome.flow_id === 'ping');
    // The event from outside, then one run per re-routing.
    expect(runs).toHaveLength(MAX_EVENT_HOPS + 1);
  });
});

describe('events from a chat', () => {
  it('an event emitted by a messaging turn runs its subscriber, whose message answers in the same conversation', async () => {
    const chat = `id: chat
type: messaging
nodes:
  order:
    emit.response: { text: "ordering {{in.text}}", emitted_events: [ { event_type: order.placed, payload: { item: "{{in.text}}" } } ] }
    routing: out
`;
    const confirm = `id: confirm
type: events
parameters: { subscribes_to: ["order.*"] }
nodes:
  done:
    emit.response: { text: "order for {{in.event.payload.item}} confirmed" }
    routing: out
`;
    const digest = await seedPack('ev-chat-emit', '1.0.0', [chat, confirm]);
    await activate('ev9', 'ev-chat-emit', digest);
    const conversation = webchatConversation(testEnv, 'ev9', 'conv-ev9');
    await conversation.start('ev9', 'conv-ev9', 'u1');
    const message = webchatMessage('ev9', 'conv-ev9', 'tea');
    await channelObjectFor(testEnv, message.envelope).deliver(message);
    const texts = await until(async () => {
      const set = (await conversation.activities(undefined)) as { activities: { text?: string }[] } | null;
      const found = (set?.activities ?? []).map((a) => a.text);
      return found.length >= 2 ? found : undefined;
    }, 'the chat reply and the event flow message');
    expect(texts).toEqual(['ordering tea', 'order for tea confirmed']);
  });
});

describe('topic patterns (greentic-start topic_match)', () => {
  it('matches "*", "prefix.*" (the prefix itself and its subtopics, not a longer stem) and exact types', () => {
    expect(topicMatches('*', 'a.b.c')).toBe(true);
    expect(topicMatches('subscription.*', 'subscription')).toBe(true);
    expect(topicMatches('subscription.*', 'subscription.created.v2')).toBe(true);
    expect(topicMatches('subscription.*', 'subscriptionx')).toBe(false);
    expect(topicMatches('billing.*', 'subscription.created')).toBe(false);
    expect(topicMatches('a.b', 'a.b')).toBe(true);
    expect(topicMatches('a.b', 'a.c')).toBe(false);
  });
});
