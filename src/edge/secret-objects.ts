// Secret values as R2 objects: the one place that reads and writes them, for the admin API, the
// component host and the at-rest migration. A sealed object carries its key id and a keyed digest
// in customMetadata (`kid`, `digest`, `updated_at`); an object without `kid` is a plaintext value
// written before encryption at rest, still read so a running bot survives the upgrade until the
// migration (`POST /admin/v1/secrets/migrate`) re-seals it.
import { errorMessage } from '../core/coded-error.js';
import { type Keyring, keyringOf, openSecret, SEALED_OVERHEAD, sealSecret, secretDigest } from './secret-cipher.js';

type Metadata = Record<string, string> | undefined;

/** The key id a stored value is sealed under; `undefined` for a plaintext value. */
export function sealedUnder(meta: Metadata): string | undefined {
  return meta?.kid;
}

/**
 * The value stored at `storageKey`, `null` when there is none; throws SecretCipherError when it
 * does not open. `keys` is the keyring setting, parsed only for a sealed value, so plaintext
 * values stay readable while the setting is missing or wrong.
 */
export async function readSecretObject(bucket: R2Bucket, keys: string | undefined, storageKey: string): Promise<Uint8Array | null> {
  const obj = await bucket.get(storageKey);
  if (obj === null) return null;
  const body = new Uint8Array(await obj.arrayBuffer());
  const kid = sealedUnder(obj.customMetadata);
  return kid === undefined ? body : openSecret(await keyringOf(keys), kid, storageKey, body);
}

export interface SealedWrite {
  kid: string;
  digest: string;
  updated_at: string;
}

/**
 * Seals `value` under the primary key and stores it at `storageKey`. With `onlyIf`, `null` when
 * the object changed in between (R2's conditional put), so a concurrent write is never undone.
 */
export async function writeSecretObject(
  bucket: R2Bucket,
  keyring: Keyring,
  storageKey: string,
  value: Uint8Array,
  updatedAt: string,
  onlyIf?: R2Conditional,
): Promise<SealedWrite | null> {
  const key = keyring.primary;
  const meta: SealedWrite = { kid: key.id, digest: await secretDigest(key, value), updated_at: updatedAt };
  const sealed = await sealSecret(key, storageKey, value);
  const put = await bucket.put(storageKey, sealed, { customMetadata: { ...meta }, ...(onlyIf === undefined ? {} : { onlyIf }) });
  return put === null ? null : meta;
}

/** What the admin listing shows of a stored value, never the value. */
export interface StoredSecretSummary {
  /** Keyed digest (see secretDigest); `null` for a plaintext value while no key is configured. */
  digest: string | null;
  /** The key the value is sealed under; `null` for a plaintext value awaiting the migration. */
  key_id: string | null;
  /** Bytes of the value (not of its envelope). */
  size: number;
}

/**
 * A listed object's summary from its metadata; a plaintext value is read to digest it, so the
 * listing never shows the bare sha256 that older versions stored beside it.
 */
export async function storedSecretSummary(bucket: R2Bucket, keyring: Keyring | undefined, obj: R2Object): Promise<StoredSecretSummary> {
  const kid = sealedUnder(obj.customMetadata);
  if (kid !== undefined) return { digest: obj.customMetadata?.digest ?? null, key_id: kid, size: obj.size - SEALED_OVERHEAD };
  const body = keyring === undefined ? null : await bucket.get(obj.key);
  const digest =
    body === null || keyring === undefined ? null : await secretDigest(keyring.primary, new Uint8Array(await body.arrayBuffer()));
  return { digest, key_id: null, size: obj.size };
}

export type ResealOutcome =
  | { status: 'current' }
  | { status: 'resealed'; from: string | null }
  | { status: 'changed' }
  | { status: 'unreadable'; reason: string };

/**
 * Re-seals one listed object under the primary key when it is plaintext or sealed under another
 * key; the `updated_at` it had is kept, since the value did not change. The write is conditional
 * on the object being the one read, so a value set meanwhile is left as it is (`changed`).
 */
export async function resealSecretObject(bucket: R2Bucket, keyring: Keyring, listed: R2Object): Promise<ResealOutcome> {
  if (sealedUnder(listed.customMetadata) === keyring.primary.id) return { status: 'current' };
  const obj = await bucket.get(listed.key);
  if (obj === null) return { status: 'changed' };
  const from = sealedUnder(obj.customMetadata) ?? null;
  if (from === keyring.primary.id) return { status: 'current' };
  const body = new Uint8Array(await obj.arrayBuffer());
  let value: Uint8Array;
  try {
    value = from === null ? body : await openSecret(keyring, from, obj.key, body);
  } catch (err) {
    return { status: 'unreadable', reason: errorMessage(err) };
  }
  const updatedAt = obj.customMetadata?.updated_at ?? obj.uploaded.toISOString();
  const written = await writeSecretObject(bucket, keyring, obj.key, value, updatedAt, { etagMatches: obj.etag });
  return written === null ? { status: 'changed' } : { status: 'resealed', from };
}
