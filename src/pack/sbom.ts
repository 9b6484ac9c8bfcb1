// `sbom.cbor` (greentic-sbom-v1): canonical CBOR listing every archive entry except the SBOM
// itself and signature files, each with its BLAKE3. `sbom.json` (same shape) is read too.
import { errorMessage } from '../core/coded-error.js';
import { isObject } from '../core/is-object.js';
import { decodeCbor, encodeCanonicalCbor } from './cbor.js';
import { PackError } from './errors.js';

export const SBOM_FORMAT = 'greentic-sbom-v1';

export interface SbomEntry {
  path: string;
  size: number;
  media_type: string;
  hash_blake3: string;
}

/** Entries the SBOM never lists (upstream's exclusion list). */
export function isSbomExempt(path: string): boolean {
  return path === 'sbom.cbor' || path === 'sbom.json' || path === 'signatures/pack.sig' || path === 'signatures/chain.pem';
}

export function mediaTypeFor(path: string): string {
  if (path.endsWith('.cbor') && path !== 'pack.lock.cbor') return 'application/cbor';
  if (path.endsWith('.wasm')) return 'application/wasm';
  if (path.startsWith('flows/') && path.endsWith('.ygtc')) return 'application/yaml';
  if (path.startsWith('flows/') && path.endsWith('.json')) return 'application/json';
  return 'application/octet-stream';
}

function compareBytewise(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function encodeSbom(entries: readonly SbomEntry[]): Uint8Array {
  const files = [...entries].sort((a, b) => compareBytewise(a.path, b.path));
  return encodeCanonicalCbor({ format: SBOM_FORMAT, files });
}

export function decodeSbom(bytes: Uint8Array, entryName: 'sbom.cbor' | 'sbom.json'): SbomEntry[] {
  let raw: unknown;
  try {
    raw =
      entryName === 'sbom.cbor' ? decodeCbor(bytes) : JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes));
  } catch (e) {
    const why = errorMessage(e);
    throw new PackError('SbomDecode', `cannot decode: ${why}`, entryName);
  }
  if (!isObject(raw)) throw new PackError('SbomDecode', 'expected a map', entryName);
  const doc = raw;
  if (doc.format !== SBOM_FORMAT)
    throw new PackError('SbomDecode', `format is ${JSON.stringify(doc.format)}, expected "${SBOM_FORMAT}"`, entryName);
  if (!Array.isArray(doc.files)) throw new PackError('SbomDecode', 'files is not a list', `${entryName}/files`);
  return doc.files.map((f: unknown, i: number) => {
    const where = `${entryName}/files/${i}`;
    if (typeof f !== 'object' || f === null) throw new PackError('SbomDecode', 'expected a map', where);
    const e = f as Record<string, unknown>;
    if (typeof e.path !== 'string') throw new PackError('SbomDecode', 'path is not a string', where);
    if (typeof e.hash_blake3 !== 'string') throw new PackError('SbomDecode', 'hash_blake3 is not a string', where);
    if (typeof e.size !== 'number') throw new PackError('SbomDecode', 'size is not a number', where);
    return {
      path: e.path,
      size: e.size,
      media_type: typeof e.media_type === 'string' ? e.media_type : 'application/octet-stream',
      hash_blake3: e.hash_blake3,
    };
  });
}
