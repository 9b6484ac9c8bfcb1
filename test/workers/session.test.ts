import { beforeAll, describe, expect, it } from 'vitest';
import { setTelemetrySink } from '../../src/edge/telemetry.js';
import { channelObjectFor } from '../../src/objects.js';
import { deliverIngress, injectedSession, RecordingEgress } from '../support/channel-session.js';
import { activate, ECHO_FLOW, SURVEY_FLOW, seedPack, testEnv, webchatMessage } from '../support/runtime-fixtures.js';

beforeAll(() => {
  setTelemetrySink(() => {});
});

// Each turn appends the message text to a state entry after an awaited component call, so any
// interleaving of two turns of one session would lose or reorder an entry.
const LOG_FLOW = `id: logger
type: messaging
start: slow
nodes:
  slow:
    component.exec:
      component: slow-echo
      operation: run
      input:
        text: "{{entry.text}}"
    routing:
      - to: load
  load:
    state.get:
      key: log
    routing:
      - to: save
  save:
    state.set:
      key: log
      value: "{{node.load.value}}{{entry.text}},"
    routing: out
`;

describe('channel session: dedup, ordering, isolation', () => {
  it('10 concurrent deliveries of one event run the flow once and send one reply', async () => {
    const digest = await seedPack('dup-pack', '1.0.0', [ECHO_FLOW('dup')]);
    await activate('tenant-d', 'dup-pack', digest);
    const msg = webchatMessage('tenant-d', 'c1', 'once', 'event-42');
    const egress = new RecordingEgress();
    const session = injectedSession(channelObjectFor(testEnv, msg.envelope), { egress });
    const sent = egress.sent;

    const results = await Promise.all(Array.from({ length: 10 }, () => session.deliver(structuredClone(msg))));

    expect(results.filter((r) => r.status === 'processed')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'duplicate')).toHaveLength(9);
    expect(sent).toHaveLength(1);
    const info = await session.sessionInfo(msg.envelope.session_id);
    expect(info?.turns).toBe(1);

    // A later sequential redelivery is a duplicate too.
    expect((await session.deliver(msg)).status).toBe('duplicate');
    expect(sent).toHaveLength(1);
  });

  it('50 concurrent messages of one session run one at a time in arrival order and none is lost', async () => {
    const digest = await seedPack('log-pack', '1.0.0', [LOG_FLOW]);
    await activate('tenant-o', 'log-pack', digest);
    const messages = Array.from({ length: 50 }, (_, i) => webchatMessage('tenant-o', 'c', `m${i}`));
    const session = injectedSession(channelObjectFor(testEnv, messages[0]!.envelope), {
      invoker: () => ({
        async invoke(_target, _op, input) {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
          return { ok: true, output: input };
        },
      }),
    });
    await session.sql((sql) =>
      sql.exec("INSERT INTO state (scope, key, value, updated_at) VALUES ('dev:tenant-o:default:log-pack', 'log', '\"\"', 0)"),
    );
    // Another session of the same channel proceeds while these queue up.
    const other = webchatMessage('tenant-o', 'other', 'x');

    const [results, otherResult] = await Promise.all([Promise.all(messages.map((m) => session.deliver(m))), session.deliver(other)]);

    expect(otherResult.status).toBe('processed');
    expect(results.every((r) => r.status === 'processed' && r.outcome.run_status === 'done')).toBe(true);
    const bySeq = [...results]
      .sort((a, b) => a.outcome.seq - b.outcome.seq)
      .map((r) => messages.find((m) => m.idempotency_key === r.idempotency_key)!.envelope.text);
    const log = await session.sql((sql) =>
      JSON.parse(
        sql.exec<{ value: string }>("SELECT value FROM state WHERE key = 'log' AND scope = 'dev:tenant-o:default:log-pack'").one().value,
      ),
    );
    // The other session shares the pack-scoped log; its one entry may sit anywhere.
    expect(log.replace('x,', '')).toBe(bySeq.map((t) => `${t},`).join(''));
    expect(new Set(bySeq).size).toBe(50);
  });

  it("tenant B never sees tenant A's packs, sessions or state", async () => {
    const digestA = await seedPack('iso-a', '1.0.0', [ECHO_FLOW('A-only')]);
    await activate('iso-tenant-a', 'iso-a', digestA);
    const a = webchatMessage('iso-tenant-a', 'shared-conv', 'hello');
    const b = webchatMessage('iso-tenant-b', 'shared-conv', 'hello');
    await deliverIngress(testEnv, a);

    // B has no active pack: A's pack is not routed to B.
    await expect(deliverIngress(testEnv, b)).rejects.toThrow(/NoActivePack/);
    const stubA = channelObjectFor(testEnv, a.envelope);
    const stubB = channelObjectFor(testEnv, b.envelope);
    expect(stubA.id.toString()).not.toBe(stubB.id.toString());
    expect(await stubB.sessionInfo(a.envelope.session_id)).toBeNull();
    // An envelope for B pushed at A's object is refused, not processed.
    const refused = await (async () => stubA.deliver(b))().then(
      () => 'accepted',
      (err: Error) => err.message,
    );
    expect(refused).toMatch(/WrongChannel/);
  });
});

describe('channel session: activation, waits, egress recovery', () => {
  it('activating a new pack version switches the very next message', async () => {
    const v1 = await seedPack('switch-pack', '1.0.0', [ECHO_FLOW('v1')]);
    const v2 = await seedPack('switch-pack', '2.0.0', [ECHO_FLOW('v2')]);
    await activate('tenant-v', 'switch-pack', v1);
    const first = webchatMessage('tenant-v', 'c', 'a');
    const egress = new RecordingEgress();
    const session = injectedSession(channelObjectFor(testEnv, first.envelope), { egress });
    const sent = egress.sent;
    await session.deliver(first);
    await activate('tenant-v', 'switch-pack', v2);
    const second = await session.deliver(webchatMessage('tenant-v', 'c', 'b'));

    expect(second.outcome.pack_version).toBe('2.0.0');
    expect(sent.map((m) => m.envelope.text)).toEqual(['v1: a', 'v2: b']);
  });

  it('a wait past its TTL is dropped by the alarm and the next message starts the flow afresh', async () => {
    const digest = await seedPack('ttl-pack', '1.0.0', [SURVEY_FLOW]);
    await activate('tenant-t', 'ttl-pack', digest);
    const first = webchatMessage('tenant-t', 'c', 'start');
    const egress = new RecordingEgress();
    const session = injectedSession(channelObjectFor(testEnv, first.envelope), { egress });
    const sent = egress.sent;
    await session.deliver(first);
    await session.sql((sql) => sql.exec('UPDATE waits SET expires_at = ?', Date.now() - 1));

    expect(await session.runAlarm()).toBe(true);
    expect((await session.sessionInfo(first.envelope.session_id))?.waits).toEqual([]);
    const next = await session.deliver(webchatMessage('tenant-t', 'c', 'Ada'));

    expect(next.outcome).toMatchObject({ run_status: 'waiting', resumed: false });
    expect(sent.map((m) => m.envelope.text)).toEqual(['What is your name?', 'What is your name?']);
  });

  it('an expired wait is not resumed even before the alarm fired', async () => {
    const digest = await seedPack('ttl-pack-2', '1.0.0', [SURVEY_FLOW]);
    await activate('tenant-t2', 'ttl-pack-2', digest);
    const first = webchatMessage('tenant-t2', 'c', 'start');
    const session = injectedSession(channelObjectFor(testEnv, first.envelope), {});
    await session.deliver(first);
    await session.sql((sql) => sql.exec('UPDATE waits SET expires_at = ?', Date.now() - 1));
    const next = await session.deliver(webchatMessage('tenant-t2', 'c', 'Ada'));
    expect(next.outcome).toMatchObject({ run_status: 'waiting', resumed: false });
  });

  it('a crash between the committed run and the egress send re-sends the reply exactly once', async () => {
    const digest = await seedPack('crash-pack', '1.0.0', [ECHO_FLOW('crash')]);
    await activate('tenant-c', 'crash-pack', digest);
    const msg = webchatMessage('tenant-c', 'c', 'ping');
    const egress = new RecordingEgress();
    egress.failNext('simulated crash before the egress queue accepted the reply');
    const session = injectedSession(channelObjectFor(testEnv, msg.envelope), { egress });
    const sent = egress.sent;

    const result = await session.deliver(msg);
    expect(result.outcome.run_status).toBe('done');
    expect(sent).toHaveLength(0);

    expect(await session.runAlarm()).toBe(true);
    expect(sent.map((m) => m.envelope.text)).toEqual(['crash: ping']);
    // Redelivery of the inbound event and further alarms do not send it again.
    expect((await session.deliver(msg)).status).toBe('duplicate');
    await session.runAlarm();
    expect(sent).toHaveLength(1);
  });
});
