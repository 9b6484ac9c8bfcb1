// The upstream demo packs inside the Workers pool, fetched from the small server the global setup
// runs in Node (the archives are too large to pass as provided context).
import { inject } from 'vitest';
import type { UpstreamPackName } from './upstream-pack-files.js';

export type { UpstreamPackName } from './upstream-pack-files.js';
export { UPSTREAM_PACK_NAMES } from './upstream-pack-files.js';

/** A fixture's bytes; a missing fixture fails the test that needs it, naming the folder to fill. */
export async function upstreamPack(name: UpstreamPackName): Promise<Uint8Array> {
  const base = inject('upstreamPacksUrl');
  const res = base === '' ? undefined : await fetch(`${base}/${name}.gtpack`);
  if (res?.status !== 200)
    throw new Error(`upstream fixture ${name}.gtpack is missing (set UPSTREAM_PACKS_DIR or fill ../shared/fixtures/upstream-packs)`);
  return new Uint8Array(await res.arrayBuffer());
}
