// The unmodified upstream demo packs (greentic-demo builds) the compatibility tests run, read in
// Node: from `UPSTREAM_PACKS_DIR`, else `../shared/fixtures/upstream-packs/` beside the checkout.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const UPSTREAM_PACK_NAMES = ['quickstart', 'quickstart-app', 'hr-onboarding', 'telco-x', 'helpdesk-itsm'] as const;
export type UpstreamPackName = (typeof UPSTREAM_PACK_NAMES)[number];

export function upstreamPacksDir(): string {
  return process.env.UPSTREAM_PACKS_DIR ?? fileURLToPath(new URL('../../../shared/fixtures/upstream-packs/', import.meta.url));
}

/** Each `<name>.gtpack` of the fixtures folder as base64 (none when the folder is absent). */
export function readUpstreamPacks(): Record<string, string> {
  const dir = upstreamPacksDir();
  if (!existsSync(dir)) return {};
  const out: Record<string, string> = {};
  for (const file of readdirSync(dir)) {
    if (file.endsWith('.gtpack')) out[file.slice(0, -'.gtpack'.length)] = readFileSync(join(dir, file)).toString('base64');
  }
  return out;
}

/** One fixture's bytes (Node tests). */
export function upstreamPackFile(name: UpstreamPackName): Uint8Array {
  return new Uint8Array(readFileSync(join(upstreamPacksDir(), `${name}.gtpack`)));
}
