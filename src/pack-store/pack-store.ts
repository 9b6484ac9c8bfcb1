// Pack storage in R2. The archive is kept as uploaded (`packs/{digest}.gtpack`); next to it, the
// runtime model extracted once at upload (`models/{digest}.json`: identity, compiled flows, component
// list) so a channel object never unzips or CBOR-decodes a pack on the message path.

import { CodedError } from '../core/coded-error.js';
import type { Flow } from '../flow/model.js';
import { decodeCbor, encodeCbor } from '../pack/cbor.js';

export interface PackComponentModel {
  id: string;
  /** `sha256:<hex>` of the component's wasm; the key of its transpiled artifacts. */
  digest?: string;
  /** Capabilities / grants as declared by the manifest (opaque here; the component host reads them). */
  manifest?: unknown;
}

export interface PackModel {
  pack_id: string;
  version: string;
  digest: string;
  kind: string;
  flows: Flow[];
  components: PackComponentModel[];
  /** R2 key of the pack's `assets/` files (CBOR map path → bytes), when it has any. */
  assets_key?: string;
}

export function archiveKey(digest: string): string {
  return `packs/${digest}.gtpack`;
}

export function modelKey(digest: string): string {
  return `models/${digest}.json`;
}

export async function putPackModel(bucket: R2Bucket, model: PackModel): Promise<string> {
  const key = modelKey(model.digest);
  await bucket.put(key, JSON.stringify(model), { httpMetadata: { contentType: 'application/json' } });
  return key;
}

export class PackStoreError extends CodedError<'PackModelMissing'> {
  constructor(code: 'PackModelMissing', message: string) {
    super(code, `${code}: ${message}`);
  }
}

/**
 * Models are immutable (content-addressed), so each isolate caches the parsed model per digest;
 * the cache is bounded so a long-lived object that saw many versions does not grow without limit.
 */
const modelCache = new Map<string, Promise<PackModel>>();
const MODEL_CACHE_LIMIT = 32;

export function loadPackModel(bucket: R2Bucket, digest: string, key = modelKey(digest)): Promise<PackModel> {
  const cached = modelCache.get(digest);
  if (cached !== undefined) return cached;
  const loading = (async () => {
    const object = await bucket.get(key);
    if (object === null)
      throw new PackStoreError('PackModelMissing', `pack ${digest} has no runtime model at R2 key "${key}"; re-upload the pack`);
    return (await object.json()) as PackModel;
  })();
  modelCache.set(digest, loading);
  loading.catch(() => modelCache.delete(digest));
  if (modelCache.size > MODEL_CACHE_LIMIT) {
    const oldest = modelCache.keys().next().value;
    if (oldest !== undefined) modelCache.delete(oldest);
  }
  return loading;
}

export function assetsKey(digest: string): string {
  return `pack-assets/${digest}.cbor`;
}

/** The pack's `assets/` files, keyed relative to that folder, as one object read once per isolate. */
export async function putPackAssets(bucket: R2Bucket, digest: string, files: Record<string, Uint8Array>): Promise<string> {
  const key = assetsKey(digest);
  await bucket.put(key, encodeCbor(files), { httpMetadata: { contentType: 'application/cbor' } });
  return key;
}

const assetsCache = new Map<string, Promise<Record<string, Uint8Array>>>();

/** A pack's assets (none when its model records none); cached per digest like models. */
export function loadPackAssets(bucket: R2Bucket, model: Pick<PackModel, 'digest' | 'assets_key'>): Promise<Record<string, Uint8Array>> {
  const key = model.assets_key;
  if (key === undefined) return Promise.resolve({});
  const cached = assetsCache.get(model.digest);
  if (cached !== undefined) return cached;
  const loading = (async () => {
    const object = await bucket.get(key);
    if (object === null)
      throw new PackStoreError('PackModelMissing', `pack ${model.digest} has no assets at R2 key "${key}"; re-upload the pack`);
    return decodeCbor(new Uint8Array(await object.arrayBuffer())) as Record<string, Uint8Array>;
  })();
  assetsCache.set(model.digest, loading);
  loading.catch(() => assetsCache.delete(model.digest));
  if (assetsCache.size > MODEL_CACHE_LIMIT) {
    const oldest = assetsCache.keys().next().value;
    if (oldest !== undefined) assetsCache.delete(oldest);
  }
  return loading;
}
