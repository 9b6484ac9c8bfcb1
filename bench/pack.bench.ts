// Open + fully verify (ZIP guards, CRC, SBOM BLAKE3 of every entry, component pins, SHA-256 for
// the report, strict Ed25519) a pack holding a 6 MB component, against the raw BLAKE3 time of the
// same component bytes measured in the same run. Target: verify adds < 50% over raw BLAKE3.
import { blake3 } from '@noble/hashes/blake3.js';
import { samplePackSource } from '../src/pack/fixtures/sample-pack.js';
import { buildPack, generateKeyPair, signPackArchive, verifyPack } from '../src/pack/index.js';

const COMPONENT_BYTES = 6 * 1024 * 1024;
const RUNS = 7;

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

async function main(): Promise<void> {
  const wasm = randomBytes(COMPONENT_BYTES);
  const key = generateKeyPair();
  const built = buildPack(samplePackSource(wasm));
  const pack = signPackArchive(built.bytes, key.seed).bytes;

  const raw: number[] = [];
  const verify: number[] = [];
  // Interleave the two measurements so machine load affects both alike.
  for (let i = 0; i < RUNS; i++) {
    let t = performance.now();
    blake3(wasm);
    raw.push(performance.now() - t);
    t = performance.now();
    const report = await verifyPack(pack, { policy: 'strict', trustedKeys: [key.publicKey] });
    verify.push(performance.now() - t);
    if (!report.ok) throw new Error(`bench pack did not verify: ${report.errors.join('; ')}`);
  }
  const rawMs = median(raw);
  const verifyMs = median(verify);
  const mb = COMPONENT_BYTES / (1024 * 1024);
  const archiveMb = pack.length / (1024 * 1024);
  const rawMbs = mb / (rawMs / 1000);
  const verifyMbs = archiveMb / (verifyMs / 1000);

  console.log(`pack: ${pack.length} bytes, component ${COMPONENT_BYTES} bytes, median of ${RUNS} runs`);
  console.log('| measurement                          |      ms |    MB/s |');
  console.log('|--------------------------------------|---------|---------|');
  console.log(`| raw BLAKE3 of the component bytes    | ${rawMs.toFixed(1).padStart(7)} | ${rawMbs.toFixed(1).padStart(7)} |`);
  console.log(`| open + full verify (strict)          | ${verifyMs.toFixed(1).padStart(7)} | ${verifyMbs.toFixed(1).padStart(7)} |`);
  console.log(`| verify overhead over raw BLAKE3      | ${(((verifyMs - rawMs) / rawMs) * 100).toFixed(1).padStart(6)}% |         |`);
  console.log(
    JSON.stringify([
      {
        bench: 'pack',
        metric: 'verify_ms_6mb',
        value: round3(verifyMs),
        unit: 'ms',
        baseline: round3(rawMs),
        ratio: round3(verifyMs / rawMs),
        target: 'verify adds < 50% over raw BLAKE3 (ratio < 1.5)',
      },
      {
        bench: 'pack',
        metric: 'verify_hash_mb_per_s',
        value: round3(verifyMbs),
        unit: 'MB/s',
        baseline: round3(rawMbs),
        ratio: round3(verifyMbs / rawMbs),
        target: 'verify throughput ≥ 2/3 of raw BLAKE3 throughput',
      },
    ]),
  );
}

await main();
