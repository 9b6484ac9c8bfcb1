// Session keys, reply scopes and the channel-object name, as upstream greentic-types defines them
// (runner reference §4.1), plus the shard choice that keeps one session on one object.
import { z } from 'zod';
import { sha256Bytes, sha256Hex } from '../pack/digest.js';

/** `{tenant}:{provider}:{anchor|conversation}:{user|user}` (greentic-types `canonical_session_key`). */
export function canonicalSessionKey(tenant: string, provider: string, anchor?: string, user?: string): string {
  return `${tenant}:${provider}:${nonEmpty(anchor) ?? 'conversation'}:${nonEmpty(user) ?? 'user'}`;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

export const replyScopeSchema = z.object({
  conversation: z.string(),
  thread: z.string().optional(),
  reply_to: z.string().optional(),
  correlation: z.string().optional(),
});
export type ReplyScope = z.infer<typeof replyScopeSchema>;

/** Hex sha256 of `conversation\nthread\nreply_to\ncorrelation`, absent fields as empty strings. */
export function scopeHash(scope: ReplyScope): string {
  const joined = [scope.conversation, scope.thread ?? '', scope.reply_to ?? '', scope.correlation ?? ''].join('\n');
  return sha256Hex(new TextEncoder().encode(joined));
}

/** Waits are saved under the scope without its correlation id, as upstream does before hashing. */
export function waitScopeHash(scope: ReplyScope): string {
  const { correlation: _dropped, ...rest } = scope;
  return scopeHash(rest);
}

export interface ChannelAddress {
  env: string;
  tenant: string;
  team: string;
  channel: string;
}

/** Shard of a session key among `shards` objects: the first 32 bits of its sha256, mod N. */
export function shardOf(sessionKey: string, shards: number): number {
  if (!Number.isInteger(shards) || shards <= 1) return 0;
  const h = sha256Bytes(new TextEncoder().encode(sessionKey));
  const n = ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
  return n % shards;
}

/** `{env}:{tenant}:{team}:{channel}` plus `:{shard}` when the channel is split over several objects. */
export function channelObjectName(address: ChannelAddress, sessionKey: string, shards: number): string {
  const base = `${address.env}:${address.tenant}:${address.team}:${address.channel}`;
  return shards > 1 ? `${base}:${shardOf(sessionKey, shards)}` : base;
}

export function parseShardCount(raw: string | undefined): number {
  const n = Number.parseInt(raw ?? '1', 10);
  return Number.isInteger(n) && n >= 1 ? n : 1;
}
