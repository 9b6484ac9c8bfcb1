import { SELF } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DirectLineActivity } from '../../src/channels/webchat/conversation.js';
import { setTelemetrySink } from '../../src/edge/telemetry.js';
import { until } from '../support/until.js';
import { type UpstreamPackName, upstreamPack } from '../support/upstream-packs.js';
import { getActivities, json, post, type Started, startConversation } from '../support/webchat-client.js';

const ADMIN = { authorization: 'Bearer test-admin-token' };

beforeAll(() => {
  setTelemetrySink(() => {});
});

async function install(name: UpstreamPackName, tenant: string): Promise<void> {
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

/** A WebChat user: each step posts an activity and returns the bot activities that answer it. */
async function user(tenant: string) {
  const started: Started = await startConversation(tenant, 'u-test');
  let seen = 0;
  const botSince = async (): Promise<DirectLineActivity[]> => {
    const log = (await json<{ activities: DirectLineActivity[] }>(await getActivities(tenant, started.conversationId, started.token)))
      .activities;
    return log.filter((a) => a.from?.role === 'bot');
  };
  return {
    started,
    async say(activity: { text?: string; value?: unknown }): Promise<DirectLineActivity[]> {
      const res = await post(tenant, started.conversationId, started.token, {
        type: 'message',
        from: { id: 'u-test' },
        locale: 'en-US',
        ...activity,
      });
      expect(res.status).toBe(200);
      const { id } = await json<{ id: string }>(res);
      return until(
        async () => {
          const replies = (await botSince()).filter((a) => a.replyToId === id);
          return replies.length > 0 ? replies : undefined;
        },
        `the reply to ${id}`,
        30_000,
      );
    },
    async all(): Promise<DirectLineActivity[]> {
      const all = await botSince();
      seen = all.length;
      return all;
    },
  };
}

/** What a user sees of a bot activity: its text, the card texts and the card actions (title → data). */
function view(a: DirectLineActivity): { text?: string; card: boolean; texts: string[]; actions: { title: string; data: unknown }[] } {
  const texts: string[] = [];
  const actions: { title: string; data: unknown }[] = [];
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) return x.forEach(walk);
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

describe('upstream packs', () => {
  for (const name of ['quickstart', 'hr-onboarding', 'helpdesk-itsm', 'quickstart-app'] as const) {
    it(`probe ${name}`, async () => {
      setTelemetrySink((e) => {
        if (JSON.stringify(e).includes('error')) console.log(JSON.stringify(e).slice(0, 600));
      });
      await install(name, `up-${name}`);
      const u = await user(`up-${name}`);
      const r = await u.say({ text: 'hi' }).catch((e) => String(e));
      console.log(name, JSON.stringify(typeof r === 'string' ? r : r.map(view)).slice(0, 1500));
    });
  }
  it('telco-x', async () => {
    await install('telco-x', 'up-telco');
    const u = await user('up-telco');
    const r = await u.say({ text: 'hello' });
    console.log(JSON.stringify(r.map(view)));
    console.log(JSON.stringify((await u.say({ value: { step: '', text: '' } })).map(view)));
  });
});
