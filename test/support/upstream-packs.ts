// The upstream demo packs inside the Workers pool (provided by the global setup as base64).
import { inject } from 'vitest';
import type { UpstreamPackName } from './upstream-pack-files.js';

export type { UpstreamPackName } from './upstream-pack-files.js';
export { UPSTREAM_PACK_NAMES } from './upstream-pack-files.js';

/** A fixture's bytes; a missing fixture fails the test that needs it, naming the folder to fill. */
export function upstreamPack(name: UpstreamPackName): Uint8Array {
  const b64 = inject('upstreamPacks')[name];
  if (b64 === undefined)
    throw new Error(`upstream fixture ${name}.gtpack is missing (set UPSTREAM_PACKS_DIR or fill ../shared/fixtures/upstream-packs)`);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}
