import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { echoTenant, FakeProviders, json, providerMessage } from '../../test/support/fake-providers.js';
import { testEnv } from '../../test/support/runtime-fixtures.js';
import { EgressSendError } from '../bus/delivery.js';
import { handleEgressBatch } from '../bus/egress.js';
import { egressMessage } from '../bus/messages.js';
import { ruleFor } from '../edge/rate-limits.js';
import { setTelemetrySink } from '../edge/telemetry.js';
import { egressSenders } from './senders.js';

const POST_MESSAGE = 'https://slack.com/api/chat.postMessage';
let fake: FakeProviders;

beforeAll(() => setTelemetrySink(() => {}));
beforeEach(() => {
  fake = new FakeProviders().install().on(POST_MESSAGE, () => json({ ok: true }));
});
afterEach(() => vi.restoreAllMocks());

function reply(tenant: string, n: number) {
  const inbound = providerMessage('slack', tenant, `Ev${n}`, 'C1', 'hi');
  return egressMessage(
    { ...inbound.envelope, id: `r${n}`, text: `reply ${n}` },
    `${inbound.idempotency_key}#0`,
    inbound.idempotency_key,
    Date.now(),
  );
}

describe('per-tenant send rate', () => {
  it("by default a tenant may send 10 messages a second in bursts of 20 (upstream's defaults)", () => {
    expect(ruleFor({ RATE_LIMITS: undefined }, 'egress', 'any')).toEqual({ limit: 20, period: 2, shards: 1 });
  });

  it("a tenant over its send rate gets a retryable failure with the wait, and other tenants' sends go on", async () => {
    await echoTenant('rate-a', { 'slack/bot_token': 'xoxb-a' });
    await echoTenant('rate-b', { 'slack/bot_token': 'xoxb-b' });
    const env = { ...testEnv, RATE_LIMITS: JSON.stringify({ defaults: { egress: { limit: 2, period: 60 } } }) };
    const slack = egressSenders.slack!;
    await slack.send(reply('rate-a', 1), env);
    await slack.send(reply('rate-a', 2), env);
    const refused = await slack.send(reply('rate-a', 3), env).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(EgressSendError);
    expect(refused).toMatchObject({ code: 'SendRateLimited', retryable: true });
    expect((refused as EgressSendError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    await slack.send(reply('rate-b', 1), env);
    expect(fake.to(POST_MESSAGE).map((r) => (JSON.parse(r.body) as { text: string }).text)).toEqual(['reply 1', 'reply 2', 'reply 1']);
  });

  it('a tenant without the provider credential fails for good, naming the secret to set', async () => {
    const refused = await egressSenders.slack!.send(reply('rate-none', 1), testEnv).catch((err: unknown) => err);
    expect(refused).toMatchObject({ code: 'ChannelNotConfigured', retryable: false, message: expect.stringContaining('slack/bot_token') });
    expect(fake.to(POST_MESSAGE)).toEqual([]);
  });
});

describe('replayed replies (the egress queue)', () => {
  it('a send whose outcome is unknown is dead-lettered at once, not retried by the queue', async () => {
    await echoTenant('replay-uncertain', { 'slack/bot_token': 'xoxb-r' });
    fake.script(POST_MESSAGE, () => {
      throw new TypeError('Network connection lost.');
    });
    const letters: unknown[] = [];
    const outcome: string[] = [];
    const body = reply('replay-uncertain', 1);
    const message = {
      id: 'q1',
      timestamp: new Date(),
      body,
      attempts: 1,
      ack: () => outcome.push('ack'),
      retry: () => outcome.push('retry'),
    } as unknown as Message<unknown>;
    const env = { ...testEnv, DEAD_LETTERS: { send: async (letter: unknown) => void letters.push(letter) } as unknown as Queue };
    await handleEgressBatch({ queue: 'greentic-egress', messages: [message] } as unknown as MessageBatch<unknown>, env, egressSenders);
    expect(outcome).toEqual(['ack']);
    expect(letters).toMatchObject([{ source: 'egress', reason: 'DeliveryUncertain', message: { envelope: { text: 'reply 1' } } }]);
    expect(fake.to(POST_MESSAGE)).toHaveLength(1);
  });
});
