import { describe, expect, it } from 'vitest';
import { channelObjectFor } from '../../src/objects.js';
import { injectedSession, RecordingEgress } from '../support/channel-session.js';
import { activate, ECHO_FLOW, SURVEY_FLOW, seedPack, testEnv, webchatMessage } from '../support/runtime-fixtures.js';

describe('channel session runtime', () => {
  it("a message for tenant A runs A's active pack and yields a reply on the egress bus", async () => {
    const digest = await seedPack('echo-pack', '1.0.0', [ECHO_FLOW('A')]);
    await activate('tenant-a', 'echo-pack', digest);
    const msg = webchatMessage('tenant-a', 'conv-1', 'hi there');
    const egress = new RecordingEgress();
    const session = injectedSession(channelObjectFor(testEnv, msg.envelope), { egress });
    const sent = egress.sent;

    const result = await session.deliver(msg);

    expect(result.status).toBe('processed');
    expect(result.outcome).toMatchObject({ run_status: 'done', pack_id: 'echo-pack', pack_version: '1.0.0', flow_id: 'echo' });
    expect(sent).toHaveLength(1);
    expect(sent[0]!.envelope.text).toBe('A: hi there');
    expect(sent[0]!.subject).toBe('greentic.messaging.egress.dev.tenant-a.default.webchat');
    expect(sent[0]!.in_reply_to).toBe(msg.idempotency_key);
    expect(sent[0]!.envelope.to).toEqual([{ id: 'u1', kind: 'user' }]);
  });

  it('a multi-turn flow pauses on session.wait and the next message of the session resumes it', async () => {
    const digest = await seedPack('survey-pack', '1.0.0', [SURVEY_FLOW]);
    await activate('tenant-s', 'survey-pack', digest);
    const first = webchatMessage('tenant-s', 'c', 'start');
    const stub = channelObjectFor(testEnv, first.envelope);
    const egress = new RecordingEgress();
    const session = injectedSession(stub, { egress });
    const sent = egress.sent;

    const r1 = await session.deliver(first);
    expect(r1.outcome.run_status).toBe('waiting');
    expect(sent.map((m) => m.envelope.text)).toEqual(['What is your name?']);
    const parked = await stub.sessionInfo(first.envelope.session_id);
    expect(parked?.waits).toHaveLength(1);

    const r2 = await session.deliver(webchatMessage('tenant-s', 'c', 'Ada'));
    expect(r2.outcome).toMatchObject({ run_status: 'done', resumed: true });
    expect(sent.map((m) => m.envelope.text)).toEqual(['What is your name?', 'Hello Ada']);
    expect((await stub.sessionInfo(first.envelope.session_id))?.waits).toEqual([]);
  });
});
