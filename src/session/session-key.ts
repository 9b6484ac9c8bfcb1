// Session keys and reply-scope hashes as upstream greentic-types defines them (runner reference
// §4.1). The channel object's name and shard are in objects.ts.
import type { ReplyScope } from '../bus/envelope.js';
import { sha256Hex } from '../pack/digest.js';

/** `{tenant}:{provider}:{anchor|conversation}:{user|user}` (greentic-types `canonical_session_key`). */
export function canonicalSessionKey(tenant: string, provider: string, anchor?: string, user?: string): string {
  return `${tenant}:${provider}:${nonEmpty(anchor) ?? 'conversation'}:${nonEmpty(user) ?? 'user'}`;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

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
