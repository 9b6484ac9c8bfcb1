import { SELF } from 'cloudflare:test';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  cardReply,
  echoTenant,
  expectRefused,
  FakeProviders,
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
import { escapeMarkdownV2, telegramMessage } from './markdown.js';

// Adaptive Cards of the upstream helpdesk-itsm pack, read from the fixture archive.
const welcomeCard = await upstreamPackJson('helpdesk-itsm', 'assets/cards/welcome.json');

// channels.md §3.6.
const SECRET = 'tgw_Secret-0123456789abcdef';
const BOT_TOKEN = '7000000001:AAH-test-token';
const API = `https://api.telegram.org/bot${BOT_TOKEN}`;
const SEND = `${API}/sendMessage`;
const ANSWER = `${API}/answerCallbackQuery`;
const MESSAGE_FIXTURE = {
  update_id: 912345678,
  message: {
    message_id: 51,
    from: { id: 111111111, is_bot: false, first_name: 'Ada', username: 'ada_l', language_code: 'en' },
    chat: { id: 111111111, first_name: 'Ada', username: 'ada_l', type: 'private' },
    date: 1763980800,
    text: '/book table for two',
    entities: [{ offset: 0, length: 5, type: 'bot_command' }],
  },
};
const CALLBACK_FIXTURE = {
  update_id: 912345679,
  callback_query: {
    id: '4782519370571649024',
    from: { id: 111111111, is_bot: false, first_name: 'Ada', username: 'ada_l', language_code: 'en' },
    message: {
      message_id: 52,
      from: { id: 7000000001, is_bot: true, first_name: 'Greentic', username: 'greentic_demo_bot' },
      chat: { id: 111111111, first_name: 'Ada', username: 'ada_l', type: 'private' },
      date: 1763980805,
      text: 'Confirm the booking?',
      reply_markup: { inline_keyboard: [[{ text: 'Confirm', callback_data: 'c:9f2k' }]] },
    },
    chat_instance: '-3728194650928374650',
    data: 'c:9f2k',
  },
};

let fake: FakeProviders;
beforeAll(() => setTelemetrySink(() => {}));
beforeEach(() => {
  fake = new FakeProviders()
    .install()
    .on(SEND, (req) => {
      const body = JSON.parse(req.body) as { chat_id: number; text: string };
      return json({ ok: true, result: { message_id: 60, chat: { id: body.chat_id, type: 'private' }, date: 1763980900, text: body.text } });
    })
    .on(ANSWER, () => json({ ok: true, result: true }));
});
afterEach(() => vi.restoreAllMocks());

const telegramTenant = (tenant: string) => echoTenant(tenant, { 'telegram/secret_token': SECRET, 'telegram/bot_token': BOT_TOKEN });

function post(tenant: string, body: unknown, secret: string | null = SECRET) {
  return SELF.fetch(ingressUrl('telegram', tenant), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(secret === null ? {} : { 'x-telegram-bot-api-secret-token': secret }) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const sent = () => fake.to(SEND).map((r) => JSON.parse(r.body) as Record<string, unknown>);

describe('Telegram ingress → flow → sendMessage', () => {
  it('an update with the right secret token runs the flow and Telegram receives the exact sendMessage', async () => {
    await telegramTenant('tg-text');
    const res = await post('tg-text', MESSAGE_FIXTURE);
    expect(res.status).toBe(200);
    await until(() => (sent().length > 0 ? true : undefined), 'the reply');
    const [req] = fake.to(SEND);
    expect(req!.method).toBe('POST');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req!.body)).toEqual({
      chat_id: 111111111,
      text: 'echo: /book table for two',
      parse_mode: 'MarkdownV2',
      link_preview_options: { is_disabled: true },
    });
  });

  it('the same update delivered twice is answered 200 both times and replied to once', async () => {
    await telegramTenant('tg-dup');
    expect((await post('tg-dup', MESSAGE_FIXTURE)).status).toBe(200);
    expect((await post('tg-dup', MESSAGE_FIXTURE)).status).toBe(200);
    const later = structuredClone(MESSAGE_FIXTURE);
    later.update_id = 912345700;
    later.message.text = 'later';
    await post('tg-dup', later);
    await until(() => (sent().length > 1 ? true : undefined), 'the later reply');
    expect(sent().map((b) => b.text)).toEqual(['echo: /book table for two', 'echo: later']);
  });

  it('an edited message reaches the flow too', async () => {
    await telegramTenant('tg-edit');
    const { message, ...rest } = structuredClone(MESSAGE_FIXTURE);
    await post('tg-edit', { ...rest, edited_message: { ...message, text: 'table for three', edit_date: 1763980900 } });
    await until(() => (sent().length > 0 ? true : undefined), 'the reply to the edit');
    expect(sent()[0]!.text).toBe('echo: table for three');
  });

  it('a callback query is answered with answerCallbackQuery and reaches the flow as a card submit', async () => {
    await telegramTenant('tg-callback');
    expect((await post('tg-callback', CALLBACK_FIXTURE)).status).toBe(200);
    await until(() => (sent().length > 0 && fake.to(ANSWER).length > 0 ? true : undefined), 'the answer and the reply');
    expect(JSON.parse(fake.to(ANSWER)[0]!.body)).toEqual({ callback_query_id: '4782519370571649024' });
    expect(sent()[0]).toMatchObject({ chat_id: 111111111, text: 'echo: c:9f2k' });
  });

  it('a wrong or missing secret token, malformed JSON and an oversized body are refused and run no flow', async () => {
    await telegramTenant('tg-bad');
    const wrong = await post('tg-bad', MESSAGE_FIXTURE, 'tgw_Secret-0123456789abcdeX');
    await expectRefused(wrong, 401, 'InvalidSecretToken');
    expect((await post('tg-bad', MESSAGE_FIXTURE, null)).status).toBe(401);
    const malformed = await post('tg-bad', '{"update_id":');
    await expectRefused(malformed, 400, 'MalformedBody');
    expect((await post('tg-bad', { message: MESSAGE_FIXTURE.message })).status).toBe(400);
    expect((await post('tg-bad', { update_id: 1, pad: 'x'.repeat(1024 * 1024) })).status).toBe(413);
    const good = structuredClone(MESSAGE_FIXTURE);
    good.update_id = 912345690;
    await post('tg-bad', good);
    await until(() => (sent().length > 0 ? true : undefined), 'the valid reply');
    expect(sent()).toHaveLength(1);
  });

  it('an update we do not handle (my_chat_member) is answered 200 and reaches no flow', async () => {
    await telegramTenant('tg-other');
    const res = await post('tg-other', { update_id: 912345800, my_chat_member: { chat: { id: 1, type: 'private' } } });
    expect(res.status).toBe(200);
  });
});

describe('Telegram egress', () => {
  it('a 429 waits parameters.retry_after, then the reply is delivered once', async () => {
    await telegramTenant('tg-429');
    fake.script(SEND, () =>
      json({ ok: false, error_code: 429, description: 'Too Many Requests: retry after 9', parameters: { retry_after: 9 } }, 429),
    );
    const message = providerMessage('telegram', 'tg-429', '1', '111111111', 'hello');
    const session = providerSession(message);
    const before = Date.now();
    await session.deliver(message);
    expect((await nextAttemptAt(session)) - before).toBeGreaterThanOrEqual(9_000);
    await session.runAlarm();
    expect(sent().map((b) => b.text)).toEqual(['echo: hello', 'echo: hello']);
    expect(await nextAttemptAt(session)).toBeNull();
  });

  it('Telegram failing with 500 forever ends in the dead-letter queue with the reply intact', async () => {
    await telegramTenant('tg-500');
    for (let i = 0; i < 10; i++) fake.script(SEND, () => json({ ok: false, error_code: 500, description: 'Internal Server Error' }, 500));
    const letters: RecordedLetter[] = [];
    const message = providerMessage('telegram', 'tg-500', '2', '111111111', 'hello');
    const session = providerSession(message, letters);
    await session.deliver(message);
    await retryUntilDeadLettered(session, letters);
    expect(letters).toHaveLength(1);
    expect(letters[0]!.message.envelope).toMatchObject({
      channel: 'telegram',
      text: 'echo: hello',
      reply_scope: { conversation: '111111111' },
    });
  });

  it('"can\'t parse entities" is resent once as plain text', async () => {
    await telegramTenant('tg-entities');
    fake.script(SEND, () => json({ ok: false, error_code: 400, description: "Bad Request: can't parse entities: unexpected end" }, 400));
    const message = providerMessage('telegram', 'tg-entities', '3', '111111111', 'a.b');
    await providerSession(message).deliver(message);
    expect(sent()).toEqual([
      expect.objectContaining({ text: 'echo: a\\.b', parse_mode: 'MarkdownV2' }),
      expect.not.objectContaining({ parse_mode: expect.anything() }),
    ]);
    expect(sent()[1]!.text).toBe('echo: a.b');
  });
});

describe('Telegram rendering', () => {
  it('MarkdownV2 escapes every reserved character', () => {
    expect(escapeMarkdownV2('_*[]()~`>#+-=|{}.!\\ ok')).toBe('\\_\\*\\[\\]\\(\\)\\~\\`\\>\\#\\+\\-\\=\\|\\{\\}\\.\\!\\\\ ok');
  });

  it("an upstream pack's Adaptive Card becomes text plus an inline keyboard whose button comes back as the card's submit", async () => {
    const content = cardReply('telegram', 'tg-card', welcomeCard);
    const rendered = await telegramMessage(testEnv, 'tg-card', content);
    expect(rendered.text).toContain('*IT Help Desk*');
    expect(rendered.text).toContain('Welcome\\! What do you need help with today?');
    expect(rendered.keyboard.map((row) => row[0]!.text)).toEqual([
      '🎫 Create a Ticket',
      '🔎 My Tickets & Status',
      '📞 Urgent: Call Center',
    ]);
    const token = rendered.keyboard[0]![0]!.callback_data!;
    expect(new TextEncoder().encode(token).byteLength).toBeLessThanOrEqual(64);

    await telegramTenant('tg-card');
    const click = structuredClone(CALLBACK_FIXTURE);
    click.update_id = 912345900;
    click.callback_query.data = token;
    await post('tg-card', click);
    await until(() => (sent().length > 0 ? true : undefined), 'the reply to the click');
    expect(sent()[0]!.text).toBe('echo: create\\_ticket\\_step1');
  });
});
