import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

// Pure-core tests (src/flow, src/pack) run in both projects: Node (as the CLI uses them) and
// workerd (as the edge uses them). Tests under test/workers need bindings and run in workerd only.
const pureCore = ['src/flow/**/*.test.ts', 'src/pack/**/*.test.ts'];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          environment: 'node',
          include: [...pureCore, 'src/cli/**/*.test.ts', 'src/component/**/*.node.test.ts', 'test/node/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        plugins: [cloudflareTest({ wrangler: { configPath: './wrangler.toml' } })],
        test: {
          name: 'workers',
          include: [...pureCore, 'test/workers/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
    ],
  },
});
