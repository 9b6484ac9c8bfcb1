import { SELF } from 'cloudflare:test';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  cardReply,
  echoTenant,
  expectRefused,
  FakeProviders,
  hmacHex,
  ingressUrl,
  json,
  nextAttemptAt,
  providerMessage,
  providerSession,
  type RecordedLetter,
  retryUntilDeadLettered,
} from '../../../test/support/fake-providers.js';
import { testEnv } from '../../../test/support/runtime-fixtures.js';
import { until } from '../../../test/support/until.js';
import { upstreamPackJson } from '../../../test/support/upstream-packs.js';
import { setTelemetrySink } from '../../edge/telemetry.js';
import { slackMessage } from './blocks.js';
import { verifySlackRequest } from './ingress.js';

// Adaptive Cards of the upstream helpdesk-itsm pack, read from the fixture archive.
const welcomeCard = await upstreamPackJson('helpdesk-itsm', 'assets/cards/welcome.json');

// channels.md §1.3 and §1.6: the official test vector and the fixtures.
const OFFICIAL_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const OFFICIAL_BODY =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const DM_FIXTURE = JSON.stringify({
  token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl',
  team_id: 'T024BE7LD',
  context_team_id: 'T024BE7LD',
  api_app_id: 'A0KRD7HC3',
  event: {
    type: 'message',
    channel: 'D0PNCRP9N',
    channel_type: 'im',
    user: 'U2147483697',
    text: 'book a table for two',
    ts: '1763980800.000200',
    event_ts: '1763980800.000200',
    client_msg_id: '5f0c1a52-3d1e-4b8e-9d61-1c2b3a4d5e6f',
    team: 'T024BE7LD',
  },
  type: 'event_callback',
  event_id: 'Ev08MFMKH6',
  event_time: 1763980800,
  authorizations: [{ enterprise_id: null, team_id: 'T024BE7LD', user_id: 'U07BOT0001', is_bot: true, is_enterprise_install: false }],
  is_ext_shared_channel: false,
});
const BUTTON_FIXTURE = {
  type: 'block_actions',
  user: { id: 'U2147483697', username: 'ada', name: 'ada', team_id: 'T024BE7LD' },
  api_app_id: 'A0KRD7HC3',
  token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl',
  container: { type: 'message', message_ts: '1763980805.000300', channel_id: 'D0PNCRP9N', is_ephemeral: false },
  trigger_id: '8002146245461.2024139755.0c0a9c2f4b5e6d7e8f9a0b1c2d3e4f50',
  team: { id: 'T024BE7LD', domain: 'acme' },
  enterprise: null,
  is_enterprise_install: false,
  channel: { id: 'D0PNCRP9N', name: 'directmessage' },
  message: { type: 'message', user: 'U07BOT0001', bot_id: 'B07BOT0001', ts: '1763980805.000300', text: 'Confirm the booking?' },
  state: { values: {} },
  response_url: 'https://hooks.slack.com/actions/T024BE7LD/8002146245462/Xq3bVtq9n1Lk0PzGm7aY2wEr',
  actions: [
    {
      action_id: 'confirm',
      block_id: 'booking',
      type: 'button',
      value: 'booking:42:yes',
      text: { type: 'plain_text', text: 'Confirm', emoji: true },
      action_ts: '1763980810.123456',
    },
  ],
};
const POST_MESSAGE = 'https://slack.com/api/chat.postMessage';
const BOT_TOKEN = 'xoxb-test-token';

let fake: FakeProviders;

beforeAll(() => setTelemetrySink(() => {}));
beforeEach(() => {
  fake = new FakeProviders().install().on(POST_MESSAGE, () => json({ ok: true, channel: 'D0PNCRP9N', ts: '1763980900.000100' }));
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function slackTenant(tenant: string): Promise<void> {
  await echoTenant(tenant, { 'slack/signing_secret': OFFICIAL_SECRET, 'slack/bot_token': BOT_TOKEN });
}

async function post(
  tenant: string,
  body: string,
  opts: { ts?: number; secret?: string; type?: string; headers?: Record<string, string> } = {},
) {
  const ts = String(opts.ts ?? Math.floor(Date.now() / 1000));
  const signature = `v0=${await hmacHex(opts.secret ?? OFFICIAL_SECRET, `v0:${ts}:${body}`)}`;
  return SELF.fetch(ingressUrl('slack', tenant), {
    method: 'POST',
    headers: {
      'content-type': opts.type ?? 'application/json',
      'x-slack-request-timestamp': ts,
      'x-slack-signature': signature,
      ...opts.headers,
    },
    body,
  });
}

const replies = () => fake.to(POST_MESSAGE).map((r) => JSON.parse(r.body) as Record<string, unknown>);

describe('Slack request signature (v0)', () => {
  it("accepts Slack's official test vector at its own timestamp", async () => {
    const headers = new Headers({
      'x-slack-request-timestamp': '1531420618',
      'x-slack-signature': 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
    });
    expect(await verifySlackRequest(headers, OFFICIAL_SECRET, new TextEncoder().encode(OFFICIAL_BODY), 1531420618_000)).toBeUndefined();
  });

  it('the DM fixture signs to the documented value, and the retry fixture 3 s later too', async () => {
    expect(await hmacHex(OFFICIAL_SECRET, `v0:1763980800:${DM_FIXTURE}`)).toBe(
      '036fc2459673df6e5a45457c44c76badf526616752eca3b60dc596e67b1c445c',
    );
    const headers = new Headers({
      'x-slack-request-timestamp': '1763980803',
      'x-slack-signature': 'v0=5316289aea839460d666c3c7533946f45921e990e26bc070f10443de6abb5f5d',
    });
    expect(await verifySlackRequest(headers, OFFICIAL_SECRET, new TextEncoder().encode(DM_FIXTURE), 1763980803_000)).toBeUndefined();
  });

  it('a replayed Slack timestamp older than 5 minutes is rejected with 401', async () => {
    const headers = new Headers({
      'x-slack-request-timestamp': '1531420618',
      'x-slack-signature': 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
    });
    const res = await verifySlackRequest(headers, OFFICIAL_SECRET, new TextEncoder().encode(OFFICIAL_BODY), (1531420618 + 301) * 1000);
    expect(res?.status).toBe(401);
    expect(await res?.json()).toMatchObject({ error: 'StaleTimestamp' });
  });
});

describe('Slack ingress → flow → chat.postMessage', () => {
  it('a signed DM runs the flow and Slack receives the exact chat.postMessage', async () => {
    await slackTenant('slack-dm');
    const res = await post('slack-dm', DM_FIXTURE);
    expect(res.status).toBe(200);
    await until(() => (replies().length > 0 ? true : undefined), 'the reply to reach Slack');
    const [sent] = fake.to(POST_MESSAGE);
    expect(sent!.headers.authorization).toBe(`Bearer ${BOT_TOKEN}`);
    expect(sent!.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(sent!.body)).toEqual({
      channel: 'D0PNCRP9N',
      text: 'echo: book a table for two',
      unfurl_links: false,
      metadata: { event_type: 'greentic_reply', event_payload: { intent_id: expect.stringMatching(/^slack:Ev08MFMKH6/) } },
    });
  });

  it('a retry (X-Slack-Retry-Num) of the same event_id gets 200 and no second reply', async () => {
    await slackTenant('slack-retry');
    expect((await post('slack-retry', DM_FIXTURE)).status).toBe(200);
    const retry = await post('slack-retry', DM_FIXTURE, { headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } });
    expect(retry.status).toBe(200);
    await until(() => (replies().length > 0 ? true : undefined), 'the reply');
    // A later message's reply arriving proves the channel object finished with the duplicate.
    await post('slack-retry', DM_FIXTURE.replace('Ev08MFMKH6', 'Ev08MFMKH7').replace('book a table', 'later'));
    await until(() => (replies().length > 1 ? true : undefined), 'the later reply');
    expect(replies().map((r) => r.text)).toEqual(['echo: book a table for two', 'echo: later for two']);
  });

  it('url_verification is answered with its challenge', async () => {
    await slackTenant('slack-verify');
    const res = await post(
      'slack-verify',
      JSON.stringify({ token: 't', challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P', type: 'url_verification' }),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' });
  });

  it('wrong signature, stale timestamp, malformed JSON and an oversized body are refused and run no flow', async () => {
    await slackTenant('slack-bad');
    const wrong = await post('slack-bad', DM_FIXTURE, { secret: 'not-the-secret' });
    await expectRefused(wrong, 401, 'InvalidSignature');
    const stale = await post('slack-bad', DM_FIXTURE, { ts: Math.floor(Date.now() / 1000) - 301 });
    await expectRefused(stale, 401, 'StaleTimestamp');
    const unsigned = await SELF.fetch(ingressUrl('slack', 'slack-bad'), { method: 'POST', body: DM_FIXTURE });
    expect(unsigned.status).toBe(401);
    const malformed = await post('slack-bad', '{"type":"event_callback",');
    await expectRefused(malformed, 400, 'MalformedBody');
    const huge = await post('slack-bad', JSON.stringify({ type: 'event_callback', pad: 'x'.repeat(1024 * 1024) }));
    expect(huge.status).toBe(413);
    // The next valid message's reply is the only one: none of the refused requests ran a flow.
    await post('slack-bad', DM_FIXTURE.replace('Ev08MFMKH6', 'EvGOOD0001'));
    await until(() => (replies().length > 0 ? true : undefined), 'the valid reply');
    expect(replies().map((r) => r.text)).toEqual(['echo: book a table for two']);
  });

  it("the bot's own messages and edits are answered 200 and reach no flow", async () => {
    await slackTenant('slack-self');
    const mine = JSON.parse(DM_FIXTURE) as { event: Record<string, unknown>; event_id: string };
    mine.event.user = 'U07BOT0001';
    mine.event_id = 'EvSELF0001';
    expect((await post('slack-self', JSON.stringify(mine))).status).toBe(200);
    const edited = JSON.parse(DM_FIXTURE) as { event: Record<string, unknown>; event_id: string };
    edited.event.subtype = 'message_changed';
    edited.event_id = 'EvEDIT0001';
    expect((await post('slack-self', JSON.stringify(edited))).status).toBe(200);
    await post('slack-self', DM_FIXTURE);
    await until(() => (replies().length > 0 ? true : undefined), 'the reply to the person');
    expect(replies()).toHaveLength(1);
  });

  it('a button click (block_actions, form-encoded) reaches the flow as a card submit', async () => {
    await slackTenant('slack-click');
    const body = new URLSearchParams({ payload: JSON.stringify(BUTTON_FIXTURE) }).toString();
    const res = await post('slack-click', body, { type: 'application/x-www-form-urlencoded' });
    expect(res.status).toBe(200);
    await until(() => (replies().length > 0 ? true : undefined), 'the reply to the click');
    expect(replies()[0]).toMatchObject({ channel: 'D0PNCRP9N', text: 'echo: booking:42:yes' });
  });
});

describe('Slack egress retries', () => {
  it('a 429 with Retry-After is waited out, then the reply is delivered once', async () => {
    await slackTenant('slack-429');
    fake.script(POST_MESSAGE, () => json({ ok: false, error: 'ratelimited' }, 429, { 'retry-after': '7' }));
    const session = providerSession(providerMessage('slack', 'slack-429', 'Ev429', 'D0PNCRP9N', 'hello'));
    const before = Date.now();
    await session.deliver(providerMessage('slack', 'slack-429', 'Ev429', 'D0PNCRP9N', 'hello'));
    expect((await nextAttemptAt(session)) - before).toBeGreaterThanOrEqual(7_000);
    expect(await session.runAlarm()).toBe(true);
    expect(replies().map((r) => r.text)).toEqual(['echo: hello', 'echo: hello']);
    expect(await nextAttemptAt(session)).toBeNull();
  });

  it('an ok:false error Slack calls transient is retried; a permanent one is dead-lettered at once', async () => {
    await slackTenant('slack-okfalse');
    fake.script(
      POST_MESSAGE,
      () => json({ ok: false, error: 'internal_error' }),
      () => json({ ok: false, error: 'channel_not_found' }),
    );
    const letters: RecordedLetter[] = [];
    const message = providerMessage('slack', 'slack-okfalse', 'EvOkFalse', 'C0GONE', 'hello');
    const session = providerSession(message, letters);
    await session.deliver(message);
    expect(letters).toEqual([]);
    await session.runAlarm();
    expect(letters).toHaveLength(1);
    expect(letters[0]!.reason).toBe('ProviderRejected');
    expect(fake.to(POST_MESSAGE)).toHaveLength(2);
  });

  it('Slack failing with 500 forever ends in the dead-letter queue with the reply intact', async () => {
    await slackTenant('slack-500');
    for (let i = 0; i < 10; i++) fake.script(POST_MESSAGE, () => new Response('upstream error', { status: 500 }));
    const letters: RecordedLetter[] = [];
    const message = providerMessage('slack', 'slack-500', 'Ev500', 'D0PNCRP9N', 'hello');
    const session = providerSession(message, letters);
    await session.deliver(message);
    await retryUntilDeadLettered(session, letters);
    expect(letters).toHaveLength(1);
    expect(letters[0]!.source).toBe('egress');
    expect(letters[0]!.message.envelope).toMatchObject({
      channel: 'slack',
      text: 'echo: hello',
      reply_scope: { conversation: 'D0PNCRP9N' },
    });
    expect(fake.to(POST_MESSAGE).length).toBe(8);
  });

  it('a send that ends without an answer is not resent: it is dead-lettered as uncertain', async () => {
    await slackTenant('slack-reset');
    fake.script(POST_MESSAGE, () => {
      throw new TypeError('Network connection lost.');
    });
    const letters: RecordedLetter[] = [];
    const message = providerMessage('slack', 'slack-reset', 'EvReset', 'D0PNCRP9N', 'hello');
    await providerSession(message, letters).deliver(message);
    expect(letters.map((l) => l.reason)).toEqual(['DeliveryUncertain']);
    expect(fake.to(POST_MESSAGE)).toHaveLength(1);
  });
});

describe('Slack card rendering', () => {
  it("an upstream pack's Adaptive Card becomes Block Kit with its buttons, whose click comes back as the card's submit", async () => {
    const content = cardReply('slack', 'slack-card', welcomeCard);
    const message = await slackMessage(testEnv, 'slack-card', content);
    expect(message.text).toContain('IT Help Desk');
    expect(message.text).toContain('🎫 Create a Ticket');
    expect(message.blocks).toContainEqual({
      type: 'image',
      image_url: 'https://img.icons8.com/fluency/96/technical-support.png',
      alt_text: 'IT Support agent icon',
    });
    expect(message.blocks).toContainEqual({ type: 'header', text: { type: 'plain_text', text: 'IT Help Desk', emoji: true } });
    const actions = message.blocks!.find((b) => b.type === 'actions') as { elements: { text: { text: string }; value: string }[] };
    expect(actions.elements.map((e) => e.text.text)).toEqual(['🎫 Create a Ticket', '🔎 My Tickets & Status', '📞 Urgent: Call Center']);
    expect(JSON.parse(actions.elements[0]!.value)).toEqual({ action_id: 'goto_create_ticket_step1', routeToCardId: 'create_ticket_step1' });

    await slackTenant('slack-card');
    const click = structuredClone(BUTTON_FIXTURE);
    click.trigger_id = 'trigger-card-1';
    click.actions[0]!.value = actions.elements[0]!.value;
    const res = await post('slack-card', new URLSearchParams({ payload: JSON.stringify(click) }).toString(), {
      type: 'application/x-www-form-urlencoded',
    });
    expect(res.status).toBe(200);
    await until(() => (replies().length > 0 ? true : undefined), 'the reply to the click');
    // upstream §H: no text, so the text is routeToCardId's value.
    expect(replies()[0]).toMatchObject({ text: 'echo: create_ticket_step1' });
  });
});
