// Writing `.gtpack` archives: `manifest.cbor` first, then the entries, then an SBOM regenerated
// over everything written; and re-signing an existing archive in place.
import { blake3Hex } from './digest.js';
import { PackError } from './errors.js';
import { replaceSignatures } from './manifest-encode.js';
import type { PackManifest } from './manifest-types.js';
import { openPack } from './reader.js';
import { decodeSbom, encodeSbom, isSbomExempt, mediaTypeFor, type SbomEntry } from './sbom.js';
import { signManifest } from './signing.js';
import { writeZip, type ZipWriteEntry } from './zip.js';

/**
 * The archive bytes: `manifest.cbor`, then each group's entries in sorted order (a name already
 * written is skipped), then `sbom.cbor` listing them all.
 */
export function packArchive(
  manifestBytes: Uint8Array,
  groups: Array<Map<string, Uint8Array>>,
  mediaTypes: ReadonlyMap<string, string> = new Map(),
): { bytes: Uint8Array; entries: string[] } {
  const entries: ZipWriteEntry[] = [{ name: 'manifest.cbor', data: manifestBytes }];
  const written = new Set(['manifest.cbor']);
  for (const group of groups) {
    for (const name of [...group.keys()].sort()) {
      if (written.has(name)) continue;
      written.add(name);
      entries.push({ name, data: group.get(name)! });
    }
  }
  const sbom: SbomEntry[] = entries
    .filter((e) => !isSbomExempt(e.name))
    .map((e) => ({
      path: e.name,
      size: e.data.length,
      media_type: mediaTypes.get(e.name) ?? mediaTypeFor(e.name),
      hash_blake3: blake3Hex(e.data),
    }));
  entries.push({ name: 'sbom.cbor', data: encodeSbom(sbom) });
  return { bytes: writeZip(entries), entries: entries.map((e) => e.name) };
}

/**
 * Sign an archive in place (what greenticai/greentic#269 asks for): append a signature to the
 * archived manifest and rewrite the archive with the new manifest and a regenerated SBOM, so the
 * signed `.gtpack` is self-contained. Entry order and media types are kept, and the manifest
 * changes in its signatures only.
 */
export function signPackArchive(
  archive: Uint8Array,
  seed: Uint8Array,
  keyIdOverride?: string,
): { bytes: Uint8Array; manifest: PackManifest } {
  const opened = openPack(archive);
  if (opened.manifest === undefined)
    throw new PackError('ManifestDecode', 'legacy-format packs cannot be signed; rebuild the pack', 'manifest.cbor');
  const signed = signManifest(opened.manifest, seed, keyIdOverride);
  const manifestBytes = replaceSignatures(opened.manifestBytes, signed);
  const mediaTypes = new Map<string, string>();
  const sbomName = opened.entries.has('sbom.cbor') ? 'sbom.cbor' : opened.entries.has('sbom.json') ? 'sbom.json' : undefined;
  if (sbomName !== undefined) {
    try {
      for (const e of decodeSbom(opened.entries.get(sbomName)!, sbomName)) mediaTypes.set(e.path, e.media_type);
    } catch {
      // A broken SBOM is replaced wholesale; media types then fall back to the defaults.
    }
  }
  // One group per entry keeps the original archive order (packArchive sorts within a group).
  const groups = [...opened.entries]
    .filter(([name]) => name !== 'manifest.cbor' && !isSbomExempt(name))
    .map(([name, data]) => new Map([[name, data]]));
  const { bytes } = packArchive(manifestBytes, groups, mediaTypes);
  return { bytes, manifest: signed };
}
