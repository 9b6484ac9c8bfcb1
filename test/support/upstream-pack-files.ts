// The unmodified upstream demo packs (greentic-demo builds) the compatibility tests run, read in
// Node: from `UPSTREAM_PACKS_DIR`, else `../shared/fixtures/upstream-packs/` beside the checkout.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const UPSTREAM_PACK_NAMES = ['quickstart', 'quickstart-app', 'hr-onboarding', 'telco-x', 'helpdesk-itsm'] as const;
export type UpstreamPackName = (typeof UPSTREAM_PACK_NAMES)[number];

export function upstreamPacksDir(): string {
  return process.env.UPSTREAM_PACKS_DIR ?? fileURLToPath(new URL('../../../shared/fixtures/upstream-packs/', import.meta.url));
}

/** One fixture's bytes (Node tests). */
export async function upstreamPackFile(name: UpstreamPackName): Promise<Uint8Array> {
  return new Uint8Array(await readFile(join(upstreamPacksDir(), `${name}.gtpack`)));
}

/**
 * The Workers pool's `TEST_FIXTURES` service binding (runs in Node): `GET /upstream-packs/<name>.gtpack`
 * answers the fixture's bytes, 404 naming the folder when it is not there.
 */
export async function serveTestFixture(request: Request): Promise<Response> {
  const name = /^\/upstream-packs\/([\w-]+)\.gtpack$/.exec(new URL(request.url).pathname)?.[1];
  if (name === undefined || !(UPSTREAM_PACK_NAMES as readonly string[]).includes(name))
    return new Response('unknown fixture', { status: 404 });
  try {
    return new Response(await upstreamPackFile(name as UpstreamPackName));
  } catch {
    return new Response(`${name}.gtpack is not in ${upstreamPacksDir()} (set UPSTREAM_PACKS_DIR)`, { status: 404 });
  }
}
