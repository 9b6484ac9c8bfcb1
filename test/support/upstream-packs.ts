// The upstream demo packs inside the Workers pool, fetched from Node through the test-only
// `TEST_FIXTURES` service binding (vitest.config.ts).
import { env } from 'cloudflare:test';
import type { UpstreamPackName } from './upstream-pack-files.js';

export type { UpstreamPackName } from './upstream-pack-files.js';
export { UPSTREAM_PACK_NAMES } from './upstream-pack-files.js';

const cache = new Map<string, Promise<Uint8Array>>();

/** A fixture's bytes; a missing fixture fails the test that needs it, naming the folder to fill. */
export function upstreamPack(name: UpstreamPackName): Promise<Uint8Array> {
  let pending = cache.get(name);
  if (pending === undefined) {
    pending = (async () => {
      const fixtures = (env as unknown as { TEST_FIXTURES: Fetcher }).TEST_FIXTURES;
      const res = await fixtures.fetch(`http://fixtures/upstream-packs/${name}.gtpack`);
      if (!res.ok) throw new Error(`upstream fixture ${name}: ${await res.text()}`);
      return new Uint8Array(await res.arrayBuffer());
    })();
    cache.set(name, pending);
  }
  return pending;
}
