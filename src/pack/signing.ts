// Manifest-embedded Ed25519 signatures (reference §8.1): the message is the manifest re-encoded
// with an empty signature list, and each signature is appended to `signatures.signatures`.
// Verification is RFC 8032 strict (noble's `zip215: false`): non-canonical S and small-order keys
// are rejected, as ed25519-dalek's `verify_strict` does upstream.
import * as ed from '@noble/ed25519';
import { sha512Bytes } from './digest.js';
import { base64Decode, base64Encode, keyId } from './keys.js';
import { manifestSigningBytes } from './manifest-encode.js';
import type { PackManifest, Signature } from './manifest-types.js';

// noble's synchronous API needs a SHA-512; WebCrypto's is async-only.
ed.hashes.sha512 = sha512Bytes;

export interface KeyPair {
  seed: Uint8Array;
  publicKey: Uint8Array;
}

export function generateKeyPair(): KeyPair {
  const seed = ed.utils.randomSecretKey();
  return { seed, publicKey: ed.getPublicKey(seed) };
}

export function publicKeyFromSeed(seed: Uint8Array): Uint8Array {
  return ed.getPublicKey(seed);
}

/** A copy of `manifest` with one more signature, made with `seed`. */
export function signManifest(manifest: PackManifest, seed: Uint8Array, id?: string): PackManifest {
  const message = manifestSigningBytes(manifest);
  const signature: Signature = {
    key_id: id ?? keyId(ed.getPublicKey(seed)),
    algorithm: 'ed25519',
    signature: base64Encode(ed.sign(message, seed)),
  };
  return { ...manifest, signatures: { signatures: [...manifest.signatures.signatures, signature] } };
}

export type SignatureStatus = 'valid' | 'invalid' | 'unchecked' | 'unsupported-algorithm' | 'malformed';

export interface SignatureCheck {
  key_id: string;
  algorithm: string;
  status: SignatureStatus;
  /** Key id (derived) of the trusted key that verified it. */
  verified_by?: string;
}

export function verifyEd25519Strict(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  try {
    return ed.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/** Check every embedded signature against every trusted key. */
export function checkSignatures(manifest: PackManifest, trustedKeys: readonly Uint8Array[]): SignatureCheck[] {
  const sigs = manifest.signatures.signatures;
  if (sigs.length === 0) return [];
  const message = manifestSigningBytes(manifest);
  return sigs.map((s) => {
    const algorithm = typeof s.algorithm === 'string' ? s.algorithm : `other:${String((s.algorithm as { other?: unknown }).other)}`;
    const base = { key_id: String(s.key_id), algorithm };
    if (s.algorithm !== 'ed25519') return { ...base, status: 'unsupported-algorithm' };
    const raw = typeof s.signature === 'string' ? base64Decode(s.signature) : undefined;
    if (raw === undefined || raw.length !== 64) return { ...base, status: 'malformed' };
    if (trustedKeys.length === 0) return { ...base, status: 'unchecked' };
    for (const key of trustedKeys) {
      if (verifyEd25519Strict(raw, message, key)) return { ...base, status: 'valid', verified_by: keyId(key) };
    }
    return { ...base, status: 'invalid' };
  });
}
