import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { samplePackSource } from '../pack/fixtures/sample-pack.js';
import { parsePrivateKeyPem, parsePublicKey, sha256Hex, verifyEd25519Strict } from '../pack/index.js';
import { main } from './greentic-pack.js';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'greentic-pack-cli-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function run(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { out: (t) => (out += t), err: (t) => (err += t), env });
  return { code, out, err };
}

async function writeSource(dir: string): Promise<void> {
  for (const [path, data] of samplePackSource()) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), data);
  }
}

describe('greentic-pack CLI', () => {
  it('scaffolds with new, then builds, inspects and verifies the result (dev)', async () => {
    const dir = join(root, 'scaffold');
    expect((await run(['new', 'acme.hello', '--dir', dir])).code).toBe(0);
    const built = await run(['build', '--in', dir]);
    expect(built.code).toBe(0);
    expect(built.err).toMatch(/flow main \(1 nodes\)/);
    const inspected = await run(['inspect', join(dir, 'dist', 'scaffold.gtpack'), '--json']);
    expect(inspected.code).toBe(0);
    expect(JSON.parse(inspected.out)).toMatchObject({ pack_id: 'acme.hello', flows: [{ id: 'main', nodes: 1 }] });
    expect((await run(['verify', '--pack', join(dir, 'dist', 'scaffold.gtpack'), '--policy', 'dev'])).code).toBe(0);
  });

  it('builds the same bytes twice, prints progress on stderr and the summary as JSON on stdout', async () => {
    const dir = join(root, 'det');
    await writeSource(dir);
    const a = await run(['build', '--in', dir, '--gtpack-out', join(root, 'a.gtpack'), '--json']);
    const b = await run(['build', '--in', dir, '--gtpack-out', join(root, 'b.gtpack'), '--json']);
    expect(a.code).toBe(0);
    expect(a.err).toMatch(/component acme\.echo/);
    expect(JSON.parse(a.out).sha256).toBe(JSON.parse(b.out).sha256);
    expect(sha256Hex(new Uint8Array(await readFile(join(root, 'a.gtpack'))))).toBe(JSON.parse(b.out).sha256);
    // packc also leaves the standalone manifest next to the archive.
    expect((await readFile(join(dir, 'dist', 'manifest.cbor'))).length).toBeGreaterThan(0);
  });

  it('keygen → sign → verify --policy strict accepts with the key and rejects without a trusted one', async () => {
    const dir = join(root, 'signed');
    await writeSource(dir);
    const pack = join(root, 'signed.gtpack');
    expect((await run(['build', '--in', dir, '--gtpack-out', pack])).code).toBe(0);
    const keys = JSON.parse((await run(['keygen', '--out', join(root, 'keys')])).out);
    expect(keys.key_id).toMatch(/^[0-9a-f]{32}$/);
    expect((await run(['sign', '--pack', pack, '--key', keys.private_key])).code).toBe(0);
    const ok = await run(['verify', '--pack', pack, '--key', keys.public_key, '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out).signatures[0]).toMatchObject({ key_id: keys.key_id, status: 'valid' });
    const other = JSON.parse((await run(['keygen', '--out', join(root, 'other')])).out);
    const rejected = await run(['verify', '--pack', pack, '--key', other.public_key]);
    expect(rejected.code).toBe(1);
    expect(rejected.out).toMatch(/REJECTED under strict/);
    // PACK_TRUSTED_KEYS is the fallback when no --key is given.
    const pub = await readFile(keys.public_key, 'utf8');
    expect((await run(['verify', '--pack', pack], { PACK_TRUSTED_KEYS: pub })).code).toBe(0);
  });

  it('reads keys written by OpenSSL-compatible tooling and writes keys they can use', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const seed = parsePrivateKeyPem(privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
    const pub = parsePublicKey(publicKey.export({ format: 'pem', type: 'spki' }).toString());
    const msg = new TextEncoder().encode('interop');
    expect(verifyEd25519Strict(new Uint8Array(nodeSign(null, msg, privateKey)), msg, pub)).toBe(true);
    expect(seed.length).toBe(32);
    await run(['keygen', '--out', join(root, 'interop')]);
    const ourPriv = createPrivateKey(await readFile(join(root, 'interop', 'pack.key.pem'), 'utf8'));
    const ourPub = createPublicKey(await readFile(join(root, 'interop', 'pack.pub.pem'), 'utf8'));
    expect(nodeVerify(null, msg, ourPub, nodeSign(null, msg, ourPriv))).toBe(true);
  });

  it('exits 1 with the typed error for a damaged archive and 2 for usage errors', async () => {
    const bad = join(root, 'bad.gtpack');
    await writeFile(bad, 'not a zip');
    const r = await run(['verify', '--pack', bad]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/ZipCorrupt/);
    expect((await run(['verify'])).code).toBe(2);
    expect((await run(['build'])).code).toBe(2);
    expect((await run(['verify', '--pack', bad, '--policy', 'lax'])).code).toBe(2);
    expect((await run(['frobnicate'])).code).toBe(2);
    expect((await run(['sign', '--pack', bad, '--key', bad, '--bogus'])).code).toBe(2);
  });

  it('refuses a public key passed to sign (wrong PEM label) as invalid input', async () => {
    const dir = join(root, 'wrongkey');
    await writeSource(dir);
    const pack = join(root, 'wrongkey.gtpack');
    await run(['build', '--in', dir, '--gtpack-out', pack]);
    const keys = JSON.parse((await run(['keygen', '--out', join(root, 'wk')])).out);
    const r = await run(['sign', '--pack', pack, '--key', keys.public_key]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/KeyParse/);
  });

  it('prints help for every verb', async () => {
    for (const verb of ['new', 'build', 'inspect', 'keygen', 'sign', 'verify']) {
      const r = await run([verb, '--help']);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`greentic-pack ${verb}`);
    }
  });
});

describe('example packs', () => {
  it('packs/examples/hello-pack builds and verifies under dev', async () => {
    const out = join(root, 'hello.gtpack');
    const dir = join(root, 'hello-pack');
    const { cp } = await import('node:fs/promises');
    await cp('packs/examples/hello-pack', dir, { recursive: true });
    expect((await run(['build', '--in', dir, '--gtpack-out', out])).code).toBe(0);
    const r = await run(['verify', '--pack', out, '--policy', 'dev', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ pack_id: 'greentic.examples.hello', assets: 1, sbom: { status: 'ok' } });
  });
});
