// A pack's `assets/` files as the host reads them (card navigation, i18n bundles): read once per
// isolate from the stored archive (R2) and kept by digest, since a digest's content never changes.
// A storage failure is transient (the turn is retried); a missing file is simply absent.
import { errorMessage } from '../core/coded-error.js';
import type { Env } from '../env.js';
import { readZip } from '../pack/zip.js';
import { archiveKey } from '../pack-store/pack-store.js';
import { TransientTurnError } from './flow-engine.js';

const cache = new Map<string, Map<string, Uint8Array>>();
const MAX_CACHED_PACKS = 16;

async function assetsOf(env: Pick<Env, 'PACKS'>, digest: string): Promise<Map<string, Uint8Array>> {
  const cached = cache.get(digest);
  if (cached !== undefined) return cached;
  let bytes: Uint8Array | undefined;
  try {
    const object = await env.PACKS.get(archiveKey(digest));
    bytes = object === null ? undefined : new Uint8Array(await object.arrayBuffer());
  } catch (err) {
    throw new TransientTurnError('PackStorageUnavailable', `could not read pack ${digest}: ${errorMessage(err)}`);
  }
  const assets = new Map<string, Uint8Array>();
  for (const entry of bytes === undefined ? [] : readZip(bytes)) {
    if (entry.name.startsWith('assets/')) assets.set(entry.name, entry.data.slice());
  }
  if (cache.size >= MAX_CACHED_PACKS) cache.delete(cache.keys().next().value ?? '');
  cache.set(digest, assets);
  return assets;
}

/** Reads `assets/<path>` (a leading `assets/` or `/assets/` is accepted, as upstream's `read_asset` does). */
export async function readPackAsset(env: Pick<Env, 'PACKS'>, digest: string, path: string): Promise<Uint8Array | undefined> {
  const rest = path.replace(/^\/?assets\//, '');
  return (await assetsOf(env, digest)).get(`assets/${rest}`);
}

/** A JSON asset parsed, or undefined when it is absent or not JSON. */
export async function readPackJson(env: Pick<Env, 'PACKS'>, digest: string, path: string): Promise<unknown> {
  const bytes = await readPackAsset(env, digest, path);
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
  } catch {
    return undefined;
  }
}
