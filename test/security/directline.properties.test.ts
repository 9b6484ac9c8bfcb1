// Properties of the Direct Line facade under hostile input (fast-check): any body or credential
// a client can send is answered with success or a typed 4xx (`{"error":{"code"}}`), never a 5xx,
// within a bounded time, and a refused POST leaves nothing in the conversation.
import { SELF } from 'cloudflare:test';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ActivitySet } from '../../src/channels/webchat/conversation.js';
import { MAX_ACTIVITY_BYTES } from '../../src/channels/webchat/directline.js';
import { setTelemetrySink } from '../../src/edge/telemetry.js';
import { expectTypedRefusal, propertyParameters, withinTime } from '../support/properties.js';
import { activate, seedPack } from '../support/runtime-fixtures.js';
import { directLineBase, getActivities, json, startConversation } from '../support/webchat-client.js';

const TENANT = 'prop-dl';
const REQUEST_MS = 5_000;

/** A bot that answers nothing, so the log holds only what the POST stored. */
const QUIET_FLOW = `id: quiet
type: messaging
nodes:
  note:
    var.set: { name: seen, value: "yes" }
    routing: out
`;

beforeAll(async () => {
  setTelemetrySink(() => {});
  await activate(TENANT, 'prop-dl', await seedPack('prop-dl', '1.0.0', [QUIET_FLOW]));
});

const errorCode = (body: unknown) => (body as { error?: { code?: unknown } } | null)?.error?.code;

const anyJson = fc.jsonValue({ maxDepth: 4 });
const anyText = fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }));

/** Activities as clients send them, and as careless or hostile ones do: every field any type. */
const activity = fc.record(
  {
    type: fc.oneof(fc.constantFrom('message', 'event', 'typing', 'conversationUpdate', 'invoke', ''), anyText, anyJson),
    from: fc.oneof(
      fc.record(
        { id: fc.oneof(fc.constantFrom('u1', ''), anyText, anyJson), name: fc.oneof(anyText, anyJson), role: anyText },
        { requiredKeys: [] },
      ),
      anyJson,
    ),
    text: fc.oneof(anyText, anyJson),
    textFormat: anyText,
    value: fc.oneof(anyJson, fc.dictionary(anyText, fc.oneof(anyText, fc.integer(), fc.boolean()), { maxKeys: 8 })),
    attachments: fc.oneof(
      fc.array(
        fc.record({ contentType: fc.oneof(anyText, anyJson), content: anyJson, contentUrl: anyText, name: anyText }, { requiredKeys: [] }),
        { maxLength: 60 },
      ),
      anyJson,
    ),
    channelData: fc.oneof(
      fc.record({ clientActivityID: fc.oneof(anyText, anyJson), postBack: fc.boolean() }, { requiredKeys: [] }),
      anyJson,
    ),
    locale: fc.oneof(anyText, anyJson),
    entities: anyJson,
  },
  { requiredKeys: [] },
);

/** Whole bodies: encoded activities, nesting far past the limit, sizes around it, and plain junk. */
const body = fc.oneof(
  { weight: 6, arbitrary: activity.map((a) => JSON.stringify(a)) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.oneof(fc.nat({ max: 200 }), fc.integer({ min: 50_000, max: 120_000 })), fc.constantFrom('[', '{"a":'))
      .map(([n, open]) => `{"type":"message","from":{"id":"u1"},"value":${open.repeat(n)}1${(open === '[' ? ']' : '}').repeat(n)}}`),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: -64, max: 64 }).map((delta) => {
      const bare = JSON.stringify({ type: 'message', from: { id: 'u1' }, text: '' }).length;
      return JSON.stringify({ type: 'message', from: { id: 'u1' }, text: 'x'.repeat(MAX_ACTIVITY_BYTES - bare + delta) });
    }),
  },
  {
    weight: 2,
    arbitrary: fc.oneof(
      anyText,
      anyJson.map((v) => JSON.stringify(v)),
    ),
  },
);

/** What the conversation stored of the user's activities (the bot's welcome and answers arrive on their own time). */
async function logOf(conversationId: string, token: string): Promise<ActivitySet['activities']> {
  return (await json<ActivitySet>(await getActivities(TENANT, conversationId, token))).activities.filter((a) => a.from?.role !== 'bot');
}

describe('Direct Line facade under arbitrary input', () => {
  it('any POSTed activity body is taken or refused with a typed 4xx, never a 5xx, and a refused one stores nothing', async () => {
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom('application/json', 'text/plain', ''), async (raw, contentType) => {
        const s = await startConversation(TENANT);
        const res = await withinTime(REQUEST_MS, 'POST activities', () =>
          SELF.fetch(`${directLineBase(TENANT)}/conversations/${s.conversationId}/activities`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${s.token}`, ...(contentType === '' ? {} : { 'Content-Type': contentType }) },
            body: raw,
          }),
        );
        if (res.status >= 400) {
          await expectTypedRefusal(res, errorCode);
          expect(await logOf(s.conversationId, s.token)).toEqual([]);
          return;
        }
        expect(res.status).toBe(200);
        const { id } = await json<{ id: string }>(res);
        const log = await logOf(s.conversationId, s.token);
        if (id.endsWith('|typing')) expect(log).toEqual([]);
        else expect(log.map((a) => a.id)).toEqual([id]);
      }),
      propertyParameters(60),
    );
  });

  it('any credential, conversation id or path under the facade is refused with a typed 4xx and stores nothing', async () => {
    const s = await startConversation(TENANT);
    const segment = fc.oneof(fc.constant(s.conversationId), fc.stringMatching(/^[A-Za-z0-9_%.-]{0,40}$/));
    const credential = fc.oneof(
      fc.constant(undefined),
      fc.constant('Bearer undefined'),
      fc.stringMatching(/^[\x21-\x7e ]{0,200}$/),
      fc.stringMatching(/^[A-Za-z0-9_-]{1,60}$/).map((t) => `Bearer ${t}.${t}.${t}`),
      fc.constant(`Bearer ${s.token.slice(0, -2)}xx`),
    );
    const route = fc.constantFrom('', '/activities', '/activities?watermark=', '/upload', '/stream', '/nothing/here');
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'), segment, route, credential, async (method, id, rest, auth) => {
        const res = await withinTime(REQUEST_MS, `${method} conversation`, () =>
          SELF.fetch(`${directLineBase(TENANT)}/conversations/${id}${rest}`, {
            method,
            headers: auth === undefined ? {} : { Authorization: auth },
            ...(method === 'GET' ? {} : { body: '{"type":"message","from":{"id":"u1"},"text":"sneak"}' }),
          }),
        );
        await expectTypedRefusal(res, errorCode);
        expect(await logOf(s.conversationId, s.token)).toEqual([]);
      }),
      propertyParameters(60),
    );
  });
});
