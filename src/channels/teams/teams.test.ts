import { SELF } from 'cloudflare:test';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  echoTenant,
  expectRefused,
  FakeProviders,
  ingressUrl,
  json,
  nextAttemptAt,
  type ProviderRequest,
  providerSession,
  type RecordedLetter,
  retryUntilDeadLettered,
} from '../../../test/support/fake-providers.js';
import { testEnv } from '../../../test/support/runtime-fixtures.js';
import { until } from '../../../test/support/until.js';
import { upstreamPackJson } from '../../../test/support/upstream-packs.js';
import { ingressMessage } from '../../bus/messages.js';
import { setTelemetrySink } from '../../edge/telemetry.js';
import { providerEnvelope } from '../ingress-request.js';
import { saveConversationRef } from './conversation-ref.js';
import { teamsIdempotencyKey } from './ingress.js';

// Adaptive Cards of the upstream helpdesk-itsm pack, read from the fixture archive.
const welcomeCard = await upstreamPackJson('helpdesk-itsm', 'assets/cards/welcome.json');

// channels.md §2.6.
const APP_ID = '00000000-aaaa-4bbb-8ccc-000000000001';
const APP_PASSWORD = 'test-app-password';
const ENTRA_TENANT = '8f1c2d3e-5a4b-4c3d-9e8f-0a1b2c3d4e5f';
const SERVICE_URL = 'https://smba.trafficmanager.net/emea/8f1c2d3e-5a4b-4c3d-9e8f-0a1b2c3d4e5f/';
const CONVERSATION = 'a:1pX9rT4vN2mQ8kL6jH3gF0dS7aZ5cV1bN4mK8jH2gF6dS';
const METADATA = 'https://login.botframework.com/v1/.well-known/openidconfiguration';
const KEYS = 'https://login.botframework.com/v1/.well-known/keys';
const TOKEN_URL = `https://login.microsoftonline.com/${ENTRA_TENANT}/oauth2/v2.0/token`;
const ACTIVITIES = `${SERVICE_URL}v3/conversations/${encodeURIComponent(CONVERSATION)}/activities`;
const TEXT_ACTIVITY = {
  type: 'message',
  id: '1763980800123',
  timestamp: '2025-11-24T10:40:00.123Z',
  localTimestamp: '2025-11-24T11:40:00.123+01:00',
  serviceUrl: SERVICE_URL,
  channelId: 'msteams',
  from: { id: '29:1Jq0bZ8aQe7cT5yX2nW4vR6uP9sL3kH0gF1dD8mB5', name: 'Ada Lovelace', aadObjectId: '6f1e2d3c-4b5a-4697-8887-a1b2c3d4e5f6' },
  conversation: { conversationType: 'personal', tenantId: ENTRA_TENANT, id: CONVERSATION },
  recipient: { id: `28:${APP_ID}`, name: 'Greentic' },
  textFormat: 'plain',
  text: 'book a table for two',
  attachments: [{ contentType: 'text/html', content: '<p>book a table for two</p>' }],
  entities: [{ type: 'clientInfo', locale: 'en-GB', country: 'GB', platform: 'Web', timezone: 'Europe/London' }],
  channelData: { tenant: { id: ENTRA_TENANT } },
  locale: 'en-GB',
};
const { text: _text, attachments: _attachments, ...BARE } = TEXT_ACTIVITY;
const SUBMIT_ACTIVITY = { ...BARE, id: '1763980815456', replyToId: '1763980805789', value: { action: 'confirm', booking: 42 } };

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
let teamsKey: KeyPair;
let webchatOnlyKey: KeyPair;
let fake: FakeProviders;
let issued = 0;

async function publicJwk(pair: KeyPair, kid: string, endorsements: string[]): Promise<JWK> {
  return { ...(await exportJWK(pair.publicKey)), kid, use: 'sig', endorsements } as JWK;
}

beforeAll(async () => {
  setTelemetrySink(() => {});
  teamsKey = await generateKeyPair('RS256', { extractable: true });
  webchatOnlyKey = await generateKeyPair('RS256', { extractable: true });
});

beforeEach(async () => {
  const keys = [await publicJwk(teamsKey, 'key-teams', ['msteams', 'skype']), await publicJwk(webchatOnlyKey, 'key-webchat', ['webchat'])];
  fake = new FakeProviders()
    .install()
    .on(METADATA, () => json({ issuer: 'https://api.botframework.com', jwks_uri: KEYS, id_token_signing_alg_values_supported: ['RS256'] }))
    .on(KEYS, () => json({ keys }))
    .on(TOKEN_URL, () => json({ token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: `bot-token-${++issued}` }))
    .on(SERVICE_URL, () => json({ id: '1763980900000' }, 201));
});
afterEach(() => vi.restoreAllMocks());

interface TokenOptions {
  key?: KeyPair;
  kid?: string;
  issuer?: string;
  audience?: string;
  expiresAt?: number;
  serviceUrl?: string;
}

function connectorToken(o: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ serviceurl: o.serviceUrl ?? SERVICE_URL })
    .setProtectedHeader({ alg: 'RS256', kid: o.kid ?? 'key-teams', typ: 'JWT' })
    .setIssuer(o.issuer ?? 'https://api.botframework.com')
    .setAudience(o.audience ?? APP_ID)
    .setNotBefore(now - 60)
    .setIssuedAt(now - 60)
    .setExpirationTime(o.expiresAt ?? now + 3600)
    .sign((o.key ?? teamsKey).privateKey);
}

const teamsTenant = (tenant: string) =>
  echoTenant(tenant, { 'teams/app_id': APP_ID, 'teams/app_password': APP_PASSWORD, 'teams/tenant_id': ENTRA_TENANT });

async function post(tenant: string, activity: unknown, token?: string | null) {
  const bearer = token === undefined ? await connectorToken() : token;
  return SELF.fetch(ingressUrl('teams', tenant), {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8', ...(bearer === null ? {} : { authorization: `Bearer ${bearer}` }) },
    body: typeof activity === 'string' ? activity : JSON.stringify(activity),
  });
}

const replies = (): ProviderRequest[] => fake.to(ACTIVITIES);
const bodies = () => replies().map((r) => JSON.parse(r.body) as Record<string, unknown>);

describe('Teams ingress → flow → Bot Connector reply', () => {
  it('a message with a valid connector token runs the flow and the connector receives the exact reply', async () => {
    await teamsTenant('teams-text');
    const res = await post('teams-text', TEXT_ACTIVITY);
    expect(res.status).toBe(200);
    await until(() => (replies().length > 0 ? true : undefined), 'the reply');
    const [req] = replies();
    expect(req!.url).toBe(`${ACTIVITIES}/1763980800123`);
    expect(req!.headers.authorization).toMatch(/^Bearer bot-token-\d+$/);
    expect(JSON.parse(req!.body)).toEqual({
      type: 'message',
      from: { id: `28:${APP_ID}` },
      conversation: { id: CONVERSATION },
      recipient: { id: TEXT_ACTIVITY.from.id },
      replyToId: '1763980800123',
      textFormat: 'markdown',
      text: 'echo: book a table for two',
    });
    const [tokenRequest] = fake.to(TOKEN_URL);
    expect(Object.fromEntries(new URLSearchParams(tokenRequest!.body))).toEqual({
      grant_type: 'client_credentials',
      client_id: APP_ID,
      client_secret: APP_PASSWORD,
      scope: 'https://api.botframework.com/.default',
    });
  });

  it('an Action.Submit arrives as a message with value and reaches the flow as a card submit', async () => {
    await teamsTenant('teams-submit');
    expect((await post('teams-submit', SUBMIT_ACTIVITY)).status).toBe(200);
    await until(() => (replies().length > 0 ? true : undefined), 'the reply to the submit');
    expect(bodies()[0]).toMatchObject({ text: 'echo: message', replyToId: '1763980815456' });
  });

  it('an Action.Execute invoke is acknowledged in the HTTP response and the flow replies as an activity', async () => {
    await teamsTenant('teams-invoke');
    const invoke = {
      ...BARE,
      type: 'invoke',
      id: 'f:invoke-1',
      name: 'adaptiveCard/action',
      value: { action: { type: 'Action.Execute', verb: 'confirm', data: { routeToCardId: 'booking_done' } }, trigger: 'manual' },
    };
    const res = await post('teams-invoke', invoke);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: 'Received' });
    await until(() => (replies().length > 0 ? true : undefined), 'the reply to the invoke');
    expect(bodies()[0]).toMatchObject({ text: 'echo: booking_done' });
  });

  it('the same activity re-posted 15 s later gets 200 and no second reply; one token serves both replies', async () => {
    await teamsTenant('teams-dup');
    expect((await post('teams-dup', TEXT_ACTIVITY)).status).toBe(200);
    expect((await post('teams-dup', TEXT_ACTIVITY)).status).toBe(200);
    await post('teams-dup', { ...TEXT_ACTIVITY, id: '1763980830000', text: 'later' });
    await until(() => (replies().length > 1 ? true : undefined), 'the later reply');
    expect(bodies().map((b) => b.text)).toEqual(['echo: book a table for two', 'echo: later']);
    expect(fake.to(TOKEN_URL).length).toBeLessThanOrEqual(1);
  });

  it('a conversationUpdate (install) is answered 200 and reaches no flow', async () => {
    await teamsTenant('teams-install');
    const install = {
      ...BARE,
      type: 'conversationUpdate',
      id: 'f:3b1e8c2a-6d4f-4a7b-9c0e-2f5a8b1d4c7e',
      membersAdded: [{ id: `28:${APP_ID}` }],
    };
    expect((await post('teams-install', install)).status).toBe(200);
  });

  it('wrong audience, wrong issuer, an expired token, a forged serviceUrl, an unendorsed key and no token are 401; malformed JSON is 400; no flow runs', async () => {
    await teamsTenant('teams-bad');
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, string | null][] = [
      ['WrongAudience', await connectorToken({ audience: '00000000-ffff-4fff-8fff-000000000009' })],
      ['WrongIssuer', await connectorToken({ issuer: 'https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/' })],
      ['TokenExpired', await connectorToken({ expiresAt: now - 301 })],
      ['ServiceUrlMismatch', await connectorToken({ serviceUrl: 'https://attacker.example/' })],
      ['NotEndorsed', await connectorToken({ key: webchatOnlyKey, kid: 'key-webchat' })],
      ['InvalidToken', await connectorToken({ key: webchatOnlyKey, kid: 'key-teams' })],
      ['MissingToken', null],
    ];
    for (const [code, token] of cases) {
      const res = await post('teams-bad', TEXT_ACTIVITY, token);
      expect(res.status, code).toBe(401);
      expect(await res.json(), code).toMatchObject({ error: code });
    }
    const plainHttp = await post('teams-bad', { ...TEXT_ACTIVITY, serviceUrl: 'http://smba.trafficmanager.net/emea/' });
    await expectRefused(plainHttp, 400, 'MalformedBody');
    const malformed = await post('teams-bad', '{"type":"message",');
    expect(malformed.status).toBe(400);
    expect((await post('teams-bad', JSON.stringify({ ...TEXT_ACTIVITY, pad: 'x'.repeat(256 * 1024) }))).status).toBe(413);
    await post('teams-bad', { ...TEXT_ACTIVITY, id: 'good-1' });
    await until(() => (replies().length > 0 ? true : undefined), 'the valid reply');
    expect(replies()).toHaveLength(1);
  });
});

describe('Teams connector keys', () => {
  it('the key set is cached between activities; a rotated-in key id is fetched once the refetch pause has passed', async () => {
    await teamsTenant('teams-keys');
    expect((await post('teams-keys', { ...TEXT_ACTIVITY, id: 'keys-1' })).status).toBe(200);
    const fetched = fake.to(KEYS).length;
    expect((await post('teams-keys', { ...TEXT_ACTIVITY, id: 'keys-2' })).status).toBe(200);
    expect(fake.to(KEYS)).toHaveLength(fetched);

    const rotated = await generateKeyPair('RS256', { extractable: true });
    const keys = [await publicJwk(teamsKey, 'key-teams', ['msteams']), await publicJwk(rotated, 'key-rotated', ['msteams'])];
    fake.on(KEYS, () => json({ keys }));
    fake.script(
      KEYS,
      () => json({ keys }),
      () => json({ keys }),
    );
    // Right after a fetch an unknown kid does not trigger another (a forged kid must not drive fetches).
    const early = await post('teams-keys', { ...TEXT_ACTIVITY, id: 'keys-3' }, await connectorToken({ key: rotated, kid: 'key-rotated' }));
    await expectRefused(early, 401, 'UnknownKey');
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 61_000 });
    try {
      const later = await post(
        'teams-keys',
        { ...TEXT_ACTIVITY, id: 'keys-4' },
        await connectorToken({ key: rotated, kid: 'key-rotated' }),
      );
      expect(later.status).toBe(200);
    } finally {
      vi.useRealTimers();
    }
    await until(() => (replies().length === 3 ? true : undefined), 'the replies to the three accepted activities');
  });
});

describe('Teams egress', () => {
  async function teamsReply(tenant: string, id: string) {
    await saveConversationRef(testEnv, tenant, CONVERSATION, { service_url: SERVICE_URL, bot_id: `28:${APP_ID}` });
    const envelope = providerEnvelope(
      { env: testEnv, tenant, team: undefined },
      { channel: 'teams', id, user: TEXT_ACTIVITY.from.id, anchor: CONVERSATION, scope: { conversation: CONVERSATION }, text: 'hello' },
    );
    return ingressMessage(envelope, { idempotencyKey: teamsIdempotencyKey(CONVERSATION, id) });
  }

  it('a 401 from the connector refreshes the token once and the reply is delivered', async () => {
    await teamsTenant('teams-401');
    fake.script(SERVICE_URL, () => json({ message: 'Authorization has been denied for this request.' }, 401));
    const message = await teamsReply('teams-401', 'act-401');
    await providerSession(message).deliver(message);
    expect(replies()).toHaveLength(2);
    expect(replies()[1]!.headers.authorization).not.toBe(replies()[0]!.headers.authorization);
  });

  it('a 429 with Retry-After then 201 delivers once after the wait; 412 is retried too', async () => {
    await teamsTenant('teams-429');
    fake.script(
      SERVICE_URL,
      () => json({ error: { code: 'TooManyRequests' } }, 429, { 'retry-after': '4' }),
      () => json({ error: { code: 'PreconditionFailed' } }, 412),
    );
    const message = await teamsReply('teams-429', 'act-429');
    const session = providerSession(message);
    const before = Date.now();
    await session.deliver(message);
    expect((await nextAttemptAt(session)) - before).toBeGreaterThanOrEqual(4_000);
    await session.runAlarm();
    await session.runAlarm();
    expect(replies()).toHaveLength(3);
    expect(await nextAttemptAt(session)).toBeNull();
  });

  it('a connector failing with 503 forever ends in the dead-letter queue with the reply intact', async () => {
    await teamsTenant('teams-503');
    for (let i = 0; i < 10; i++) fake.script(SERVICE_URL, () => new Response('busy', { status: 503 }));
    const letters: RecordedLetter[] = [];
    const message = await teamsReply('teams-503', 'act-503');
    const session = providerSession(message, letters);
    await session.deliver(message);
    await retryUntilDeadLettered(session, letters);
    expect(letters).toHaveLength(1);
    expect(letters[0]!.message.envelope).toMatchObject({ channel: 'teams', text: 'echo: hello' });
  });

  it('a 500 on the activity post may have delivered: it is not resent but dead-lettered as uncertain', async () => {
    await teamsTenant('teams-500');
    fake.script(SERVICE_URL, () => new Response('oops', { status: 500 }));
    const uncertain: RecordedLetter[] = [];
    const second = await teamsReply('teams-500', 'act-500');
    await providerSession(second, uncertain).deliver(second);
    expect(uncertain.map((l) => l.reason)).toEqual(['DeliveryUncertain']);
    expect(replies()).toHaveLength(1);
  });

  it("an upstream pack's Adaptive Card goes as an attachment, its version capped at 1.5", async () => {
    await teamsTenant('teams-card');
    await saveConversationRef(testEnv, 'teams-card', CONVERSATION, { service_url: SERVICE_URL, bot_id: `28:${APP_ID}` });
    const envelope = providerEnvelope(
      { env: testEnv, tenant: 'teams-card', team: undefined },
      { channel: 'teams', id: 'card-1', user: 'u', anchor: CONVERSATION, scope: { conversation: CONVERSATION } },
    );
    const { teamsActivity } = await import('./sender.js');
    const activity = teamsActivity(
      {
        v: 1,
        subject: 's',
        idempotency_key: 'k',
        in_reply_to: teamsIdempotencyKey(CONVERSATION, 'card-1'),
        created_at: 0,
        envelope: {
          ...ingressMessage(envelope).envelope,
          attachments: [{ mime_type: 'application/vnd.microsoft.card.adaptive', content: welcomeCard }],
        },
      },
      APP_ID,
    );
    expect(activity.attachments).toEqual([
      { contentType: 'application/vnd.microsoft.card.adaptive', content: { ...welcomeCard, version: '1.5' } },
    ]);
    expect(activity.replyToId).toBe('card-1');
  });
});
