import { beforeAll, describe, expect, it } from 'vitest';
import { setTelemetrySink } from '../../src/edge/telemetry.js';
import { channelObjectFor, channelObjectName, type WorkerEnv } from '../../src/objects.js';
import { injectedSession, RecordingEgress } from '../support/channel-session.js';
import { activate, SURVEY_FLOW, seedPack, testEnv, webchatMessage } from '../support/runtime-fixtures.js';

beforeAll(() => {
  setTelemetrySink(() => {});
});

describe('changing the shard count', () => {
  it('a session moved to another shard keeps its parked wait, its dedup records and its flow state', async () => {
    const digest = await seedPack('reshard-pack', '1.0.0', [SURVEY_FLOW]);
    await activate('reshard', 'reshard-pack', digest);
    const before: WorkerEnv = { ...testEnv, SESSION_SHARDS: '1' };
    const after: WorkerEnv = { ...testEnv, SESSION_SHARDS: '4', SESSION_SHARDS_PREVIOUS: '1' };
    const first = webchatMessage('reshard', 'c', 'start');
    const oldStub = channelObjectFor(before, first.envelope);
    const newStub = channelObjectFor(after, first.envelope);
    const address = { env: testEnv.GREENTIC_ENV, tenant: 'reshard', team: 'default', channel: 'webchat' };
    expect(channelObjectName(address, first.envelope.session_id, 4)).not.toBe(channelObjectName(address, first.envelope.session_id, 1));

    const oldEgress = new RecordingEgress();
    const old = injectedSession(oldStub, { env: before, egress: oldEgress });
    expect((await old.deliver(first)).outcome.run_status).toBe('waiting');
    await old.sql((db) => db.exec("INSERT INTO state (scope, key, value, updated_at) VALUES ('s', 'counter', '7', 0)"));

    const egress = new RecordingEgress();
    const moved = injectedSession(newStub, { env: after, egress });
    // The provider retries the first message: the new shard knows it was processed.
    const retried = await moved.deliver(first);
    expect(retried.outcome).toMatchObject({ run_status: 'waiting', seq: 1 });
    expect(egress.sent).toEqual([]);
    // The next message resumes the run parked on the old shard.
    const next = await moved.deliver(webchatMessage('reshard', 'c', 'Ada'));
    expect(next.outcome).toMatchObject({ run_status: 'done', resumed: true });
    expect(egress.sent.map((m) => m.envelope.text)).toEqual(['Hello Ada']);
    expect(await moved.sql((db) => db.exec('SELECT value FROM state WHERE key = ?', 'counter').toArray())).toEqual([{ value: '7' }]);
    // The old shard no longer holds the session (a later switch back would not resurrect it).
    expect(await old.sessionInfo(first.envelope.session_id)).toBeNull();
  });
});
