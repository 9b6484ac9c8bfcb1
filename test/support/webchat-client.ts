// A Direct Line client over the Worker (SELF), as WebChat speaks it: mint a token, start a
// conversation, post activities, read the activity log.
import { env, SELF } from 'cloudflare:test';
import type { ActivitySet } from '../../src/channels/webchat/conversation.js';
import { type WorkerEnv, webchatConversation } from '../../src/objects.js';
import { until } from './until.js';

const ORIGIN = 'http://127.0.0.1:8787';
export const webchatBase = (tenant: string) => `${ORIGIN}/v1/messaging/webchat/${tenant}`;
export const directLineBase = (tenant: string) => `${webchatBase(tenant)}/v3/directline`;

export interface Started {
  conversationId: string;
  token: string;
  streamUrl: string;
}

export async function json<T>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

export async function startConversation(tenant: string, userId = 'u1'): Promise<Started> {
  const minted = await json<{ token: string }>(await SELF.fetch(`${webchatBase(tenant)}/token`, { method: 'POST' }));
  const res = await SELF.fetch(`${directLineBase(tenant)}/conversations`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${minted.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ user: { id: userId } }),
  });
  if (res.status !== 201) throw new Error(`starting a conversation answered ${res.status}: ${await res.text()}`);
  return json<Started>(res);
}

/**
 * A conversation created on its object directly, so no welcome turn runs: for tests that hand the
 * bot their own envelopes and count every bot activity of the conversation.
 */
export async function startQuietConversation(tenant: string, userId = 'u1'): Promise<Started> {
  const minted = await json<{ token: string; conversationId: string }>(
    await SELF.fetch(`${webchatBase(tenant)}/token`, { method: 'POST' }),
  );
  await webchatConversation(env as unknown as WorkerEnv, tenant, minted.conversationId).start(tenant, minted.conversationId, userId);
  return { conversationId: minted.conversationId, token: minted.token, streamUrl: '' };
}

export function post(tenant: string, conv: string, token: string, activity: unknown): Promise<Response> {
  return SELF.fetch(`${directLineBase(tenant)}/conversations/${conv}/activities`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: typeof activity === 'string' ? activity : JSON.stringify(activity),
  });
}

export function getActivities(tenant: string, conv: string, token: string, watermark = ''): Promise<Response> {
  return SELF.fetch(`${directLineBase(tenant)}/conversations/${conv}/activities?watermark=${watermark}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
}

/** The bot's replies (texts) to the user activity `replyToId`, once there is at least one. */
export function botRepliesTo(tenant: string, started: Started, replyToId: string, timeoutMs?: number): Promise<string[]> {
  return until<string[]>(
    async () => {
      const log = (await json<ActivitySet>(await getActivities(tenant, started.conversationId, started.token))).activities;
      const replies = log.filter((a) => a.replyToId === replyToId).map((a) => String(a.text ?? ''));
      return replies.length > 0 ? replies : undefined;
    },
    `the bot's reply to ${replyToId}`,
    timeoutMs,
  );
}
