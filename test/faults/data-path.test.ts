// Reliability of the reply path (`npm run test:faults`): each case breaks one step between the
// provider's POST and the reply on the wire, and asserts that nothing is lost and nothing is
// duplicated. "Reset" means the object's instance is gone with whatever it held in memory; a new
// instance over the same storage (as the platform starts after a reset) takes over from the alarm.
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { adminApi } from '../../src/admin/admin-api.js';
import { packUploadPipeline } from '../../src/admin/pack-ingest.js';
import { EgressSendError } from '../../src/bus/delivery.js';
import { ingest } from '../../src/bus/ingress.js';
import type { ActivitySet } from '../../src/channels/webchat/conversation.js';
import { setTelemetrySink } from '../../src/edge/telemetry.js';
import { channelObjectFor, type WorkerEnv } from '../../src/objects.js';
import { buildPack } from '../../src/pack/builder.js';
import type { FlowEngine } from '../../src/session/flow-engine.js';
import { TransientTurnError } from '../../src/session/flow-engine.js';
import { injectedSession, RecordingEgress } from '../support/channel-session.js';
import { componentPackSource, ECHOER_MANIFEST } from '../support/pack-sources.js';
import { activate, ECHO_FLOW, seedPack, testEnv, webchatMessage } from '../support/runtime-fixtures.js';
import { until } from '../support/until.js';
import { getActivities, json, type Started, startQuietConversation } from '../support/webchat-client.js';

beforeAll(() => {
  setTelemetrySink(() => {});
});

const AUTH = { authorization: 'Bearer test-admin-token' };

/**
 * An engine whose turns never finish: the instance running it is as good as reset. The resolvers
 * are kept so the runtime cannot tell the promises will never settle (it would reject them).
 */
const parked: unknown[] = [];
const hangingEngine: FlowEngine = {
  start: () => new Promise((resolve) => parked.push(resolve)),
  resume: () => new Promise((resolve) => parked.push(resolve)),
};

/** An engine whose turns always fail the way storage outages do. */
const failingEngine: FlowEngine = {
  start: async () => {
    throw new TransientTurnError('PackStorageUnavailable', 'R2 is down');
  },
  resume: async () => {
    throw new TransientTurnError('PackStorageUnavailable', 'R2 is down');
  },
};

async function echoTenant(tenant: string): Promise<void> {
  const digest = await seedPack(`${tenant}-pack`, '1.0.0', [ECHO_FLOW(tenant)]);
  await activate(tenant, `${tenant}-pack`, digest);
}

const texts = (egress: RecordingEgress) => egress.sent.map((m) => m.envelope.text);

/** The bot's messages in a conversation, once there is one (the queue consumer takes about a second). */
async function botTexts(tenant: string, started: Started): Promise<string[]> {
  return until<string[]>(
    async () => {
      const log = (await json<ActivitySet>(await getActivities(tenant, started.conversationId, started.token))).activities;
      const bot = log.filter((a) => a.from?.role === 'bot').map((a) => String(a.text ?? ''));
      return bot.length > 0 ? bot : undefined;
    },
    `a bot reply in ${started.conversationId}`,
    20_000,
  );
}

describe('faults on the reply path: nothing lost, nothing duplicated', () => {
  it('accept answers once the message is durable in the inbox, before its turn has run', async () => {
    await echoTenant('f-accept');
    const msg = webchatMessage('f-accept', 'c', 'ping');
    const held = injectedSession(channelObjectFor(testEnv, msg.envelope), { engine: hangingEngine });
    expect(await held.accept(msg)).toMatchObject({ status: 'accepted', idempotency_key: msg.idempotency_key });
    expect(await held.sql((db) => db.exec('SELECT idempotency_key FROM inbox').toArray())).toEqual([
      { idempotency_key: msg.idempotency_key },
    ]);
    expect(await held.accept(msg)).toMatchObject({ status: 'duplicate' });
  });

  it('the object reset between the inbox write and the turn: the alarm runs the turn once', async () => {
    await echoTenant('f-reset-in');
    const msg = webchatMessage('f-reset-in', 'c', 'ping');
    const stub = channelObjectFor(testEnv, msg.envelope);
    const lost = new RecordingEgress();
    await injectedSession(stub, { engine: hangingEngine, egress: lost }).accept(msg);

    const egress = new RecordingEgress();
    const restarted = injectedSession(stub, { egress });
    expect(await restarted.runAlarm()).toBe(true);
    await restarted.idle();
    expect(texts(egress)).toEqual(['f-reset-in: ping']);
    expect((await restarted.deliver(msg)).status).toBe('duplicate');
    await restarted.runAlarm();
    expect(egress.sent).toHaveLength(1);
    expect(lost.sent).toHaveLength(0);
  });

  it('the object reset between the turn commit and the delivery: the alarm delivers the reply once', async () => {
    await echoTenant('f-reset-out');
    const msg = webchatMessage('f-reset-out', 'c', 'ping');
    const stub = channelObjectFor(testEnv, msg.envelope);
    const lost = new RecordingEgress();
    lost.hangNext();
    const first = injectedSession(stub, { egress: lost });
    await first.accept(msg);
    await until(() => first.sql((db) => (db.exec('SELECT seq FROM inbox').toArray().length === 0 ? true : undefined)), 'the commit');

    const egress = new RecordingEgress();
    const restarted = injectedSession(stub, { egress });
    expect(await restarted.runAlarm()).toBe(true);
    expect(texts(egress)).toEqual(['f-reset-out: ping']);
    await restarted.runAlarm();
    expect((await restarted.deliver(msg)).status).toBe('duplicate');
    expect(egress.sent).toHaveLength(1);
  });

  it('R2 failing during pack load: the turn is retried by the alarm and runs once when R2 is back', async () => {
    await echoTenant('f-r2');
    const msg = webchatMessage('f-r2', 'c', 'ping');
    const stub = channelObjectFor(testEnv, msg.envelope);
    const brokenR2 = new Proxy(testEnv.PACKS, {
      get(target, prop, receiver) {
        if (prop === 'get') return async () => Promise.reject(new Error('R2 unavailable (simulated)'));
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const down = new RecordingEgress();
    await expect(injectedSession(stub, { egress: down, env: { ...testEnv, PACKS: brokenR2 } }).deliver(msg)).rejects.toThrow(
      /PackStorageUnavailable/,
    );
    expect(down.sent).toHaveLength(0);

    const egress = new RecordingEgress();
    const recovered = injectedSession(stub, { egress });
    expect(await recovered.runAlarm()).toBe(true);
    await recovered.idle();
    expect(texts(egress)).toEqual(['f-r2: ping']);
    expect(egress.deadLetters).toHaveLength(0);
  });

  it('D1 failing during pack load: the turn is retried by the alarm and runs once when D1 is back', async () => {
    await echoTenant('f-d1');
    const msg = webchatMessage('f-d1', 'c', 'ping');
    const stub = channelObjectFor(testEnv, msg.envelope);
    const brokenD1 = {
      prepare() {
        throw new Error('D1_ERROR: database unavailable (simulated)');
      },
    } as unknown as D1Database;
    await expect(
      injectedSession(stub, { egress: new RecordingEgress(), env: { ...testEnv, PACK_INDEX: brokenD1 } }).deliver(msg),
    ).rejects.toThrow(/PackIndexUnavailable/);

    const egress = new RecordingEgress();
    const recovered = injectedSession(stub, { egress });
    expect(await recovered.runAlarm()).toBe(true);
    await recovered.idle();
    expect(texts(egress)).toEqual(['f-d1: ping']);
  });

  it('the conversation object unavailable at delivery: the reply waits in the outbox and lands once', async () => {
    await echoTenant('f-conv');
    const started = await startQuietConversation('f-conv');
    const msg = webchatMessage('f-conv', started.conversationId, 'ping');
    const stub = channelObjectFor(testEnv, msg.envelope);
    const unreachable = {
      idFromName: (name: string) => testEnv.WEBCHAT.idFromName(name),
      get: () => ({
        appendBotActivity: async () => Promise.reject(new Error('Network connection lost. (simulated)')),
      }),
    } as unknown as WorkerEnv['WEBCHAT'];
    const first = injectedSession(stub, { env: { ...testEnv, WEBCHAT: unreachable } });
    expect((await first.deliver(msg)).outcome.run_status).toBe('done');
    const unsent = await first.sql((db) => db.exec<{ attempts: number }>('SELECT attempts FROM outbox WHERE sent_at IS NULL').toArray());
    expect(unsent).toEqual([{ attempts: 1 }]);

    const restarted = injectedSession(stub, {});
    expect(await restarted.runAlarm()).toBe(true);
    await restarted.runAlarm();
    const log = (await json<ActivitySet>(await getActivities('f-conv', started.conversationId, started.token))).activities;
    expect(log.filter((a) => a.from?.role === 'bot').map((a) => a.text)).toEqual(['f-conv: ping']);
  });

  it('the object overloaded at ingress: the message goes on the ingress queue and is processed once', async () => {
    await echoTenant('f-overload');
    const started = await startQuietConversation('f-overload');
    const overloaded = {
      idFromName: (name: string) => testEnv.CHANNEL.idFromName(name),
      get: () => ({
        accept: async () => Promise.reject(Object.assign(new Error('Durable Object is overloaded. (simulated)'), { overloaded: true })),
      }),
    } as unknown as WorkerEnv['CHANNEL'];
    const input = webchatMessage('f-overload', started.conversationId, 'ping').envelope;
    const taken = await ingest({ ...testEnv, CHANNEL: overloaded }, input);
    expect(taken.via).toBe('queue');

    // The queue consumer hands it to the object; the reply reaches the conversation once.
    expect(await botTexts('f-overload', started)).toEqual(['f-overload: ping']);
    const again = await ingest(testEnv, input);
    expect(again).toMatchObject({ via: 'object', result: { status: 'duplicate' } });
  });

  it('a message too large for a queue message overflows through R2 and its parked body is removed once handed over', async () => {
    await echoTenant('f-big');
    const started = await startQuietConversation('f-big');
    const overloaded = {
      idFromName: (name: string) => testEnv.CHANNEL.idFromName(name),
      get: () => ({ accept: async () => Promise.reject(new Error('Durable Object reset because its code was updated. (simulated)')) }),
    } as unknown as WorkerEnv['CHANNEL'];
    const big = 'x'.repeat(120 * 1024);
    const input = webchatMessage('f-big', started.conversationId, big).envelope;
    expect((await ingest({ ...testEnv, CHANNEL: overloaded }, input)).via).toBe('queue');
    expect((await testEnv.PACKS.list({ prefix: 'ingress-overflow/' })).objects).toHaveLength(1);

    expect(await botTexts('f-big', started)).toEqual([`f-big: ${big}`]);
    await until(
      async () => ((await testEnv.PACKS.list({ prefix: 'ingress-overflow/' })).objects.length === 0 ? true : undefined),
      'R2 cleanup',
    );
  });

  it('10 concurrent duplicates of one message: one turn, one reply', async () => {
    await echoTenant('f-dup');
    const msg = webchatMessage('f-dup', 'c', 'ping');
    const egress = new RecordingEgress();
    const session = injectedSession(channelObjectFor(testEnv, msg.envelope), { egress });
    const results = await Promise.all(Array.from({ length: 10 }, () => session.accept(structuredClone(msg))));
    expect(results.filter((r) => r.status === 'accepted')).toHaveLength(1);
    await session.idle();
    expect(texts(egress)).toEqual(['f-dup: ping']);
  });

  it('50 concurrent messages of one session: every one runs, in arrival order', async () => {
    await echoTenant('f-order');
    const messages = Array.from({ length: 50 }, (_, i) => webchatMessage('f-order', 'c', `m${i}`));
    const egress = new RecordingEgress();
    const session = injectedSession(channelObjectFor(testEnv, messages[0]!.envelope), { egress });
    await Promise.all(messages.map((m) => session.accept(m)));
    await session.idle();
    expect(texts(egress)).toEqual(messages.map((_, i) => `f-order: m${i}`));
  });
});

describe('retries and dead letters', () => {
  it("a reply the provider refuses with 429 waits for the provider's Retry-After", async () => {
    await echoTenant('f-429');
    const msg = webchatMessage('f-429', 'c', 'ping');
    const egress = new RecordingEgress();
    egress.failNext(new EgressSendError('RateLimited', 'HTTP 429', true, 120));
    const session = injectedSession(channelObjectFor(testEnv, msg.envelope), { egress });
    const before = Date.now();
    await session.deliver(msg);
    const [row] = await session.sql((db) =>
      db
        .exec<{ next_attempt_at: number; last_error: string }>('SELECT next_attempt_at, last_error FROM outbox WHERE sent_at IS NULL')
        .toArray(),
    );
    expect(row!.next_attempt_at - before).toBeGreaterThanOrEqual(120_000);
    expect(row!.next_attempt_at - Date.now()).toBeLessThanOrEqual(120_000);
    expect(row!.last_error).toMatch(/RateLimited/);
    await session.runAlarm();
    expect(texts(egress)).toEqual(['f-429: ping']);
  });

  it('a reply that keeps failing is dead-lettered with the message intact after 8 attempts and leaves the outbox', async () => {
    await echoTenant('f-dlq-out');
    const msg = webchatMessage('f-dlq-out', 'c', 'ping');
    const egress = new RecordingEgress();
    egress.failNext('provider down', 8);
    const session = injectedSession(channelObjectFor(testEnv, msg.envelope), { egress });
    await session.deliver(msg);
    for (let i = 0; i < 7; i++) await session.runAlarm();
    expect(egress.sent).toHaveLength(0);
    expect(egress.deadLetters).toHaveLength(1);
    expect(egress.deadLetters[0]).toMatchObject({ source: 'egress', attempts: 8, message: { in_reply_to: msg.idempotency_key } });
    expect(await session.sql((db) => db.exec('SELECT id FROM outbox WHERE sent_at IS NULL').toArray())).toEqual([]);
  });

  it('a reply its sender refuses for good is dead-lettered at once', async () => {
    await echoTenant('f-dlq-now');
    const msg = webchatMessage('f-dlq-now', 'c', 'ping');
    const egress = new RecordingEgress();
    egress.failNext(new EgressSendError('NoConversation', 'no such conversation', false));
    const session = injectedSession(channelObjectFor(testEnv, msg.envelope), { egress });
    await session.deliver(msg);
    expect(egress.deadLetters.map((d) => [d.source, d.reason, d.attempts])).toEqual([['egress', 'NoConversation', 1]]);
  });

  it('a message no pack takes is dead-lettered at once and the user is told', async () => {
    const msg = webchatMessage('f-nopack', 'c', 'ping');
    const egress = new RecordingEgress();
    const session = injectedSession(channelObjectFor(testEnv, msg.envelope), { egress });
    await expect(session.deliver(msg)).rejects.toThrow(/NoActivePack/);
    expect(egress.deadLetters.map((d) => [d.source, d.reason])).toEqual([['ingress', 'NoActivePack']]);
    expect(egress.deadLetters[0]!.message).toEqual(msg);
    // No pack will take it on a retry either: upstream's generic failure text, and its kind for the channel's error card.
    expect(texts(egress)).toEqual(['Sorry, something went wrong while handling your message. Please try again later.']);
    expect(egress.sent[0]!.envelope.metadata.error_kind).toBe('NoActivePack');
    expect(await session.sql((db) => db.exec('SELECT seq FROM inbox').toArray())).toEqual([]);

    // Replayed once a pack is active, it runs; its reply keys do not collide with the notice's.
    await echoTenant('f-nopack');
    expect(await session.accept(msg, { replay: true })).toMatchObject({ status: 'accepted' });
    await session.idle();
    expect(texts(egress)).toContain('f-nopack: ping');
  });

  it('a turn that keeps failing is retried with backoff, then dead-lettered, and the user is told', async () => {
    const msg = webchatMessage('f-transient', 'c', 'ping');
    const egress = new RecordingEgress();
    const session = injectedSession(channelObjectFor(testEnv, msg.envelope), { egress, engine: failingEngine });
    await seedPack('f-transient-pack', '1.0.0', [ECHO_FLOW('x')]).then((d) => activate('f-transient', 'f-transient-pack', d));
    await expect(session.deliver(msg)).rejects.toThrow(/PackStorageUnavailable/);
    const [row] = await session.sql((db) =>
      db.exec<{ attempts: number; next_attempt_at: number }>('SELECT attempts, next_attempt_at FROM inbox').toArray(),
    );
    expect(row!.attempts).toBe(1);
    expect(row!.next_attempt_at).toBeGreaterThan(Date.now());
    for (let i = 0; i < 4; i++) await session.runAlarm();
    expect(egress.deadLetters.map((d) => [d.reason, d.attempts])).toEqual([['PackStorageUnavailable', 5]]);
    expect(texts(egress)).toEqual(['Sorry, your message could not be handled (PackStorageUnavailable). Please try again later.']);
    expect(await session.sql((db) => db.exec('SELECT seq FROM inbox').toArray())).toEqual([]);
  });
});

describe('faults inside a component turn', () => {
  const fixtures = inject('componentFixtures');
  const nodeWasm = Uint8Array.from(atob(fixtures.node), (c) => c.charCodeAt(0));
  const flow = (op: string) => `id: main
type: messaging
nodes:
  call:
    component.exec:
      component: echoer
      operation: ${op}
      input: { text: "{{in.text}}" }
    routing: [ { to: answer } ]
  answer:
    emit.response: { text: "done" }
    routing: out
`;

  async function componentTenant(tenant: string, op: string): Promise<void> {
    const app = adminApi(() => packUploadPipeline);
    const source = componentPackSource({
      packId: `${tenant}-pack`,
      wasm: nodeWasm,
      manifest: ECHOER_MANIFEST,
      flowId: 'main',
      flow: flow(op),
    });
    const res = await app.request('http://x/packs', { method: 'POST', headers: AUTH, body: buildPack(source).bytes }, testEnv);
    expect(res.status).toBe(201);
    const { digest } = (await res.json()) as { digest: string };
    const put = await app.request(
      `http://x/tenants/${tenant}/packs/${tenant}-pack`,
      { method: 'PUT', headers: AUTH, body: JSON.stringify({ digest }) },
      testEnv,
    );
    expect(put.status).toBe(200);
  }

  for (const [what, op, code] of [
    ['a component trap', 'trap', 'trap'],
    ['a CPU timeout', 'loop', 'timeout'],
  ] as const) {
    it(`${what} mid-turn: the run fails once, the user gets one answer, a redelivery does not run it again`, async () => {
      const tenant = `f-${op}`;
      await componentTenant(tenant, op);
      const msg = webchatMessage(tenant, 'c', 'ping');
      const egress = new RecordingEgress();
      const session = injectedSession(channelObjectFor(testEnv, msg.envelope), { egress });
      const result = await session.deliver(msg);
      expect(result.outcome).toMatchObject({ run_status: 'failed' });
      expect(result.outcome.error_code).toContain(code);
      expect(egress.sent).toHaveLength(1);
      expect((await session.deliver(msg)).status).toBe('duplicate');
      await session.runAlarm();
      expect(egress.sent).toHaveLength(1);
      expect(egress.deadLetters).toHaveLength(0);
      expect(await session.sql((db) => db.exec('SELECT seq FROM inbox').toArray())).toEqual([]);
    });
  }
});

describe('concurrency inside a channel object', () => {
  it("a session whose turn is waiting does not hold up the channel's other sessions", async () => {
    await echoTenant('f-overlap');
    const slow = webchatMessage('f-overlap', 'slow', 'slow one');
    const quick = webchatMessage('f-overlap', 'quick', 'quick one');
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Both sessions share one object (one shard); the slow session's turn waits on the gate.
    const engine: FlowEngine = {
      start: async (turn, input) => {
        if (JSON.stringify(input).includes('slow one')) await gate;
        return { status: 'done', output: { text: `${turn.ctx.session_id}` } };
      },
      resume: async () => ({ status: 'done', output: null }),
    };
    const egress = new RecordingEgress();
    const session = injectedSession(channelObjectFor(testEnv, slow.envelope), { egress, engine });
    await session.accept(slow);
    await session.accept(quick);
    await until(() => (egress.sent.length === 1 ? true : undefined), 'the quick session reply');
    expect(egress.sent[0]!.envelope.session_id).toBe(quick.envelope.session_id);
    release();
    await session.idle();
    expect(egress.sent.map((m) => m.envelope.session_id)).toEqual([quick.envelope.session_id, slow.envelope.session_id]);
  });
});
