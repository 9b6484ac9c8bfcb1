// The upstream demo packs (greentic-demo builds, unmodified) as a WebChat user meets them: each
// uploaded under the `dev` policy, activated for its own tenant and driven through Direct Line the
// way Microsoft's WebChat does (conversation start, typed text, card submits that post only
// `value`). Assertions are on what the user sees: card titles with i18n resolved, routed cards,
// echoed text, and one failure answer when something cannot work.
import { SELF } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DirectLineActivity } from '../../src/channels/webchat/conversation.js';
import { activityEnvelope } from '../../src/channels/webchat/directline.js';
import { setTelemetrySink } from '../../src/edge/telemetry.js';
import { buildPack } from '../../src/pack/builder.js';
import { loadPackModel } from '../../src/pack-store/pack-store.js';
import { resolveCardTokens } from '../../src/session/card-navigation.js';
import { cardReply } from '../../src/session/replies.js';
import { testEnv } from '../support/runtime-fixtures.js';
import { until } from '../support/until.js';
import { type UpstreamPackName, upstreamPack } from '../support/upstream-packs.js';
import { getActivities, json, post, type Started, startConversation } from '../support/webchat-client.js';

const ADMIN = { authorization: 'Bearer test-admin-token' };
const FAILURE_TEXT = 'Sorry, something went wrong while handling your message. Please try again later.';

beforeAll(() => {
  setTelemetrySink(() => {});
});

async function installUpstream(name: UpstreamPackName, tenant: string): Promise<void> {
  const up = await SELF.fetch('http://x/admin/v1/packs', { method: 'POST', headers: ADMIN, body: await upstreamPack(name) });
  const body = await json<{ pack_id: string; digest: string }>(up);
  expect(up.status, JSON.stringify(body)).toBeLessThan(300);
  const act = await SELF.fetch(`http://x/admin/v1/tenants/${tenant}/packs/${body.pack_id}`, {
    method: 'PUT',
    headers: { ...ADMIN, 'content-type': 'application/json' },
    body: JSON.stringify({ digest: body.digest }),
  });
  expect(act.status, await act.text()).toBeLessThan(300);
}

/** What a user sees of a bot activity: its text, whether it holds a card, the card texts and its actions. */
interface Seen {
  text?: string;
  card: boolean;
  texts: string[];
  actions: { title: string; data: unknown }[];
}

function seen(a: DirectLineActivity): Seen {
  const texts: string[] = [];
  const actions: { title: string; data: unknown }[] = [];
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) {
      for (const v of x) walk(v);
      return;
    }
    if (typeof x !== 'object' || x === null) return;
    const o = x as Record<string, unknown>;
    if (o.type === 'TextBlock' && typeof o.text === 'string') texts.push(o.text);
    if (typeof o.type === 'string' && o.type.startsWith('Action.')) actions.push({ title: String(o.title ?? ''), data: o.data ?? null });
    for (const v of Object.values(o)) walk(v);
  };
  const attachments = (a.attachments ?? []) as { contentType: string; content: unknown }[];
  for (const at of attachments) walk(at.content);
  return {
    ...(typeof a.text === 'string' ? { text: a.text } : {}),
    card: attachments.some((at) => at.contentType === 'application/vnd.microsoft.card.adaptive'),
    texts,
    actions,
  };
}

/** The activities `read` yields once there are some and two reads in a row agree (a turn's replies arrive one by one). */
async function settled(read: () => Promise<DirectLineActivity[]>, what: string): Promise<Seen[]> {
  let last = -1;
  const done = await until(
    async () => {
      const now = await read();
      const stable = now.length > 0 && now.length === last;
      last = now.length;
      if (!stable) await new Promise((r) => setTimeout(r, 150));
      return stable ? now : undefined;
    },
    what,
    30_000,
  );
  return done.map(seen);
}

/** A WebChat user of `tenant`: the conversation is started (as WebChat does) before the first step. */
async function webchatUser(tenant: string) {
  const started: Started = await startConversation(tenant, 'u-test');
  const botActivities = async (): Promise<DirectLineActivity[]> =>
    (
      await json<{ activities: DirectLineActivity[] }>(await getActivities(tenant, started.conversationId, started.token))
    ).activities.filter((a) => a.from?.role === 'bot');
  return {
    started,
    /** Posts an activity and returns what the bot answered to it (waits for the first answer, then a short quiet spell). */
    async say(activity: { text?: string; value?: unknown }): Promise<Seen[]> {
      const res = await post(tenant, started.conversationId, started.token, {
        type: 'message',
        from: { id: 'u-test' },
        locale: 'en-US',
        ...activity,
      });
      expect(res.status).toBe(200);
      const { id } = await json<{ id: string }>(res);
      return settled(async () => (await botActivities()).filter((a) => a.replyToId === id), `the reply to ${id}`);
    },
    /** The bot activities that answer no user activity (the welcome). */
    async welcome(): Promise<Seen[]> {
      return settled(async () => (await botActivities()).filter((a) => a.replyToId === undefined), 'the welcome');
    },
  };
}

const unresolved = (s: Seen[]) => s.flatMap((x) => [...x.texts, ...x.actions.map((a) => a.title)]).filter((t) => t.includes('{{i18n:'));

describe('upstream packs over WebChat', () => {
  it('telco-x greets with its menu, answers a typed request with cards, and a menu click shows that sub-menu', async () => {
    await installUpstream('telco-x', 'up-telco');
    const user = await webchatUser('up-telco');
    const [menu] = await user.welcome();
    expect(menu!.texts).toContain('Telco-X Demo');
    expect(menu!.actions.map((a) => a.title)).toContain('Capacity & Port Management');

    const answer = await user.say({ text: 'show port utilisation' });
    expect(answer.length).toBeGreaterThan(1);
    expect(answer.every((a) => a.card)).toBe(true);
    expect(answer.flatMap((a) => a.texts)).toContain('Port utilisation summary');

    // A menu button posts only its data ({step, text}); the submit's text is its `step`.
    const capacity = menu!.actions.find((a) => a.title === 'Capacity & Port Management')!;
    const sub = await user.say({ value: capacity.data });
    expect(sub).toHaveLength(1);
    expect(sub[0]!.card).toBe(true);
    expect(sub[0]!.actions.length).toBeGreaterThan(1);
    expect(sub[0]!.actions.map((a) => a.title)).not.toContain('Capacity & Port Management');
  });

  it('quickstart-app echoes a typed message with the event type its component extracted', async () => {
    await installUpstream('quickstart-app', 'up-qsapp');
    const user = await webchatUser('up-qsapp');
    const answer = await user.say({ text: 'hello there' });
    expect(answer).toHaveLength(1);
    expect(answer[0]!.text).toMatch(/^Received: hello there\n/);
    expect(answer[0]!.text).toContain('- Type: message.text');
    expect(answer[0]!.text).toContain('- Source: webchat');
  });

  it('hr-onboarding: a button carrying routeToCardId is answered with that card from the pack, i18n resolved, form data carried into its submits', async () => {
    await installUpstream('hr-onboarding', 'up-hr');
    const user = await webchatUser('up-hr');
    const form = await user.say({ value: { action_id: 'start_onboarding', routeToCardId: 'employee_form_card', employee_name: 'Ada' } });
    expect(form).toHaveLength(1);
    expect(form[0]!.card).toBe(true);
    expect(form[0]!.texts[0]).toBe('New Employee Registration');
    expect(form[0]!.actions.map((a) => a.title)).toEqual(['Confirm Registration', 'Back to Menu']);
    expect(unresolved(form)).toEqual([]);
    // The form field travels on; the card's own routing keys stay as the card set them.
    expect(form[0]!.actions[0]!.data).toEqual({
      action_id: 'submit_registration',
      routeToCardId: 'onboarding_checklist_card',
      employee_name: 'Ada',
    });

    const back = await user.say({ value: form[0]!.actions[1]!.data });
    expect(back[0]!.texts).toContain('Acme Corp - HR Onboarding');
    expect(back[0]!.actions.map((a) => a.title)).toContain('Start Onboarding');
  });

  it('hr-onboarding greets with its welcome card, titles resolved from its i18n bundle', async () => {
    await installUpstream('hr-onboarding', 'up-hr-welcome');
    const user = await webchatUser('up-hr-welcome');
    const welcome = await user.welcome();
    expect(welcome).toHaveLength(1);
    expect(welcome[0]!.texts).toContain('Acme Corp - HR Onboarding');
    expect(welcome[0]!.actions.map((a) => a.title)).toContain('Start Onboarding');
    expect(unresolved(welcome)).toEqual([]);
  });

  it('helpdesk-itsm greets with a card (the last its main flow renders, as greentic-start picks), and its buttons navigate to the routed cards', async () => {
    await installUpstream('helpdesk-itsm', 'up-helpdesk');
    const user = await webchatUser('up-helpdesk');
    // main chains nine card nodes with `next`; the answer is the last envelope-like output.
    const welcome = await user.welcome();
    expect(welcome).toHaveLength(1);
    expect(welcome[0]!.texts[0]).toBe('Ticket Timeline & Status');
    expect(unresolved(welcome)).toEqual([]);

    const menuButton = welcome[0]!.actions.find((a) => a.title === 'Back to Menu')!;
    const menu = await user.say({ value: menuButton.data });
    expect(menu).toHaveLength(1);
    expect(menu[0]!.texts).toContain('IT Help Desk');
    const create = menu[0]!.actions.find((a) => a.title.includes('Create a Ticket'))!;
    const step1 = await user.say({ value: create.data });
    expect(step1).toHaveLength(1);
    expect(step1[0]!.card).toBe(true);
    expect(unresolved(step1)).toEqual([]);
    expect(step1[0]!.texts).not.toContain('IT Help Desk');
  });

  it('quickstart answers typed text with its welcome card (the last card its flow renders), i18n resolved', async () => {
    await installUpstream('quickstart', 'up-quickstart');
    const user = await webchatUser('up-quickstart');
    const answer = await user.say({ text: 'hi' });
    expect(answer).toHaveLength(1);
    expect(answer[0]!.card).toBe(true);
    expect(answer[0]!.actions.map((a) => a.title)).toContain('🏠 About Greentic');
    expect(unresolved(answer)).toEqual([]);
  });

  it('a tenant whose packs offer no entry flow is answered once with the generic failure text and an error card', async () => {
    const user = await webchatUser('up-nopack');
    const answer = await user.say({ text: 'anyone there?' });
    expect(answer).toHaveLength(1);
    expect(answer[0]!.text).toBe(FAILURE_TEXT);
    expect(answer[0]!.card).toBe(true);
    expect(answer[0]!.texts).toContain('Something went wrong');
  });
});

const NAV_FLOW = `id: main
type: messaging
start: ask
nodes:
  ask:
    emit.response:
      text: "What is your order?"
    routing:
      - to: wait
  wait:
    session.wait:
      reason: order
    routing:
      - to: confirm
  confirm:
    emit.response:
      text: "Order: {{entry.text}}"
    routing: out
  menu:
    emit.response:
      text: "Menu node"
    routing: out
`;

const HELP_CARD = {
  type: 'AdaptiveCard',
  version: '1.5',
  body: [
    { type: 'TextBlock', text: '{{i18n:help.title}}' },
    // biome-ignore lint/suspicious/noTemplateCurlyInString: greentic-start's card placeholders
    { type: 'TextBlock', text: 'Hello ${employee}, ${unknown} stays' },
  ],
  actions: [{ type: 'Action.Submit', title: '{{i18n:help.back}}', data: { routeToCardId: 'menu' } }],
};

/** A pack of our own with cards and an i18n bundle in assets/, uploaded (unsigned, `dev`) and activated. */
async function installOwnPack(tenant: string, packId: string, flow: string, assets: Record<string, unknown> = {}): Promise<string> {
  const utf8 = new TextEncoder();
  const files = new Map<string, Uint8Array>([
    [
      'pack.yaml',
      utf8.encode(
        `pack_id: ${packId}\nversion: 1.0.0\nkind: application\npublisher: test\nflows:\n  - id: main\n    file: flows/main.ygtc\n    entrypoints: [default]\n`,
      ),
    ],
    ['flows/main.ygtc', utf8.encode(flow)],
    ...Object.entries(assets).map(([path, json]): [string, Uint8Array] => [path, utf8.encode(JSON.stringify(json))]),
  ]);
  const up = await SELF.fetch('http://x/admin/v1/packs', { method: 'POST', headers: ADMIN, body: buildPack(files).bytes });
  const body = await json<{ digest: string }>(up);
  expect(up.status, JSON.stringify(body)).toBe(201);
  const act = await SELF.fetch(`http://x/admin/v1/tenants/${tenant}/packs/${packId}`, {
    method: 'PUT',
    headers: { ...ADMIN, 'content-type': 'application/json' },
    body: JSON.stringify({ digest: body.digest }),
  });
  expect(act.status, await act.text()).toBe(200);
  return body.digest;
}

describe('card navigation and failures (a pack of our own)', () => {
  it('serving a routed card neither resumes nor cancels the parked run; a target that names a node enters the flow there', async () => {
    await installOwnPack('nav-own', 'nav.own', NAV_FLOW, {
      'assets/cards/help.json': HELP_CARD,
      'assets/i18n/en.json': { 'help.title': 'Help', 'help.back': 'Back' },
    });
    const user = await webchatUser('nav-own');
    expect((await user.welcome()).map((a) => a.text)).toEqual(['What is your order?']);

    const help = await user.say({ value: { routeToCardId: 'help', employee: 'Ada' } });
    expect(help).toHaveLength(1);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: an unknown placeholder stays literal
    expect(help[0]!.texts).toEqual(['Help', 'Hello Ada, ${unknown} stays']);
    expect(help[0]!.actions).toEqual([{ title: 'Back', data: { routeToCardId: 'menu', employee: 'Ada' } }]);

    // The run parked before the card was served still takes the answer.
    expect((await user.say({ text: 'tea' })).map((a) => a.text)).toEqual(['Order: tea']);
    expect((await user.say({ value: { routeToCardId: 'menu' } })).map((a) => a.text)).toEqual(['Menu node']);
    // A target that is neither a card nor a node runs the flow from its start.
    expect((await user.say({ value: { routeToCardId: 'nowhere' } })).map((a) => a.text)).toEqual(['What is your order?']);
  });

  it('i18n tokens a component left in an outgoing card are resolved from the pack bundles for the locale, then en, else the key', async () => {
    const digest = await installOwnPack('i18n-net', 'i18n.net', NAV_FLOW, {
      'assets/i18n/en.json': { 'help.title': 'Help', 'help.back': 'Back' },
      'assets/i18n/fr.json': { 'help.title': 'Aide' },
    });
    const model = await loadPackModel(testEnv.PACKS, digest);
    const [reply] = await resolveCardTokens(testEnv, model, [cardReply(HELP_CARD)], 'fr-FR');
    const card = JSON.stringify(reply!.attachments[0]!.content);
    expect(card).toContain('"Aide"');
    expect(card).toContain('"Back"');
    expect(card).not.toContain('{{i18n:');
    const plain = [{ text: 'no card', attachments: [], metadata: {}, extensions: {} }];
    expect(await resolveCardTokens(testEnv, model, plain, 'fr')).toEqual(plain);
  });

  it('a turn whose output is no message is answered once with the generic failure text and an error card, and is not retried', async () => {
    await installOwnPack(
      'bad-output',
      'bad.output',
      `id: main
type: messaging
start: look
nodes:
  look:
    state.get:
      key: nothing
    routing: out
`,
    );
    const user = await webchatUser('bad-output');
    const answer = await user.say({ text: 'hi' });
    expect(answer).toHaveLength(1);
    expect(answer[0]!.text).toBe(FAILURE_TEXT);
    expect(answer[0]!.texts).toEqual(['Something went wrong', FAILURE_TEXT]);
    const dead = await SELF.fetch('http://x/admin/v1/dead-letters?tenant=bad-output', { headers: ADMIN });
    expect((await json<{ dead_letters: unknown[] }>(dead)).dead_letters).toEqual([]);
  });
});

describe('WebChat card submits (upstream webchat provider)', () => {
  const envelopeOf = (activity: Record<string, unknown>) =>
    activityEnvelope(testEnv, 'up-submit', 'conv-1', 'conv-1|0000001', { type: 'message', from: { id: 'u1' }, ...activity });

  it('a submit without text takes its text from step, routeToCardId or toCardId (first present), and every value field becomes string metadata', () => {
    const telco = envelopeOf({ value: { step: 'menu:service-assurance', text: 'menu:service-assurance', depth: 2, tags: ['a'] } });
    expect(telco.text).toBe('menu:service-assurance');
    expect(telco.metadata).toMatchObject({ step: 'menu:service-assurance', text: 'menu:service-assurance', depth: '2', tags: '["a"]' });
    expect(envelopeOf({ value: { action_id: 'go', routeToCardId: 'welcome_card' } }).text).toBe('welcome_card');
    expect(envelopeOf({ value: { toCardId: 'next' } }).text).toBe('next');
    // Presence decides: a `step` that is not a string gives the default text rather than the next key.
    expect(envelopeOf({ value: { step: 2, routeToCardId: 'x' } }).text).toBe('message');
    expect(envelopeOf({ value: { action: 'tea' } }).text).toBe('message');
    expect(envelopeOf({ text: 'typed', value: { step: 'ignored' } }).text).toBe('typed');
  });
});
