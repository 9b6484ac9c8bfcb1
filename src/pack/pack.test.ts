import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildPack } from './builder.js';
import { decodeCbor } from './cbor.js';
import { sha256Hex } from './digest.js';
import { PackError } from './errors.js';
import { rawZip } from './fixtures/raw-zip.js';
import { samplePackSource } from './fixtures/sample-pack.js';
import { keyId, parsePrivateKeyPem, parsePublicKey, privateKeyToPem, publicKeyToPem } from './keys.js';
import { decodePackManifest } from './manifest-decode.js';
import { encodePackManifest } from './manifest-encode.js';
import { openPack } from './reader.js';
import { encodeSbom } from './sbom.js';
import { generateKeyPair, verifyEd25519Strict } from './signing.js';
import { verifyPack } from './verify.js';
import { signPackArchive } from './writer.js';
import { readZip, writeZip } from './zip.js';

const enc = new TextEncoder();

function build(dev = false): Uint8Array {
  return buildPack(samplePackSource(), { dev }).bytes;
}

function expectPackError(fn: () => unknown, code: string, where?: string): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PackError);
    expect((e as PackError).code).toBe(code);
    if (where !== undefined) expect((e as PackError).where).toBe(where);
    return;
  }
  expect.unreachable(`expected ${code}`);
}

/** Re-zip an archive with one entry replaced, keeping everything else (including the old SBOM). */
function rezip(archive: Uint8Array, replace: Record<string, Uint8Array>): Uint8Array {
  return writeZip(readZip(archive).map((e) => ({ name: e.name, data: replace[e.name] ?? e.data })));
}

describe('building a pack', () => {
  it('writes entries in packc order: manifest, components (wasm then manifest), assets and lock sorted, sbom last', () => {
    const { entries } = buildPack(samplePackSource());
    expect(entries).toEqual([
      'manifest.cbor',
      'components/acme.echo.wasm',
      'components/acme.echo.manifest.cbor',
      'assets/README.md',
      'assets/cards/welcome.json',
      'pack.lock.cbor',
      'sbom.cbor',
    ]);
  });

  it('gives the same bytes (same sha256) for the same input every time', () => {
    expect(sha256Hex(build())).toBe(sha256Hex(build()));
  });

  it('writes STORED entries dated 1980-01-01 with unix mode 0644 and no extra fields', () => {
    const bytes = build();
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const eocd = bytes.length - 22;
    let p = view.getUint32(eocd + 16, true);
    const count = view.getUint16(eocd + 10, true);
    for (let i = 0; i < count; i++) {
      expect(view.getUint16(p + 6, true)).toBe(10); // version needed
      expect(view.getUint16(p + 10, true)).toBe(0); // STORED
      expect(view.getUint16(p + 12, true)).toBe(0); // time 00:00
      expect(view.getUint16(p + 14, true)).toBe(0x21); // 1980-01-01
      expect(view.getUint16(p + 30, true)).toBe(0); // no extra field
      expect(view.getUint32(p + 38, true) >>> 16).toBe(0o100644);
      p += 46 + view.getUint16(p + 28, true);
    }
  });

  it('embeds compiled flows, component manifests pinned by sha256 and pack capabilities in manifest.cbor', () => {
    const opened = openPack(build());
    const m = opened.manifest!;
    expect(m.flows.map((f) => [f.id, f.kind, f.entrypoints])).toEqual([['main', 'messaging', ['default']]]);
    expect(m.flows[0]!.flow.nodes.call_echo!.component.id).toBe('acme.echo');
    expect(m.capabilities.map((c) => c.name)).toEqual(['host:messaging', 'wasi:random']);
    const pins = m.extensions!['greentic.pack.component_manifests@v1']!.inline as {
      entries: Array<{ content_hash: string; manifest_file: string }>;
    };
    const file = opened.entries.get(pins.entries[0]!.manifest_file)!;
    expect(pins.entries[0]!.content_hash).toBe(`sha256:${sha256Hex(file)}`);
    expect(m.extensions!['greentic.pack-mode.v1']!.inline).toEqual({ mode: 'prod' });
    // The archived manifest re-encodes to itself.
    expect(encodePackManifest(decodePackManifest(opened.manifestBytes))).toEqual(opened.manifestBytes);
  });

  it('adds flow sources and marks the pack dev with --dev', () => {
    const opened = openPack(build(true));
    expect(opened.entries.has('flows/main/flow.ygtc')).toBe(true);
    expect(opened.entries.has('flows/main/flow.json')).toBe(true);
    expect(opened.entries.has('pack.yaml')).toBe(true);
    expect(opened.manifest!.extensions!['greentic.pack-mode.v1']!.inline).toEqual({ mode: 'dev' });
  });

  it('refuses a component whose manifest declares another version, naming the pack.yaml entry', () => {
    const src = samplePackSource();
    src.set('pack.yaml', enc.encode(new TextDecoder().decode(src.get('pack.yaml')).replace('version: 0.2.0', 'version: 0.3.0')));
    expectPackError(() => buildPack(src), 'PackSource', 'pack.yaml:/components/0');
  });

  it('reports flow compile errors with file:line:col', () => {
    const src = samplePackSource();
    src.set(
      'flows/main.ygtc',
      enc.encode('id: main\ntype: messaging\nnodes:\n  a:\n    emit.response: {}\n    routing: [ { to: nowhere } ]\n'),
    );
    try {
      buildPack(src);
      expect.unreachable();
    } catch (e) {
      expect((e as PackError).code).toBe('FlowCompile');
      expect((e as PackError).message).toMatch(/flows\/main\.ygtc:\d+:\d+/);
    }
  });
});

describe('verifying a pack', () => {
  it('round-trips build → verify with a report of flows, components, assets and SBOM', async () => {
    const bytes = build();
    const report = await verifyPack(bytes, { policy: 'dev' });
    expect(report).toMatchObject({
      ok: true,
      pack_id: 'acme.echo-pack',
      version: '0.1.0',
      kind: 'application',
      publisher: 'Acme',
      flows: [{ id: 'main', kind: 'messaging', entrypoints: ['default'], nodes: 2 }],
      components: [{ id: 'acme.echo', version: '0.2.0', world: 'greentic:component/component@0.6.0', size: 8 }],
      assets: 2,
      sbom: { status: 'ok', source: 'sbom.cbor', files: 6, problems: [] },
      signatures: [],
    });
    expect(report.components[0]!.sha256).toBe(sha256Hex(samplePackSource().get('components/acme.echo.wasm')!));
    expect(report.digest).toBe(`sha256:${sha256Hex(bytes)}`);
    expect(report.warnings).toContain('the pack is unsigned');
  });

  it('rejects an unsigned pack under strict', async () => {
    const report = await verifyPack(build(), { policy: 'strict', trustedKeys: [generateKeyPair().publicKey] });
    expect(report.ok).toBe(false);
    expect(report.errors).toContain('the pack is unsigned');
  });

  it('accepts a pack signed into the archive by a trusted key under strict', async () => {
    const key = generateKeyPair();
    const signed = signPackArchive(build(), key.seed).bytes;
    const report = await verifyPack(signed, { policy: 'strict', trustedKeys: [key.publicKey] });
    expect(report.errors).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.signatures).toEqual([
      { key_id: keyId(key.publicKey), algorithm: 'ed25519', status: 'valid', verified_by: keyId(key.publicKey) },
    ]);
    expect(report.sbom.status).toBe('ok');
  });

  it('keeps entry order when signing and only changes manifest.cbor and sbom.cbor', () => {
    const unsigned = build();
    const signed = signPackArchive(unsigned, generateKeyPair().seed, 'release').bytes;
    const before = readZip(unsigned);
    const after = readZip(signed);
    expect(after.map((e) => e.name)).toEqual(before.map((e) => e.name));
    for (const [i, e] of after.entries()) {
      if (e.name === 'manifest.cbor' || e.name === 'sbom.cbor') continue;
      expect(e.data).toEqual(before[i]!.data);
    }
    expect(openPack(signed).manifest!.signatures.signatures[0]!.key_id).toBe('release');
  });

  it('rejects a signature by an untrusted key under strict but accepts it with a warning under dev', async () => {
    const signer = generateKeyPair();
    const trusted = generateKeyPair();
    const signed = signPackArchive(build(), signer.seed).bytes;
    const strict = await verifyPack(signed, { policy: 'strict', trustedKeys: [trusted.publicKey] });
    expect(strict.ok).toBe(false);
    expect(strict.signatures[0]!.status).toBe('invalid');
    const dev = await verifyPack(signed, { policy: 'dev', trustedKeys: [trusted.publicKey] });
    expect(dev.ok).toBe(true);
    expect(dev.warnings.join('\n')).toMatch(/no signature verifies with a trusted key/);
  });

  it('marks the signature invalid when the manifest is edited after signing', async () => {
    const key = generateKeyPair();
    const signed = signPackArchive(build(), key.seed).bytes;
    const m = openPack(signed).manifest!;
    const edited = encodePackManifest({ ...m, publisher: 'Mallory' });
    // Re-pack with a fresh SBOM so only the signature can catch the edit.
    const entries = readZip(signed).map((e) => ({ name: e.name, data: e.name === 'manifest.cbor' ? edited : e.data }));
    const sbom = decodeCbor(entries.find((e) => e.name === 'sbom.cbor')!.data) as {
      files: Array<{ path: string; size: number; media_type: string; hash_blake3: string }>;
    };
    const { blake3Hex } = await import('./digest.js');
    const files = sbom.files.map((f) => (f.path === 'manifest.cbor' ? { ...f, size: edited.length, hash_blake3: blake3Hex(edited) } : f));
    const tampered = writeZip(entries.map((e) => (e.name === 'sbom.cbor' ? { name: e.name, data: encodeSbom(files) } : e)));
    const report = await verifyPack(tampered, { policy: 'strict', trustedKeys: [key.publicKey] });
    expect(report.sbom.status).toBe('ok');
    expect(report.signatures[0]!.status).toBe('invalid');
    expect(report.ok).toBe(false);
  });

  it('names a component whose bytes changed after the build in an SBOM hash-mismatch error', async () => {
    const bytes = build();
    const wasm = readZip(bytes)
      .find((e) => e.name === 'components/acme.echo.wasm')!
      .data.slice();
    wasm[5] = (wasm[5] as number) ^ 0xff;
    const report = await verifyPack(rezip(bytes, { 'components/acme.echo.wasm': wasm }), { policy: 'strict', trustedKeys: [] });
    expect(report.sbom.status).toBe('mismatch');
    expect(report.sbom.problems.map((p) => [p.code, p.path])).toEqual([
      ['hash-mismatch', 'components/acme.echo.wasm'],
      ['lock-digest-mismatch', 'components/acme.echo.wasm'],
    ]);
    expect(report.ok).toBe(false);
    expect(report.errors.join('\n')).toMatch(/hash-mismatch: components\/acme\.echo\.wasm/);
  });

  it('names the entry when a flipped byte breaks its ZIP checksum', () => {
    const bytes = build();
    const at = bytes.findIndex((_, i) => bytes[i] === 0x00 && bytes[i + 1] === 0x61 && bytes[i + 2] === 0x73 && bytes[i + 3] === 0x6d);
    const flipped = bytes.slice();
    flipped[at + 5] = (flipped[at + 5] as number) ^ 0x01;
    expectPackError(() => openPack(flipped), 'ZipCorrupt', 'components/acme.echo.wasm');
  });

  it('reports a component manifest that no longer matches its sha256 pin', async () => {
    const bytes = build();
    const report = await verifyPack(rezip(bytes, { 'components/acme.echo.manifest.cbor': enc.encode('x') }), { policy: 'dev' });
    expect(report.sbom.problems.map((p) => [p.code, p.path])).toContainEqual([
      'component-manifest-hash',
      'components/acme.echo.manifest.cbor',
    ]);
  });

  it('reports a pack.lock.cbor whose resolved_digest does not pin the bundled wasm', async () => {
    const { encodePackLock, decodePackLock } = await import('./lock.js');
    const bytes = build();
    const lock = decodePackLock(readZip(bytes).find((e) => e.name === 'pack.lock.cbor')!.data);
    expect(lock.components['acme.echo']!.resolved_digest).toBe(`sha256:${sha256Hex(samplePackSource().get('components/acme.echo.wasm')!)}`);
    lock.components['acme.echo']!.resolved_digest = `sha256:${'0'.repeat(64)}`;
    const key = generateKeyPair();
    // Re-signing regenerates the SBOM, so only the lock check can notice.
    const signed = signPackArchive(rezip(bytes, { 'pack.lock.cbor': encodePackLock(lock) }), key.seed).bytes;
    const report = await verifyPack(signed, { policy: 'strict', trustedKeys: [key.publicKey] });
    expect(report.sbom.problems.map((p) => [p.code, p.path])).toEqual([['lock-digest-mismatch', 'components/acme.echo.wasm']]);
    expect(report.ok).toBe(false);
  });

  it('reports files missing from and unlisted in the SBOM', async () => {
    const bytes = build();
    const entries = readZip(bytes).filter((e) => e.name !== 'assets/README.md');
    entries.splice(1, 0, { name: 'extra.bin', data: enc.encode('?'), method: 'stored' });
    const report = await verifyPack(writeZip(entries), { policy: 'dev' });
    const codes = report.sbom.problems.map((p) => `${p.code} ${p.path}`);
    expect(codes).toContain('missing-file assets/README.md');
    expect(codes).toContain('unlisted-file extra.bin');
  });
});

describe('reader leniency', () => {
  it('accepts DEFLATE entries in any order with an sbom.json', async () => {
    const entries = readZip(build()).reverse();
    const sbom = decodeCbor(entries.find((e) => e.name === 'sbom.cbor')!.data);
    const zip = rawZip(
      entries
        .filter((e) => e.name !== 'sbom.cbor')
        .map((e) => ({ name: e.name, data: e.data, method: 'deflate' as const }))
        .concat([{ name: 'sbom.json', data: enc.encode(JSON.stringify(sbom)), method: 'deflate' as const }]),
    );
    const report = await verifyPack(zip, { policy: 'dev' });
    expect(report.sbom).toMatchObject({ status: 'ok', source: 'sbom.json' });
    expect(report.pack_id).toBe('acme.echo-pack');
  });

  it('skips directory entries as upstream does', () => {
    const entries = readZip(build()).map((e) => ({ name: e.name, data: e.data }));
    const zip = rawZip([{ name: 'assets/', data: new Uint8Array(0), mode: 0o040755 }, ...entries]);
    expect(openPack(zip).entries.has('assets/')).toBe(false);
  });

  it('detects a greentic-designer pack (manifest.json + metadata.json) and says so', () => {
    const zip = rawZip([
      { name: 'manifest.json', data: enc.encode('{}') },
      { name: 'metadata.json', data: enc.encode('{}') },
    ]);
    expectPackError(() => openPack(zip), 'DesignerPack', 'manifest.json');
  });

  it('opens a legacy-format manifest and rejects it under strict', async () => {
    const { encodeCanonicalCbor } = await import('./cbor.js');
    const legacy = encodeCanonicalCbor({
      meta: {
        packVersion: 1,
        pack_id: 'old.pack',
        version: '1.0.0',
        name: 'Old',
        entry_flows: ['main'],
        created_at_utc: '2024-01-01T00:00:00Z',
      },
      flows: [
        {
          id: 'main',
          kind: 'messaging',
          entry: 'start',
          file_yaml: 'flows/main/flow.ygtc',
          file_json: 'flows/main/flow.json',
          hash_blake3: '00',
        },
      ],
      components: [],
    });
    const zip = writeZip([{ name: 'manifest.cbor', data: legacy }]);
    const opened = openPack(zip);
    expect(opened.format).toBe('legacy');
    const report = await verifyPack(zip, { policy: 'strict' });
    expect(report.pack_id).toBe('old.pack');
    expect(report.ok).toBe(false);
  });

  it('requires manifest.cbor', () => {
    expectPackError(() => openPack(writeZip([{ name: 'x', data: new Uint8Array(1) }])), 'ManifestMissing', 'manifest.cbor');
  });
});

describe('archive guards', () => {
  const one = (name: string, extra: Partial<Parameters<typeof rawZip>[0][number]> = {}): Uint8Array =>
    rawZip([
      { name: 'manifest.cbor', data: new Uint8Array([0xa0]) },
      { name, data: enc.encode('x'), ...extra },
    ]);

  it.each([
    ['/etc/passwd', 'absolute path'],
    ['../escape', '".." segment'],
    ['assets/../../escape', '".." segment'],
    ['assets//double', 'empty path segment'],
    ['assets\\win', 'backslash in path'],
    ['C:/x', 'drive-letter path'],
  ])('rejects the unsafe entry name %s', (name, why) => {
    try {
      openPack(one(name));
      expect.unreachable();
    } catch (e) {
      expect((e as PackError).code).toBe('UnsafePath');
      expect((e as PackError).where).toBe(name);
      expect((e as PackError).message).toContain(why);
    }
  });

  it('rejects duplicate entry names', () => {
    const zip = rawZip([
      { name: 'manifest.cbor', data: new Uint8Array([0xa0]) },
      { name: 'assets/a', data: enc.encode('1') },
      { name: 'assets/a', data: enc.encode('2') },
    ]);
    expectPackError(() => openPack(zip), 'DuplicateEntry', 'assets/a');
  });

  it('rejects symlinks and other non-regular files by their unix mode', () => {
    expectPackError(() => openPack(one('assets/link', { mode: 0o120777 })), 'NotRegularFile', 'assets/link');
    expectPackError(() => openPack(one('assets/fifo', { mode: 0o010644 })), 'NotRegularFile', 'assets/fifo');
    expectPackError(() => openPack(one('assets/dir-with-data', { mode: 0o040755 })), 'NotRegularFile', 'assets/dir-with-data');
  });

  it('rejects an entry over the per-entry limit from its header, before reading it', () => {
    expectPackError(() => openPack(one('assets/big', { declaredSize: 16 * 1024 * 1024 + 1 })), 'EntryTooLarge', 'assets/big');
  });

  it('rejects archives whose entries add up past the total limit', () => {
    const limits = { maxEntryBytes: 100, maxTotalBytes: 150, maxCompressionRatio: 200, ratioFloorBytes: 1 << 20 };
    const zip = rawZip([
      { name: 'manifest.cbor', data: new Uint8Array(80) },
      { name: 'assets/b', data: new Uint8Array(80) },
    ]);
    expectPackError(() => openPack(zip, { limits }), 'ArchiveTooLarge', 'assets/b');
  });

  it('rejects a compression bomb from its header ratio', () => {
    const zeros = new Uint8Array(4 * 1024 * 1024);
    expectPackError(() => openPack(one('assets/bomb', { data: zeros, method: 'deflate' })), 'CompressionBomb', 'assets/bomb');
  });

  it('stops inflating an entry whose header understates its size', () => {
    const zeros = new Uint8Array(2 * 1024 * 1024);
    expectPackError(
      () => openPack(one('assets/liar', { data: zeros, method: 'deflate', declaredSize: 1000 })),
      'CompressionBomb',
      'assets/liar',
    );
  });

  it('rejects input that is not a ZIP at all', () => {
    expectPackError(() => openPack(enc.encode('definitely not a zip archive')), 'ZipCorrupt', 'archive');
  });

  it('inflates large DEFLATE entries across many input slices', () => {
    const data = new Uint8Array(300_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 251 < 40 ? (i * 31) & 255 : 65;
    const [entry] = readZip(rawZip([{ name: 'assets/big.bin', data, method: 'deflate' }]));
    expect(entry!.method).toBe('deflate');
    expect(entry!.data).toEqual(data);
  });

  it('throws only typed errors when the central directory and headers are mutated (fuzz)', () => {
    const base = build();
    const cdStart = new DataView(base.buffer).getUint32(base.length - 6, true);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: cdStart, max: base.length - 1 }), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 6,
        }),
        (edits) => {
          const bytes = base.slice();
          for (const [at, v] of edits) bytes[at] = v;
          try {
            openPack(bytes);
          } catch (e) {
            if (!(e instanceof PackError)) throw e;
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('throws only typed errors for mutated archives (fuzz)', async () => {
    const base = build();
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.nat(base.length),
        async (edits, cut) => {
          const bytes = base.slice(0, Math.max(cut, base.length - 64));
          for (const [at, v] of edits) if (at < bytes.length) bytes[at] = v;
          try {
            await verifyPack(bytes, { policy: 'strict' });
          } catch (e) {
            if (!(e instanceof PackError)) throw e;
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('keys and signatures', () => {
  it('round-trips PKCS#8 and SPKI PEM keys', () => {
    const k = generateKeyPair();
    expect(parsePrivateKeyPem(privateKeyToPem(k.seed))).toEqual(k.seed);
    expect(parsePublicKey(publicKeyToPem(k.publicKey))).toEqual(k.publicKey);
  });

  it('refuses a private key where a public key is expected (wrong PEM label)', () => {
    const k = generateKeyPair();
    expectPackError(() => parsePublicKey(privateKeyToPem(k.seed)), 'KeyParse');
  });

  it('accepts runner-style ed25519:<base64> keys', () => {
    const k = generateKeyPair();
    const b64 = btoa(String.fromCharCode(...k.publicKey));
    expect(parsePublicKey(`ed25519:${b64}`)).toEqual(k.publicKey);
  });

  it('derives key ids from the first 16 bytes of SHA-256 of the raw key', () => {
    const k = generateKeyPair();
    expect(keyId(k.publicKey)).toBe(sha256Hex(k.publicKey).slice(0, 32));
  });

  it('rejects a signature with a non-canonical S (S + L) under strict verification', async () => {
    const ed = await import('@noble/ed25519');
    const k = generateKeyPair();
    const msg = enc.encode('pack');
    const sig = ed.sign(msg, k.seed);
    expect(verifyEd25519Strict(sig, msg, k.publicKey)).toBe(true);
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    let s = 0n;
    for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i]!);
    let t = s + L;
    const bad = sig.slice();
    for (let i = 32; i < 64; i++) {
      bad[i] = Number(t & 0xffn);
      t >>= 8n;
    }
    expect(verifyEd25519Strict(bad, msg, k.publicKey)).toBe(false);
  });

  it('rejects small-order public keys', () => {
    const identity = new Uint8Array(32);
    identity[0] = 1; // the neutral point: every (R = identity, S = 0) "signature" would pass a lax check
    const sig = new Uint8Array(64);
    sig.set(identity, 0);
    expect(verifyEd25519Strict(sig, enc.encode('anything'), identity)).toBe(false);
  });
});
