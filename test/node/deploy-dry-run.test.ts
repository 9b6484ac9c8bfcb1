import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Where the component build writes; nothing in them is committed but their `.d.ts` and `.gitignore`. */
const GENERATED = ['src/component/generated', 'src/component/isolate/generated'];

const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2 };

/** Wrangler's "Total Upload: 1.23 MiB / gzip: 456.78 KiB" line, in bytes. */
function uploadSizes(out: string): { raw: number; gzip: number } {
  const m = /Total Upload: ([\d.]+) (B|KiB|MiB) \/ gzip: ([\d.]+) (B|KiB|MiB)/.exec(out);
  if (m === null) throw new Error(`no "Total Upload" line in wrangler's output:\n${out}`);
  return { raw: Number(m[1]) * UNITS[m[2]!]!, gzip: Number(m[3]) * UNITS[m[4]!]! };
}

function dryRun(envName: string): string {
  return execFileSync('npx', ['wrangler', 'deploy', '--dry-run', '--env', envName, '--outdir', `.wrangler/dry-run-${envName || 'top'}`], {
    encoding: 'utf8',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

describe('wrangler deploy --dry-run', () => {
  for (const envName of ['', 'staging', 'production']) {
    it(`bundles the worker within the Workers size limit with every binding for env "${envName || 'top-level'}"`, () => {
      const out = dryRun(envName);
      for (const binding of [
        'env.CHANNEL (ChannelSession)',
        'env.WEBCHAT (WebchatConversation)',
        'env.RATE_LIMITER (RateLimiter)',
        'env.INGRESS',
        'env.EGRESS',
        'env.DEAD_LETTERS',
        'env.PACK_INDEX',
        'env.PACKS',
        'env.LOADER',
      ]) {
        expect(out).toContain(binding);
      }
      expect(out).toContain('--dry-run: exiting now.');
      // Workers limit: 64 MiB uncompressed; stay under the older 10 MiB compressed paid limit too.
      const size = uploadSizes(out);
      expect(size.raw).toBeLessThan(64 * 1024 ** 2);
      expect(size.gzip).toBeLessThan(10 * 1024 ** 2);
    }, 120_000);
  }
});

describe('a fresh clone', () => {
  it('`wrangler deploy --dry-run --env staging` generates the component modules in its own build step and bundles the Worker', () => {
    const dir = mkdtempSync(join(tmpdir(), 'greentic-fresh-clone-'));
    try {
      // What a clone holds: tracked files (plus new ones not yet committed), as in the working tree.
      const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' })
        .split('\0')
        .filter((f) => f !== '' && existsSync(join(ROOT, f)) && lstatSync(join(ROOT, f)).isFile());
      for (const f of files) {
        mkdirSync(dirname(join(dir, f)), { recursive: true });
        copyFileSync(join(ROOT, f), join(dir, f));
      }
      const generatedJs = () => GENERATED.flatMap((d) => readdirSync(join(dir, d)).filter((f) => f.endsWith('.js')));
      expect(generatedJs()).toEqual([]);
      symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(dir, 'node_modules'), 'dir');

      const out = execFileSync(
        process.execPath,
        [join(dir, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--env', 'staging', '--outdir', 'dist'],
        {
          cwd: dir,
          encoding: 'utf8',
          // The build command runs `node` from PATH: make it this Node (wrangler needs ≥ 22.12).
          env: {
            ...process.env,
            WRANGLER_SEND_METRICS: 'false',
            PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      expect(out).toContain('[custom build] Running: node --import tsx');
      expect(out).toContain('--dry-run: exiting now.');
      expect(generatedJs()).toEqual(
        expect.arrayContaining(['isolate-modules.js', 'node-abi.js', 'transpiler-modules.js', 'transpiler-wasm-0.js']),
      );
      const bundle = readFileSync(join(dir, 'dist', 'worker.js'), 'utf8');
      // The Worker itself and the generated module strings it hands to Dynamic Workers.
      expect(bundle).toMatch(/ChannelSession = class extends DurableObject/);
      expect(bundle).toContain('ISOLATE_RUNTIME_WASI');
      expect(bundle).toContain('TRANSPILER_WASM_GZIP_BASE64');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
