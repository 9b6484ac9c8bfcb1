import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

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
        'env.INGRESS',
        'env.EGRESS',
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
