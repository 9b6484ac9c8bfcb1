// Where a Teams conversation is answered: the `serviceUrl` of its latest verified activity (it
// can change) and the bot's id in it, kept per tenant and conversation in R2. Replies are sent
// there and nowhere else, so our bearer token only ever goes to a host the Bot Connector named in
// a signed request (channels.md §2.3 step 6).
import { z } from 'zod';
import type { WorkerEnv } from '../../objects.js';
import { sha256HexAsync } from '../../pack/digest.js';

const refSchema = z.object({ service_url: z.url(), bot_id: z.string() });
export type ConversationRef = z.infer<typeof refSchema>;

/** What this isolate last stored per key, so a busy conversation does not rewrite the same object. */
const written = new Map<string, string>();

async function refKey(env: WorkerEnv, tenant: string, conversationId: string): Promise<string> {
  const hash = await sha256HexAsync(new TextEncoder().encode(conversationId));
  return `channels/teams/${env.GREENTIC_ENV}/${tenant}/conversations/${hash}`;
}

export async function saveConversationRef(env: WorkerEnv, tenant: string, conversationId: string, ref: ConversationRef): Promise<void> {
  const key = await refKey(env, tenant, conversationId);
  const json = JSON.stringify(ref);
  if (written.get(key) === json) return;
  await env.PACKS.put(key, json, { httpMetadata: { contentType: 'application/json' } });
  written.set(key, json);
}

export async function loadConversationRef(env: WorkerEnv, tenant: string, conversationId: string): Promise<ConversationRef | undefined> {
  const obj = await env.PACKS.get(await refKey(env, tenant, conversationId));
  if (obj === null) return undefined;
  const parsed = refSchema.safeParse(await obj.json());
  return parsed.success ? parsed.data : undefined;
}
