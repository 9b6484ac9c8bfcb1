import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';
import { testKeyring } from './test/support/secret-keys.js';
import { serveTestFixture } from './test/support/upstream-pack-files.js';

// Pure-core tests (src/flow, src/pack) run in both projects: Node (as the CLI uses them) and
// workerd (as the edge uses them). Tests under test/workers need bindings and run in workerd only.
const pureCore = ['src/flow/**/*.test.ts', 'src/pack/**/*.test.ts'];
// FC_SEED=<n> reruns the fast-check properties with a fixed seed (a failing property prints its seed).
const provide = { fcSeed: process.env.FC_SEED ?? '' };

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          environment: 'node',
          include: [...pureCore, 'src/cli/**/*.test.ts', 'src/component/**/*.node.test.ts', 'test/node/**/*.test.ts'],
          // Tests of the generated edge modules import src/component/generated/*.js (wrangler's own
          // build step makes them for the deploy dry-run; vitest does not run it).
          globalSetup: ['./src/component/build/generate-edge-modules.ts'],
          provide,
          testTimeout: 60_000,
        },
      },
      {
        // The first-run path in headless Chromium (test/browser): starts `scripts/dev.ts` itself.
        test: {
          name: 'browser',
          environment: 'node',
          include: ['test/browser/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 200_000,
        },
      },
      {
        plugins: [
          cloudflareTest(async () => ({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              // Test-only values: the admin token secret, the secrets keyring and the D1 migrations the setup file applies.
              bindings: {
                ADMIN_TOKEN: 'test-admin-token',
                WEBCHAT_TOKEN_SECRET: 'test-webchat-secret',
                SECRETS_ENCRYPTION_KEYS: testKeyring('test'),
                TEST_D1_MIGRATIONS: await readD1Migrations('./migrations/d1'),
                // The MCP tests' tenants may reach the local MCP server (test/workers/mcp.global-setup.ts).
                MCP_ALLOW_HOSTS: JSON.stringify({ 'mcp-t': ['127.0.0.1'], 'mcp-err': ['127.0.0.1'] }),
                // The providers' real endpoints (wrangler.toml's values), which the channel tests'
                // fakes answer: `npm run dev` writes local fakes' URLs into .dev.vars, which the
                // pool reads too, and a browser test running `npm run dev` beside it must not
                // redirect them.
                SLACK_API_BASE: 'https://slack.com/api',
                TELEGRAM_API_BASE: 'https://api.telegram.org',
                WHATSAPP_API_BASE: 'https://graph.facebook.com/v25.0',
                TEAMS_OPENID_METADATA_URL: 'https://login.botframework.com/v1/.well-known/openidconfiguration',
                TEAMS_TOKEN_URL: 'https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token',
              },
              // Large binary fixtures (the upstream demo packs) are fetched on demand from Node:
              // provided context travels in one message, which these would overflow.
              serviceBindings: { TEST_FIXTURES: serveTestFixture },
            },
          })),
        ],
        test: {
          name: 'workers',
          setupFiles: ['./test/workers/setup-d1.ts'],
          // Generates src/component/generated (edge module strings) and the WAT component fixtures.
          globalSetup: [
            './test/workers/component.global-setup.ts',
            './test/workers/upstream-packs.global-setup.ts',
            './test/workers/mcp.global-setup.ts',
          ],
          provide,
          include: [
            ...pureCore,
            'src/channels/**/*.test.ts',
            'test/workers/**/*.test.ts',
            'test/faults/**/*.test.ts',
            'test/security/**/*.test.ts',
          ],
          testTimeout: 60_000,
        },
      },
    ],
  },
});
