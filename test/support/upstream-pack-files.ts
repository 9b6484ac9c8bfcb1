// The unmodified upstream demo packs (greentic-demo builds) the compatibility tests run, read in
// Node: from `UPSTREAM_PACKS_DIR`, else `../shared/fixtures/upstream-packs/` beside the checkout.
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const UPSTREAM_PACK_NAMES = ['quickstart', 'quickstart-app', 'hr-onboarding', 'telco-x', 'helpdesk-itsm'] as const;
export type UpstreamPackName = (typeof UPSTREAM_PACK_NAMES)[number];

export function upstreamPacksDir(): string {
  return process.env.UPSTREAM_PACKS_DIR ?? fileURLToPath(new URL('../../../shared/fixtures/upstream-packs/', import.meta.url));
}

/**
 * Serves `/<name>.gtpack` from the fixtures folder on 127.0.0.1 for the Workers pool; resolves to
 * its base URL ('' when the folder is absent) and a function that stops it.
 */
export async function serveUpstreamPacks(): Promise<{ url: string; close: () => Promise<void> }> {
  const dir = upstreamPacksDir();
  if (!existsSync(dir)) return { url: '', close: async () => {} };
  const server = createServer((req, res) => {
    const name = /^\/([a-z0-9-]+)\.gtpack$/.exec(req.url ?? '')?.[1];
    const file = name === undefined ? undefined : join(dir, `${name}.gtpack`);
    if (file === undefined || !existsSync(file)) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((ok) => server.close(() => ok())) };
}

/** One fixture's bytes (Node tests). */
export function upstreamPackFile(name: UpstreamPackName): Uint8Array {
  return new Uint8Array(readFileSync(join(upstreamPacksDir(), `${name}.gtpack`)));
}
