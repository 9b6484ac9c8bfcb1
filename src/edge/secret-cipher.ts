// Tenant secrets are encrypted at rest with AES-256-GCM under keys the deployment holds as a Worker
// secret, so R2 (and anyone who can read the bucket) never sees a secret's value. The keyring
// lists key ids with their bytes; the first key seals new values and every listed key opens
// stored ones, which is what lets a key rotate while values sealed under the old one stay
// readable until the migration re-seals them. A value is bound to the R2 key it is stored at
// (additional authenticated data), so bytes copied to another tenant's key do not open there.
import { CodedError } from '../core/coded-error.js';
import { bytesToHex } from '../pack/digest.js';
import { base64Decode } from '../pack/keys.js';

/** The Worker secret holding the keyring: `<kid>:<base64 of 32 bytes>`, comma-separated, newest first. */
export const SECRETS_KEYS_SETTING = 'SECRETS_ENCRYPTION_KEYS';

export type SecretCipherErrorCode = 'SecretsKeyMissing' | 'SecretsKeyringInvalid' | 'SecretKeyUnknown' | 'SecretUndecryptable';

export class SecretCipherError extends CodedError<SecretCipherErrorCode> {}

export interface SecretKey {
  id: string;
  seal: CryptoKey;
  mac: CryptoKey;
}

export interface Keyring {
  /** The key new values are sealed under. */
  primary: SecretKey;
  byId: ReadonlyMap<string, SecretKey>;
}

/** Key ids are stored in R2 metadata and AAD, so they stay short and plain. */
const KEY_ID = /^[A-Za-z0-9._-]{1,32}$/;
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const ENVELOPE_VERSION = 1;
/** Bytes a sealed value has beyond its plaintext: version byte, IV and GCM tag. */
export const SEALED_OVERHEAD = 1 + IV_BYTES + TAG_BYTES;

const encoder = new TextEncoder();
const NO_SALT = new Uint8Array();

const missingKeyMessage = (doing: string) =>
  `${doing}: tenant secrets are encrypted at rest and ${SECRETS_KEYS_SETTING} is not set ` +
  `(generate a key with \`openssl rand -base64 32\`, then \`wrangler secret put ${SECRETS_KEYS_SETTING}\` with the value "k1:<key>")`;

/**
 * One raw key gives two keys by HKDF, one per purpose: AES-GCM for values and HMAC for their
 * digests, so the digest the listing shows never reuses the encryption key.
 */
async function deriveKey(id: string, raw: Uint8Array<ArrayBuffer>): Promise<SecretKey> {
  const base = await crypto.subtle.importKey('raw', raw, 'HKDF', false, ['deriveKey']);
  const hkdf = (info: string) => ({ name: 'HKDF', hash: 'SHA-256', salt: NO_SALT, info: encoder.encode(info) });
  const [seal, mac] = await Promise.all([
    crypto.subtle.deriveKey(hkdf('greentic secrets/aes-256-gcm/1'), base, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']),
    crypto.subtle.deriveKey(hkdf('greentic secrets/digest/1'), base, { name: 'HMAC', hash: 'SHA-256', length: 256 }, false, ['sign']),
  ]);
  return { id, seal, mac };
}

/** Parses the keyring setting; the message names the entry at fault, never key material. */
export async function parseKeyring(setting: string): Promise<Keyring> {
  const entries = setting
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  const invalid = (why: string) => new SecretCipherError('SecretsKeyringInvalid', `${SECRETS_KEYS_SETTING} is not valid: ${why}`);
  if (entries.length === 0) throw invalid('it lists no key; use "<kid>:<base64 of 32 bytes>", comma-separated, newest first');
  const keys: SecretKey[] = [];
  for (const [i, entry] of entries.entries()) {
    const colon = entry.indexOf(':');
    const id = colon < 0 ? '' : entry.slice(0, colon);
    if (!KEY_ID.test(id))
      throw invalid(`entry ${i + 1} does not start with a key id ("<kid>:", kid of letters, digits, ".", "_", "-", at most 32)`);
    if (keys.some((k) => k.id === id)) throw invalid(`key id "${id}" is listed twice`);
    const raw = base64Decode(entry.slice(colon + 1));
    if (raw === undefined || raw.length !== KEY_BYTES)
      throw invalid(`key "${id}" is not the base64 of ${KEY_BYTES} bytes (make one with \`openssl rand -base64 32\`)`);
    keys.push(await deriveKey(id, raw as Uint8Array<ArrayBuffer>));
  }
  return { primary: keys[0]!, byId: new Map(keys.map((k) => [k.id, k])) };
}

// Deriving keys costs a few WebCrypto calls; one isolate serves many requests with one setting.
const parsed = new Map<string, Promise<Keyring>>();

/** The deployment's keyring, `undefined` when the setting is absent or blank. */
export function keyringOf(setting: string | undefined): Promise<Keyring | undefined> {
  if (setting === undefined || setting.trim() === '') return Promise.resolve(undefined);
  let ring = parsed.get(setting);
  if (ring === undefined) {
    if (parsed.size >= 8) parsed.clear();
    ring = parseKeyring(setting);
    parsed.set(setting, ring);
  }
  return ring;
}

/** The keyring, or an error saying which setting to add (`doing` says what needed it). */
export async function requireKeyring(setting: string | undefined, doing: string): Promise<Keyring> {
  const ring = await keyringOf(setting);
  if (ring === undefined) throw new SecretCipherError('SecretsKeyMissing', missingKeyMessage(doing));
  return ring;
}

const aad = (kid: string, storageKey: string) => encoder.encode(`greentic-secret/${ENVELOPE_VERSION}\n${kid}\n${storageKey}`);

/** The sealed envelope: version byte, 96-bit random IV, AES-GCM ciphertext with its tag. */
export async function sealSecret(key: SecretKey, storageKey: string, plaintext: Uint8Array): Promise<Uint8Array> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: aad(key.id, storageKey) },
      key.seal,
      plaintext as Uint8Array<ArrayBuffer>,
    ),
  );
  const out = new Uint8Array(1 + IV_BYTES + sealed.length);
  out[0] = ENVELOPE_VERSION;
  out.set(iv, 1);
  out.set(sealed, 1 + IV_BYTES);
  return out;
}

/** Opens what `sealSecret` made for the same storage key under key `kid`; refuses anything else. */
export async function openSecret(keyring: Keyring | undefined, kid: string, storageKey: string, envelope: Uint8Array): Promise<Uint8Array> {
  if (keyring === undefined)
    throw new SecretCipherError('SecretsKeyMissing', missingKeyMessage(`the value is encrypted under key "${kid}"`));
  const key = keyring.byId.get(kid);
  if (key === undefined)
    throw new SecretCipherError(
      'SecretKeyUnknown',
      `the value is encrypted under key "${kid}", which ${SECRETS_KEYS_SETTING} no longer lists (keep an old key until the migration has re-encrypted its values)`,
    );
  const undecryptable = () =>
    new SecretCipherError(
      'SecretUndecryptable',
      `the stored value does not decrypt under key "${kid}": it was altered, or copied from another secret's storage key`,
    );
  if (envelope.length < SEALED_OVERHEAD || envelope[0] !== ENVELOPE_VERSION) throw undecryptable();
  try {
    return new Uint8Array(
      await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: envelope.subarray(1, 1 + IV_BYTES), additionalData: aad(kid, storageKey) },
        key.seal,
        envelope.subarray(1 + IV_BYTES),
      ),
    );
  } catch {
    throw undecryptable();
  }
}

/**
 * A digest of a value that tells two values apart without letting anyone who reads it guess the
 * value: a bare sha256 of a short password is found by trying candidates, an HMAC under a key the
 * Worker keeps is not.
 */
export async function secretDigest(key: SecretKey, plaintext: Uint8Array): Promise<string> {
  const mac = await crypto.subtle.sign('HMAC', key.mac, plaintext as Uint8Array<ArrayBuffer>);
  return `hmac-sha256:${bytesToHex(new Uint8Array(mac))}`;
}
