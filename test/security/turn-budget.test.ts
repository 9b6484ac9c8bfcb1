// The per-turn engine work budget, end to end: a webhook call or a chat message that makes a flow
// spin over a large input ends with the budget error instead of holding the object (and the
// isolate) for seconds. Assertions are on outcomes and codes, never on time.
import { SELF } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { setTelemetrySink } from '../../src/edge/telemetry.js';
import { DEFAULT_FAILURE_TEXT } from '../../src/flow/output.js';
import { channelObject, channelObjectFor, WEBHOOK_CHANNEL } from '../../src/objects.js';
import { injectedSession, RecordingEgress } from '../support/channel-session.js';
import { activate, seedPack, testEnv, webchatMessage } from '../support/runtime-fixtures.js';

beforeAll(() => {
  setTelemetrySink(() => {});
});

// Each lap prints the whole request (a large body included) for its route condition.
const SPIN_FLOW = `id: spin
type: http
nodes:
  lap:
    emit.log: { n: 1 }
    routing:
      - { condition: "in == nothing", to: lap }
      - { to: lap }
`;

const PING_FLOW = `id: ping
type: http
nodes:
  answer:
    emit.response: { text: "pong {{in.query.n}}" }
    routing: out
`;

const CHAT_SPIN_FLOW = `id: chat
type: messaging
nodes:
  lap:
    emit.log: { text: "{{in.text}}" }
    routing:
      - { condition: "in contains nothing", to: lap }
      - { to: lap }
`;

describe('turn engine budget (TURN_ENGINE_BUDGET)', () => {
  it('a webhook call that makes its flow spin over a large body ends with 500 TurnBudgetExceeded, and the service keeps answering', async () => {
    const digest = await seedPack('budget-hooks', '1.0.0', [SPIN_FLOW, PING_FLOW]);
    await activate('budget-a', 'budget-hooks', digest);
    const res = await SELF.fetch('http://runner/v1/webhook/budget-a/spin', { method: 'POST', body: 'x'.repeat(512 * 1024) });
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: string; message: string };
    expect(body.error).toBe('TurnBudgetExceeded');
    expect(body.message).toMatch(/node "lap": the turn needed more than \d+ work units of engine work/);
    expect((await SELF.fetch('http://runner/healthz')).status).toBe(200);
    // The same object and pack go on serving ordinary calls.
    const ping = await SELF.fetch('http://runner/v1/webhook/budget-a/ping?n=7');
    expect(ping.status).toBe(200);
    expect(await ping.json()).toEqual([{ text: 'pong 7' }]);
  });

  it('a chat turn that runs out replies with the flow failure text and records the budget error', async () => {
    const digest = await seedPack('budget-chat', '1.0.0', [CHAT_SPIN_FLOW]);
    await activate('budget-b', 'budget-chat', digest);
    const message = webchatMessage('budget-b', 'c1', 'y'.repeat(200 * 1024));
    const egress = new RecordingEgress();
    const result = await injectedSession(channelObjectFor(testEnv, message.envelope), { egress }).deliver(message);
    expect(result.outcome).toMatchObject({ run_status: 'failed', error_code: 'turn_budget_exceeded' });
    expect(egress.sent.map((m) => m.envelope.text)).toEqual([DEFAULT_FAILURE_TEXT]);
  });

  it('the channel object gives each turn the budget TURN_ENGINE_BUDGET names', async () => {
    const digest = await seedPack('budget-var', '1.0.0', [PING_FLOW]);
    await activate('budget-c', 'budget-var', digest);
    const stub = channelObject(
      testEnv,
      { env: testEnv.GREENTIC_ENV, tenant: 'budget-c', team: 'default', channel: WEBHOOK_CHANNEL },
      'ping',
    );
    const call = { tenant: 'budget-c', flowId: 'ping', input: { method: 'GET', path: '/', query: { n: '1' }, headers: {}, body: null } };
    const tight = injectedSession(stub, { env: { ...testEnv, TURN_ENGINE_BUDGET: '10' } });
    expect(await tight.runWebhook(call)).toMatchObject({ status: 'error', code: 'TurnBudgetExceeded' });
    const roomy = injectedSession(stub, { env: { ...testEnv, TURN_ENGINE_BUDGET: '1000' } });
    expect(await roomy.runWebhook(call)).toMatchObject({ status: 'done' });
  });
});
