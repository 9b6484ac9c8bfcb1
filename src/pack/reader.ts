// Opening a `.gtpack`: ZIP guards, archive-shape detection, manifest decoding (current format
// first, then the legacy `meta/flows/components` layout, as upstream's reader and runner do).
import { isObject } from '../core/is-object.js';
import { CborError, decodeCbor } from './cbor.js';
import { PackError } from './errors.js';
import { isLegacyManifestValue, manifestFromValue } from './manifest-decode.js';
import type { PackManifest } from './manifest-types.js';
import { DEFAULT_ZIP_LIMITS, readZip, type ZipLimits } from './zip.js';

export interface LegacyManifest {
  pack_id: string;
  version: string;
  name?: string;
  kind?: string;
  flows: Array<{ id: string; kind: string; file_json?: string }>;
  components: Array<{ name: string; version: string; file_wasm: string; hash_blake3?: string; world?: string }>;
}

export interface OpenedPack {
  /** File entries by name, in archive order. */
  entries: Map<string, Uint8Array>;
  format: 'pack-v1' | 'legacy';
  manifestBytes: Uint8Array;
  manifest?: PackManifest;
  legacy?: LegacyManifest;
}

export interface OpenOptions {
  limits?: ZipLimits;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function legacyFromValue(raw: Record<string, unknown>): LegacyManifest {
  const meta = raw.meta as Record<string, unknown>;
  const packId = str(meta.pack_id);
  const version = str(meta.version);
  if (packId === undefined || version === undefined)
    throw new PackError('ManifestDecode', 'legacy manifest meta lacks pack_id or version', 'manifest.cbor/meta');
  const list = (v: unknown): Array<Record<string, unknown>> =>
    Array.isArray(v) ? v.filter((x): x is Record<string, unknown> => isObject(x)) : [];
  const out: LegacyManifest = {
    pack_id: packId,
    version,
    flows: list(raw.flows).map((fl) => {
      const e: LegacyManifest['flows'][number] = { id: str(fl.id) ?? '', kind: str(fl.kind) ?? 'messaging' };
      const fj = str(fl.file_json);
      if (fj !== undefined) e.file_json = fj;
      return e;
    }),
    components: list(raw.components).map((c) => {
      const e: LegacyManifest['components'][number] = {
        name: str(c.name) ?? '',
        version: str(c.version) ?? '',
        file_wasm: str(c.file_wasm) ?? '',
      };
      const h = str(c.hash_blake3);
      if (h !== undefined) e.hash_blake3 = h;
      const w = str(c.world);
      if (w !== undefined) e.world = w;
      return e;
    }),
  };
  const name = str(meta.name);
  if (name !== undefined) out.name = name;
  const kind = str(meta.kind);
  if (kind !== undefined) out.kind = kind;
  return out;
}

/** Open an archive: every guard, then the manifest. Throws `PackError` only. */
export function openPack(bytes: Uint8Array, opts: OpenOptions = {}): OpenedPack {
  const files = readZip(bytes, opts.limits ?? DEFAULT_ZIP_LIMITS);
  const entries = new Map<string, Uint8Array>();
  for (const f of files) entries.set(f.name, f.data);
  const manifestBytes = entries.get('manifest.cbor');
  if (manifestBytes === undefined) {
    // greentic-designer "DW application packs" carry manifest.json + metadata.json at the top level.
    if (entries.has('manifest.json') && entries.has('metadata.json')) {
      throw new PackError(
        'DesignerPack',
        'this is a greentic-designer DW application pack (manifest.json + metadata.json), not a greentic-pack .gtpack; build it with greentic-pack first',
        'manifest.json',
      );
    }
    throw new PackError('ManifestMissing', 'the archive has no manifest.cbor', 'manifest.cbor');
  }
  let raw: unknown;
  try {
    raw = decodeCbor(manifestBytes, { preserveFloats: true });
  } catch (e) {
    if (e instanceof CborError) throw new PackError('ManifestDecode', e.message, `manifest.cbor ${e.at}`);
    throw e;
  }
  if (isLegacyManifestValue(raw)) {
    return { entries, format: 'legacy', manifestBytes, legacy: legacyFromValue(raw as Record<string, unknown>) };
  }
  return { entries, format: 'pack-v1', manifestBytes, manifest: manifestFromValue(raw) };
}
