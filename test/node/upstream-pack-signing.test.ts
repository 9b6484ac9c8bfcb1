// `greentic-pack sign` on the unmodified upstream demo packs: the manifest changes in its
// signatures only, every other entry keeps its bytes, and the signature verifies.
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/greentic-pack.js';
import { replaceSignatures } from '../../src/pack/manifest-encode.js';
import { openPack } from '../../src/pack/reader.js';
import { UPSTREAM_PACK_NAMES, upstreamPacksDir } from '../support/upstream-pack-files.js';

let root: string;
let keys: { private_key: string; public_key: string; key_id: string };

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { out: (t) => (out += t), err: (t) => (err += t), env: {} });
  return { code, out, err };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'upstream-sign-'));
  keys = JSON.parse((await run(['keygen', '--out', join(root, 'keys')])).out);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('signing an upstream pack', () => {
  it.each(UPSTREAM_PACK_NAMES)(
    'signing %s changes nothing but the signatures: stripped again, the manifest bytes equal the original',
    async (name) => {
      const file = join(root, `${name}.gtpack`);
      await copyFile(join(upstreamPacksDir(), `${name}.gtpack`), file);
      const original = openPack(new Uint8Array(await readFile(file)));
      expect((await run(['sign', '--pack', file, '--key', keys.private_key])).code).toBe(0);

      const signed = openPack(new Uint8Array(await readFile(file)));
      expect(signed.manifest!.signatures.signatures.map((s) => s.key_id)).toEqual([keys.key_id]);
      const stripped = replaceSignatures(signed.manifestBytes, { ...signed.manifest!, signatures: { signatures: [] } });
      expect(Buffer.from(stripped).equals(Buffer.from(original.manifestBytes))).toBe(true);
      for (const [path, data] of original.entries) {
        if (path === 'manifest.cbor' || path === 'sbom.cbor') continue;
        expect(Buffer.from(signed.entries.get(path)!).equals(Buffer.from(data)), path).toBe(true);
      }
      const verified = await run(['verify', '--pack', file, '--key', keys.public_key, '--json']);
      expect(JSON.parse(verified.out).signatures).toEqual([expect.objectContaining({ key_id: keys.key_id, status: 'valid' })]);
    },
  );
});
