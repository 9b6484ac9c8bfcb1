// Properties of the provider webhooks under hostile requests (fast-check): for Slack, Teams,
// Telegram and WhatsApp, arbitrary bodies and headers (the provider's auth headers included, with
// arbitrary values) are answered with a typed 4xx, never a 5xx and never a crash, and nothing of
// them reaches a flow. Correctly signed but arbitrary bodies are answered 200 or a typed 400.
import { SELF } from 'cloudflare:test';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { setTelemetrySink } from '../../src/edge/telemetry.js';
import { echoTenant, FakeProviders, hmacHex, ingressUrl, json } from '../support/fake-providers.js';
import { expectTypedRefusal, propertyParameters, withinTime } from '../support/properties.js';
import { until } from '../support/until.js';

const REQUEST_MS = 5_000;
const SLACK_SECRET = 'prop-slack-signing-secret';
const TELEGRAM_SECRET = 'prop_telegram_secret';
const WHATSAPP_SECRET = 'prop-whatsapp-app-secret';
const SENDS = ['https://slack.com/api/', 'https://api.telegram.org/', 'https://graph.facebook.com/', 'https://smba.trafficmanager.net/'];

let fake: FakeProviders;

beforeAll(async () => {
  setTelemetrySink(() => {});
  fake = new FakeProviders().install();
  for (const prefix of SENDS) fake.on(prefix, () => json({ ok: true, result: {}, messages: [{ id: 'x' }] }));
  fake.on('https://login.botframework.com/', () => json({ jwks_uri: 'https://login.botframework.com/v1/.well-known/keys', keys: [] }));
  await echoTenant('prop-channels', {
    'slack/signing_secret': SLACK_SECRET,
    'slack/bot_token': 'xoxb-prop',
    'telegram/secret_token': TELEGRAM_SECRET,
    'telegram/bot_token': '1:prop',
    'whatsapp/app_secret': WHATSAPP_SECRET,
    'whatsapp/verify_token': 'prop-verify',
    'whatsapp/access_token': 'prop-access',
    'teams/app_id': '00000000-aaaa-4bbb-8ccc-000000000001',
    'teams/app_password': 'prop-password',
  });
});
afterAll(() => vi.restoreAllMocks());

const sends = () => fake.requests.filter((r) => SENDS.some((p) => r.url.startsWith(p)) && !r.url.includes('answerCallbackQuery'));

const headerValue = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,80}[\x21-\x7e])?$/);
/** Bodies a parser must survive: JSON-shaped objects, arbitrary text, arbitrary bytes. */
const body = fc.oneof(
  fc.json({ maxDepth: 6 }),
  fc.jsonValue({ maxDepth: 4 }).map((v) =>
    JSON.stringify({
      type: 'event_callback',
      event_id: 'Ev1',
      update_id: 1,
      object: 'whatsapp_business_account',
      entry: [v],
      event: v,
      message: v,
    }),
  ),
  fc.string({ maxLength: 400 }),
  fc.uint8Array({ maxLength: 400 }),
);

const AUTH_HEADERS: Record<string, string[]> = {
  slack: ['x-slack-request-timestamp', 'x-slack-signature', 'x-slack-retry-num'],
  telegram: ['x-telegram-bot-api-secret-token'],
  whatsapp: ['x-hub-signature-256', 'x-hub-signature'],
  teams: ['authorization'],
};

function unsignedRequest(provider: string) {
  return fc.record({
    body,
    contentType: fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'text/plain'),
    headers: fc.dictionary(fc.constantFrom(...AUTH_HEADERS[provider]!), headerValue, { maxKeys: 3 }),
    // Header values shaped like the real ones, but not from the secret.
    shaped: fc.boolean(),
  });
}

function shapedHeaders(provider: string): Record<string, string> {
  const now = String(Math.floor(Date.now() / 1000));
  switch (provider) {
    case 'slack':
      return { 'x-slack-request-timestamp': now, 'x-slack-signature': `v0=${'ab'.repeat(32)}` };
    case 'whatsapp':
      return { 'x-hub-signature-256': `sha256=${'cd'.repeat(32)}` };
    case 'telegram':
      return { 'x-telegram-bot-api-secret-token': 'prop_telegram_secreT' };
    default:
      return { authorization: 'Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.eyJhdWQiOiJ4In0.c2ln' };
  }
}

async function signedHeaders(provider: string, bytes: Uint8Array): Promise<Record<string, string>> {
  if (provider === 'slack') {
    const ts = String(Math.floor(Date.now() / 1000));
    const base = new Uint8Array([...new TextEncoder().encode(`v0:${ts}:`), ...bytes]);
    return { 'x-slack-request-timestamp': ts, 'x-slack-signature': `v0=${await hmacHex(SLACK_SECRET, base)}` };
  }
  if (provider === 'whatsapp') return { 'x-hub-signature-256': `sha256=${await hmacHex(WHATSAPP_SECRET, bytes)}` };
  return { 'x-telegram-bot-api-secret-token': TELEGRAM_SECRET };
}

const bytesOf = (b: string | Uint8Array): Uint8Array => (typeof b === 'string' ? new TextEncoder().encode(b) : b);
const codeOf = (b: unknown) => (b as { error?: unknown }).error;

describe.each(['slack', 'teams', 'telegram', 'whatsapp'])('%s webhook under hostile requests', (provider) => {
  it('arbitrary bodies and headers get a typed 4xx, never a 5xx, and never reach a flow', async () => {
    await fc.assert(
      fc.asyncProperty(unsignedRequest(provider), async (r) => {
        const res = await withinTime(REQUEST_MS, `${provider} ingress`, () =>
          SELF.fetch(ingressUrl(provider, 'prop-channels'), {
            method: 'POST',
            headers: { 'content-type': r.contentType, ...r.headers, ...(r.shaped ? shapedHeaders(provider) : {}) },
            body: bytesOf(r.body),
          }),
        );
        await expectTypedRefusal(res, codeOf);
        expect([400, 401, 413]).toContain(res.status);
      }),
      propertyParameters(40),
    );
  });
});

describe('after the unsigned requests', () => {
  it('none of them reached a flow: the only reply is to the one valid message sent now', async () => {
    const update = JSON.stringify({
      update_id: 77_000_001,
      message: {
        message_id: 1,
        from: { id: 42, is_bot: false, first_name: 'P' },
        chat: { id: 42, type: 'private' },
        date: 1,
        text: 'probe',
      },
    });
    const res = await SELF.fetch(ingressUrl('telegram', 'prop-channels'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': TELEGRAM_SECRET },
      body: update,
    });
    expect(res.status).toBe(200);
    await until(() => (sends().length > 0 ? true : undefined), 'the probe reply');
    expect(sends().map((r) => (JSON.parse(r.body) as { text?: string }).text)).toEqual(['echo: probe']);
  });
});

describe.each(['slack', 'telegram', 'whatsapp'])('%s webhook with correctly signed arbitrary bodies', (provider) => {
  it('answers 200 or a typed 400, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom('application/json', 'application/x-www-form-urlencoded'), async (raw, contentType) => {
        const bytes = bytesOf(raw);
        const res = await withinTime(REQUEST_MS, `${provider} ingress`, async () =>
          SELF.fetch(ingressUrl(provider, 'prop-channels'), {
            method: 'POST',
            headers: { 'content-type': contentType, ...(await signedHeaders(provider, bytes)) },
            body: bytes,
          }),
        );
        if (res.status !== 200) await expectTypedRefusal(res, codeOf);
        expect([200, 400]).toContain(res.status);
      }),
      propertyParameters(40),
    );
  });
});
