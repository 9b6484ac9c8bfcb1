// Which uploaded packs the policy in force lets run. Verification (signatures, integrity) runs at
// upload and activation and its outcome is recorded on the pack's index row (`trust`,
// `signed_by`); the message path only compares that record with the deployment's policy and keys,
// so a switch to `strict` or a removed key takes effect on the next message without re-verifying.
import type { Env } from '../env.js';
import { keyId, parseTrustedKeys } from '../pack/keys.js';
import type { TrustPolicy } from '../pack/verify.js';

export type { TrustPolicy };

/** `trust` of a pack whose last verification found a trusted signature and no integrity problem. */
export const VERIFIED = 'verified';

export type TrustSettings = Pick<Env, 'PACK_TRUST_POLICY' | 'PACK_TRUSTED_KEYS'>;

/** Anything but an explicit `dev` is `strict`. */
export function trustPolicyOf(env: Pick<Env, 'PACK_TRUST_POLICY'>): TrustPolicy {
  return env.PACK_TRUST_POLICY === 'dev' ? 'dev' : 'strict';
}

let keyIdsCache: { text: string; ids: ReadonlySet<string> } | undefined;

/** Key ids of `PACK_TRUSTED_KEYS` (parsed once per value per isolate); none when it does not parse. */
function trustedKeyIds(text: string): ReadonlySet<string> {
  if (keyIdsCache?.text === text) return keyIdsCache.ids;
  let ids: ReadonlySet<string>;
  try {
    ids = new Set(parseTrustedKeys(text).map(keyId));
  } catch {
    ids = new Set();
  }
  keyIdsCache = { text, ids };
  return ids;
}

/**
 * Whether a pack may run under the policy in force: under `dev` every uploaded pack does; under
 * `strict` only one whose recorded verification found a signature by a key still trusted.
 */
export function runsUnderPolicy(env: TrustSettings, pack: { trust: string; signed_by: string | null }): boolean {
  if (trustPolicyOf(env) === 'dev') return true;
  return pack.trust === VERIFIED && pack.signed_by !== null && trustedKeyIds(env.PACK_TRUSTED_KEYS ?? '').has(pack.signed_by);
}
