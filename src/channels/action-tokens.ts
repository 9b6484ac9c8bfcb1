// Card action data that does not fit a provider's button payload (Telegram `callback_data` 64
// bytes, WhatsApp reply ids 256, list rows 200, Slack values 2,000) is kept server-side and the
// button carries a short token instead (channels.md §5). The token is derived from the tenant and
// the data, so re-rendering the same card stores nothing new; data that fits travels as is.

import type { WorkerEnv } from '../objects.js';
import { sha256HexAsync } from '../pack/digest.js';

const TOKEN_PREFIX = 'gt:';
const encoder = new TextEncoder();

function objectKey(env: WorkerEnv, tenant: string, token: string): string {
  return `channels/actions/${env.GREENTIC_ENV}/${tenant}/${token}`;
}

/** The button payload for `data`: its JSON (or the string itself) when it fits `maxBytes`, else a stored token. */
export async function actionPayload(env: WorkerEnv, tenant: string, data: unknown, maxBytes: number): Promise<string> {
  const json = typeof data === 'string' ? data : JSON.stringify(data ?? {});
  if (json !== '' && encoder.encode(json).byteLength <= maxBytes && !json.startsWith(TOKEN_PREFIX)) return json;
  const token = `${TOKEN_PREFIX}${(await sha256HexAsync(encoder.encode(`${tenant}\n${json}`))).slice(0, 32)}`;
  await env.PACKS.put(objectKey(env, tenant, token), json, { httpMetadata: { contentType: 'application/json' } });
  return token;
}

/** The data a button payload stands for: a stored token's data, parsed JSON, or the plain string. */
export async function actionData(env: WorkerEnv, tenant: string, payload: string): Promise<unknown> {
  let json = payload;
  if (payload.startsWith(TOKEN_PREFIX)) {
    if (!/^gt:[0-9a-f]{32}$/.test(payload)) return payload;
    const stored = await env.PACKS.get(objectKey(env, tenant, payload));
    if (stored === null) return payload;
    json = await stored.text();
  }
  if (!json.startsWith('{')) return json;
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return json;
  }
}
