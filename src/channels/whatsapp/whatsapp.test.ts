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
  providerMessage,
  providerSession,
  type RecordedLetter,
  retryUntilDeadLettered,
} from '../../../test/support/fake-providers.js';
import { testEnv } from '../../../test/support/runtime-fixtures.js';
import { until } from '../../../test/support/until.js';
import { upstreamPackJson } from '../../../test/support/upstream-packs.js';
import { setTelemetrySink } from '../../edge/telemetry.js';
import { whatsappContent } from './interactive.js';

// Adaptive Cards of the upstream helpdesk-itsm pack, read from the fixture archive.
const welcomeCard = await upstreamPackJson('helpdesk-itsm', 'assets/cards/welcome.json');
const stepOneCard = await upstreamPackJson('helpdesk-itsm', 'assets/cards/create_ticket_step1.json');

// channels.md §4.6.
const APP_SECRET = 'test-app-secret';
const VERIFY_TOKEN = 'verify-me-123';
const ACCESS_TOKEN = 'EAAG-test-token';
const MESSAGES = 'https://graph.facebook.com/v25.0/106540352242922/messages';
const TEXT_MESSAGE = {
  from: '16505551234',
  id: 'wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUJDMDEyMzQ1Njc4OUFCQ0RFRgA=',
  timestamp: '1763980800',
  type: 'text',
  text: { body: 'book a table for two' },
};
const BUTTON_REPLY = {
  context: { from: '15550783881', id: 'wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA' },
  from: '16505551234',
  id: 'wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUJDMDEyMzQ1Njc4OUFCQ0RFMQA=',
  timestamp: '1763980812',
  type: 'interactive',
  interactive: { type: 'button_reply', button_reply: { id: 'booking:42:yes', title: 'Confirm' } },
};
const STATUS = {
  id: 'wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA',
  status: 'delivered',
  timestamp: '1763980806',
  recipient_id: '16505551234',
  biz_opaque_callback_data: 'intent:7c1e',
};

function notification(value: Record<string, unknown>): string {
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340398',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' },
              ...value,
            },
          },
        ],
      },
    ],
  });
}
const TEXT_FIXTURE = notification({ contacts: [{ profile: { name: 'Ada Lovelace' }, wa_id: '16505551234' }], messages: [TEXT_MESSAGE] });

let fake: FakeProviders;
beforeAll(() => setTelemetrySink(() => {}));
beforeEach(() => {
  fake = new FakeProviders()
    .install()
    .on(MESSAGES, () =>
      json({ messaging_product: 'whatsapp', contacts: [{ input: '16505551234', wa_id: '16505551234' }], messages: [{ id: 'wamid.OUT' }] }),
    );
});
afterEach(() => vi.restoreAllMocks());

const whatsappTenant = (tenant: string) =>
  echoTenant(tenant, { 'whatsapp/app_secret': APP_SECRET, 'whatsapp/verify_token': VERIFY_TOKEN, 'whatsapp/access_token': ACCESS_TOKEN });

async function post(tenant: string, body: string, secret = APP_SECRET) {
  return SELF.fetch(ingressUrl('whatsapp', tenant), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${await hmacHex(secret, body)}` },
    body,
  });
}

const sent = () => fake.to(MESSAGES).map((r) => JSON.parse(r.body) as Record<string, unknown>);
const textsSent = () => sent().map((b) => (b.text as { body: string } | undefined)?.body);

describe('WhatsApp webhook verification', () => {
  it('the GET handshake answers the bare challenge for our verify token, 403 for another', async () => {
    await whatsappTenant('wa-verify');
    const ok = await SELF.fetch(
      `${ingressUrl('whatsapp', 'wa-verify')}?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=verify-me-123`,
    );
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('1158201444');
    const wrong = await SELF.fetch(
      `${ingressUrl('whatsapp', 'wa-verify')}?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=nope`,
    );
    expect(wrong.status).toBe(403);
  });

  it('the text fixture is signed as documented', async () => {
    expect(new TextEncoder().encode(TEXT_FIXTURE).byteLength).toBe(488);
    expect(await hmacHex(APP_SECRET, TEXT_FIXTURE)).toBe('0a8cd52269aa2189fd82d740bbdc399a5edebf863733318b78b546882563bbf9');
  });
});

describe('WhatsApp ingress → flow → /messages', () => {
  it('a signed text message runs the flow and WhatsApp receives the exact /messages request', async () => {
    await whatsappTenant('wa-text');
    expect((await post('wa-text', TEXT_FIXTURE)).status).toBe(200);
    await until(() => (sent().length > 0 ? true : undefined), 'the reply');
    const [req] = fake.to(MESSAGES);
    expect(req!.headers.authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
    expect(JSON.parse(req!.body)).toEqual({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '16505551234',
      type: 'text',
      text: { preview_url: false, body: 'echo: book a table for two' },
      biz_opaque_callback_data: expect.stringMatching(/^whatsapp:wamid\./),
    });
  });

  it('the same delivery re-sent hours later is answered 200 and replied to once', async () => {
    await whatsappTenant('wa-dup');
    expect((await post('wa-dup', TEXT_FIXTURE)).status).toBe(200);
    expect((await post('wa-dup', TEXT_FIXTURE)).status).toBe(200);
    await post('wa-dup', notification({ messages: [{ ...TEXT_MESSAGE, id: 'wamid.LATER', text: { body: 'later' } }] }));
    await until(() => (sent().length > 1 ? true : undefined), 'the later reply');
    expect(textsSent()).toEqual(['echo: book a table for two', 'echo: later']);
  });

  it('several messages in one delivery are each handled once, in order; statuses are ignored', async () => {
    await whatsappTenant('wa-batch');
    const batch = notification({
      messages: [
        { ...TEXT_MESSAGE, id: 'wamid.ONE', text: { body: 'one' } },
        { ...TEXT_MESSAGE, id: 'wamid.TWO', text: { body: 'two' } },
      ],
      statuses: [STATUS],
    });
    expect((await post('wa-batch', batch)).status).toBe(200);
    await until(() => (sent().length > 1 ? true : undefined), 'both replies');
    expect((await post('wa-batch', notification({ statuses: [STATUS] }))).status).toBe(200);
    await post('wa-batch', notification({ messages: [{ ...TEXT_MESSAGE, id: 'wamid.THREE', text: { body: 'three' } }] }));
    await until(() => (sent().length > 2 ? true : undefined), 'the third reply');
    expect(textsSent()).toEqual(['echo: one', 'echo: two', 'echo: three']);
  });

  it('an interactive button reply reaches the flow as a card submit', async () => {
    await whatsappTenant('wa-button');
    await post('wa-button', notification({ messages: [BUTTON_REPLY] }));
    await until(() => (sent().length > 0 ? true : undefined), 'the reply to the button');
    expect(textsSent()).toEqual(['echo: booking:42:yes']);
  });

  it('a wrong signature, malformed JSON and an oversized body are refused and run no flow', async () => {
    await whatsappTenant('wa-bad');
    const wrong = await post('wa-bad', TEXT_FIXTURE, 'another-secret');
    await expectRefused(wrong, 401, 'InvalidSignature');
    const unsigned = await SELF.fetch(ingressUrl('whatsapp', 'wa-bad'), { method: 'POST', body: TEXT_FIXTURE });
    expect(unsigned.status).toBe(401);
    const malformed = await post('wa-bad', '{"object":"whatsapp_business_account","entry":[');
    await expectRefused(malformed, 400, 'MalformedBody');
    const huge = await post('wa-bad', JSON.stringify({ object: 'whatsapp_business_account', entry: [], pad: 'x'.repeat(3 * 1024 * 1024) }));
    expect(huge.status).toBe(413);
    await post('wa-bad', notification({ messages: [{ ...TEXT_MESSAGE, id: 'wamid.GOOD' }] }));
    await until(() => (sent().length > 0 ? true : undefined), 'the valid reply');
    expect(sent()).toHaveLength(1);
  });
});

describe('WhatsApp egress', () => {
  it('a throttling error code (131056, no Retry-After) is retried, and the reply is delivered once', async () => {
    await whatsappTenant('wa-throttle');
    fake.script(MESSAGES, () =>
      json(
        {
          error: {
            message: '(#131056) (Business Account, Consumer Account) pair rate limit hit',
            type: 'OAuthException',
            code: 131056,
            fbtrace_id: 'x',
          },
        },
        400,
      ),
    );
    const message = providerMessage('whatsapp', 'wa-throttle', 'wamid.T', '106540352242922:16505551234', 'hello');
    const session = providerSession(message);
    await session.deliver(message);
    expect(textsSent()).toEqual(['echo: hello']);
    await session.runAlarm();
    expect(textsSent()).toEqual(['echo: hello', 'echo: hello']);
  });

  it('a 429 then 200 delivers once after the wait', async () => {
    await whatsappTenant('wa-429');
    fake.script(MESSAGES, () => json({ error: { message: 'rate', code: 4 } }, 429, { 'retry-after': '3' }));
    const message = providerMessage('whatsapp', 'wa-429', 'wamid.R', '106540352242922:16505551234', 'hello');
    const session = providerSession(message);
    await session.deliver(message);
    await session.runAlarm();
    expect(fake.to(MESSAGES)).toHaveLength(2);
  });

  it('a closed 24-hour window (131047) is permanent: dead-lettered at once with the reply intact', async () => {
    await whatsappTenant('wa-131047');
    fake.script(MESSAGES, () => json({ error: { message: '(#131047) Re-engagement message', type: 'OAuthException', code: 131047 } }, 400));
    const letters: RecordedLetter[] = [];
    const message = providerMessage('whatsapp', 'wa-131047', 'wamid.W', '106540352242922:16505551234', 'hello');
    await providerSession(message, letters).deliver(message);
    expect(letters.map((l) => l.reason)).toEqual(['ProviderRejected']);
    expect(letters[0]!.message.envelope.text).toBe('echo: hello');
  });

  it('WhatsApp failing with 500 forever ends in the dead-letter queue with the reply intact', async () => {
    await whatsappTenant('wa-500');
    for (let i = 0; i < 10; i++)
      fake.script(MESSAGES, () => new Response('{"error":{"code":1,"message":"An unknown error occurred"}}', { status: 500 }));
    const letters: RecordedLetter[] = [];
    const message = providerMessage('whatsapp', 'wa-500', 'wamid.F', '106540352242922:16505551234', 'hello');
    const session = providerSession(message, letters);
    await session.deliver(message);
    await retryUntilDeadLettered(session, letters);
    expect(letters).toHaveLength(1);
    expect(letters[0]!.message.envelope).toMatchObject({ channel: 'whatsapp', text: 'echo: hello' });
  });
});

describe('WhatsApp rendering', () => {
  const waCard = (card: unknown) => cardReply('whatsapp', 'wa-card', card);

  it("an upstream pack's card with three submits becomes reply buttons whose reply comes back as the card's submit", async () => {
    const content = await whatsappContent(testEnv, 'wa-card', waCard(welcomeCard));
    expect(content.type).toBe('interactive');
    const interactive = (content as { interactive: Record<string, unknown> }).interactive as {
      type: string;
      header: { text: string };
      body: { text: string };
      action: { buttons: { reply: { id: string; title: string } }[] };
    };
    expect(interactive.type).toBe('button');
    expect(interactive.header).toEqual({ type: 'text', text: 'IT Help Desk' });
    expect(interactive.body.text).toContain('Welcome! What do you need help with today?');
    expect(interactive.action.buttons.map((b) => b.reply.title)).toEqual([
      '🎫 Create a Ticket',
      '🔎 My Tickets & Sta…',
      '📞 Urgent: Call Cen…',
    ]);
    for (const b of interactive.action.buttons) expect(b.reply.title.length).toBeLessThanOrEqual(20);

    await whatsappTenant('wa-card');
    const reply = structuredClone(BUTTON_REPLY);
    reply.id = 'wamid.CARDCLICK';
    reply.interactive.button_reply = { id: interactive.action.buttons[0]!.reply.id, title: 'Create a Ticket' };
    await post('wa-card', notification({ messages: [reply] }));
    await until(() => (sent().length > 0 ? true : undefined), 'the reply to the card button');
    expect(textsSent()).toEqual(['echo: create_ticket_step1']);
  });

  it('a card with inputs keeps its questions readable in the body', async () => {
    const content = await whatsappContent(testEnv, 'wa-card', waCard(stepOneCard));
    const body = (content as unknown as { interactive: { body: { text: string } } }).interactive.body.text;
    expect(body).toContain('Issue Category: Hardware / Software / Network/Internet / Access/Password / Other');
    expect(body.length).toBeLessThanOrEqual(1024);
  });

  it('more than ten submits degrade to text that lists every action', async () => {
    const actions = Array.from({ length: 11 }, (_, i) => ({ type: 'Action.Submit', title: `Option ${i + 1}`, data: { n: i } }));
    const content = await whatsappContent(
      testEnv,
      'wa-card',
      waCard({ type: 'AdaptiveCard', body: [{ type: 'TextBlock', text: 'Pick one' }], actions }),
    );
    expect(content.type).toBe('text');
    const body = (content as unknown as { text: { body: string } }).text.body;
    expect(body).toContain('Pick one');
    expect(body).toContain('11. Option 11');
  });

  it('four to ten submits become a list', async () => {
    const actions = Array.from({ length: 5 }, (_, i) => ({ type: 'Action.Submit', title: `Option ${i + 1}`, data: { n: i } }));
    const content = await whatsappContent(
      testEnv,
      'wa-card',
      waCard({ type: 'AdaptiveCard', body: [{ type: 'TextBlock', text: 'Pick one' }], actions }),
    );
    const interactive = (content as unknown as { interactive: { type: string; action: { sections: { rows: { id: string }[] }[] } } })
      .interactive;
    expect(interactive.type).toBe('list');
    expect(interactive.action.sections[0]!.rows.map((r) => r.id)).toEqual(['{"n":0}', '{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}']);
  });
});
