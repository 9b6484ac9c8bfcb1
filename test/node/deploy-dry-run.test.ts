import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

function dryRun(envName: string): string {
  return execFileSync('npx', ['wrangler', 'deploy', '--dry-run', '--env', envName, '--outdir', `.wrangler/dry-run-${envName || 'top'}`], {
    encoding: 'utf8',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

describe('wrangler deploy --dry-run', () => {
  for (const envName of ['', 'staging', 'production']) {
    it(`bundles the worker with every binding for env "${envName || 'top-level'}"`, () => {
      const out = dryRun(envName);
      for (const binding of ['env.CHANNEL (ChannelSession)', 'env.INGRESS', 'env.EGRESS', 'env.PACK_INDEX', 'env.PACKS', 'env.LOADER']) {
        expect(out).toContain(binding);
      }
      expect(out).toContain('--dry-run: exiting now.');
    }, 120_000);
  }
});
