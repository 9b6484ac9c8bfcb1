// The project's one hashing module: code that runs in the Worker or the CLI takes its BLAKE3,
// SHA-256 and SHA-512 from here; only Node-only build scripts hash with node:crypto. The hashes come
// from @noble/hashes (pure JS, runs in Node and workerd alike); `sha256HexAsync` uses WebCrypto
// when present because the native digest is an order of magnitude faster on multi-megabyte
// component binaries.
import { blake3 } from '@noble/hashes/blake3.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

export function sha256Bytes(bytes: Uint8Array): Uint8Array {
  return sha256(bytes);
}

export function sha256Hex(bytes: Uint8Array): string {
  return bytesToHex(sha256(bytes));
}

/** SHA-512, synchronous: what Ed25519 signing and verification hash with. */
export function sha512Bytes(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return sha512(bytes);
}

export function blake3Hex(bytes: Uint8Array): string {
  return bytesToHex(blake3(bytes));
}

export function blake3Bytes(bytes: Uint8Array): Uint8Array {
  return blake3(bytes);
}

export async function sha256HexAsync(bytes: Uint8Array): Promise<string> {
  const subtle = typeof crypto === 'undefined' ? undefined : crypto.subtle;
  if (subtle === undefined) return sha256Hex(bytes);
  const digest = await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return bytesToHex(new Uint8Array(digest));
}

/** `sha256:<hex>` as used for component pins, lock digests and pack digests. */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${sha256Hex(bytes)}`;
}

export { bytesToHex };
