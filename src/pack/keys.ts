// Ed25519 keys in the PEM forms greentic-pack uses: PKCS#8 private keys ("PRIVATE KEY", and the
// legacy signer's "ED25519 PRIVATE KEY" label) and SPKI public keys ("PUBLIC KEY"), plus the
// runner's `ed25519:<base64>` form. Ed25519 DER is a fixed prefix followed by the raw key, so the
// DER is matched byte for byte rather than parsed with a general ASN.1 reader.
import { bytesToHex, sha256Bytes } from './digest.js';
import { PackError } from './errors.js';

const PKCS8_V1_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
// RFC 8410 OneAsymmetricKey (v2) with the public key attached: [1] IMPLICIT BIT STRING.
const PKCS8_V2_PREFIX = Uint8Array.from([0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
const PKCS8_V2_PUB = Uint8Array.from([0x81, 0x21, 0x00]);
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

export function base64Encode(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Standard or URL-safe base64, padded or not; undefined when malformed. */
export function base64Decode(text: string): Uint8Array | undefined {
  const t = text.trim().replace(/-/g, '+').replace(/_/g, '/');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t) || t.replace(/=+$/, '').length % 4 === 1) return undefined;
  const padded = t.replace(/=+$/, '') + '='.repeat((4 - (t.replace(/=+$/, '').length % 4)) % 4);
  try {
    const bin = atob(padded);
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

function startsWith(b: Uint8Array, prefix: Uint8Array, at = 0): boolean {
  if (b.length < at + prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (b[at + i] !== prefix[i]) return false;
  return true;
}

interface PemBlock {
  label: string;
  der: Uint8Array;
}

function readPem(text: string, where: string): PemBlock {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(text);
  if (m === null) throw new PackError('KeyParse', 'no PEM block found', where);
  const der = base64Decode((m[2] as string).replace(/\s+/g, ''));
  if (der === undefined) throw new PackError('KeyParse', 'PEM body is not valid base64', where);
  return { label: m[1] as string, der };
}

/** The 32-byte Ed25519 seed from a PKCS#8 PEM private key. */
export function parsePrivateKeyPem(text: string, where = 'private key'): Uint8Array {
  const { label, der } = readPem(text, where);
  if (label !== 'PRIVATE KEY' && label !== 'ED25519 PRIVATE KEY') {
    throw new PackError('KeyParse', `expected a "PRIVATE KEY" PEM block, found "${label}"`, where);
  }
  if (der.length === 48 && startsWith(der, PKCS8_V1_PREFIX)) return der.slice(16, 48);
  if (der.length === 83 && startsWith(der, PKCS8_V2_PREFIX) && startsWith(der, PKCS8_V2_PUB, 48)) return der.slice(16, 48);
  throw new PackError('KeyParse', 'not an Ed25519 PKCS#8 private key', where);
}

/** The 32-byte Ed25519 public key from an SPKI PEM, or from `ed25519:<base64>`. */
export function parsePublicKey(text: string, where = 'public key'): Uint8Array {
  const t = text.trim();
  if (t.startsWith('ed25519:')) {
    const raw = base64Decode(t.slice('ed25519:'.length));
    if (raw === undefined || raw.length !== 32) throw new PackError('KeyParse', 'ed25519: key must be base64 of 32 bytes', where);
    return raw;
  }
  const { label, der } = readPem(t, where);
  if (label !== 'PUBLIC KEY') throw new PackError('KeyParse', `expected a "PUBLIC KEY" PEM block, found "${label}"`, where);
  if (der.length !== 44 || !startsWith(der, SPKI_PREFIX)) throw new PackError('KeyParse', 'not an Ed25519 SPKI public key', where);
  return der.slice(12);
}

/** `PACK_TRUSTED_KEYS`: SPKI PEM blocks and/or `ed25519:` keys, comma- or whitespace-separated. */
export function parseTrustedKeys(text: string): Uint8Array[] {
  const keys: Uint8Array[] = [];
  const pem = /-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g;
  for (const m of text.matchAll(pem)) keys.push(parsePublicKey(m[0], 'PACK_TRUSTED_KEYS'));
  for (const part of text.replace(pem, '').split(/[\s,]+/)) {
    if (part.length > 0) keys.push(parsePublicKey(part, 'PACK_TRUSTED_KEYS'));
  }
  return keys;
}

function pem(label: string, der: Uint8Array): string {
  const b64 = base64Encode(der)
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

export function privateKeyToPem(seed: Uint8Array): string {
  const der = new Uint8Array(48);
  der.set(PKCS8_V1_PREFIX);
  der.set(seed, 16);
  return pem('PRIVATE KEY', der);
}

export function publicKeyToPem(pub: Uint8Array): string {
  const der = new Uint8Array(44);
  der.set(SPKI_PREFIX);
  der.set(pub, 12);
  return pem('PUBLIC KEY', der);
}

/** Key id as upstream's trust roots derive it: hex of the first 16 bytes of SHA-256(raw key). */
export function keyId(pub: Uint8Array): string {
  return bytesToHex(sha256Bytes(pub).subarray(0, 16));
}
