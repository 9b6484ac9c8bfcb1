import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryBucket } from '../../test/support/memory-stores.js';
import { testKeyring } from '../../test/support/secret-keys.js';
import { adminApi } from '../admin/admin-api.js';
import { readSecretObject } from '../edge/secret-objects.js';
import type { Env } from '../env.js';
import { main } from './greentic-pack.js';
import { cmdPublish, loadBundle } from './greentic-pack-publish.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'publish-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['publish', ...args], { out: (t) => (out += t), err: (t) => (err += t), env: {} });
  return { code, out, err };
}

describe('greentic-pack publish (offline checks; the live path is tested in test/browser)', () => {
  it('reads the repository bundle: tenant demo runs the demo pack', async () => {
    const bundle = await loadBundle('greentic.demo.yaml');
    expect(bundle).toMatchObject({
      tenant: 'demo',
      team: 'default',
      packs: [{ path: 'packs/demo' }],
      tenants: { demo: { packs: ['greentic.demo'] } },
    });
  });

  it('exits 2 with the usage when --bundle, --url or the token is missing', async () => {
    const r = await run(['--bundle', 'greentic.demo.yaml', '--url', 'http://127.0.0.1:1']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--token TOKEN');
  });

  it('exits 1 naming the file when the bundle is invalid', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'tenant: "not an id!"\npacks: 3\n');
    const r = await run(['--bundle', file, '--url', 'http://127.0.0.1:1', '--token', 't']);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`InvalidBundle: ${file}`);
  });

  it('exits 1 with the admin URL when the runner cannot be reached', async () => {
    // A source without components: it builds in a fresh clone, where no component wasm exists yet.
    const src = join(dir, 'plain-pack');
    await mkdir(join(src, 'flows'), { recursive: true });
    await writeFile(
      join(src, 'pack.yaml'),
      'pack_id: plain\nversion: 0.1.0\nkind: application\npublisher: tests\ncomponents: []\nflows:\n  - id: main\n    file: flows/main.ygtc\n',
    );
    await writeFile(
      join(src, 'flows', 'main.ygtc'),
      'id: main\ntype: messaging\nnodes:\n  hi:\n    emit.response: { text: "hi" }\n    routing: out\n',
    );
    const file = join(dir, 'ok.yaml');
    await writeFile(file, `packs:\n  - ${src}\n`);
    const r = await run(['--bundle', file, '--url', 'http://127.0.0.1:1', '--token', 't']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('AdminApi: POST http://127.0.0.1:1/admin/v1/packs');
  });
});

/** A runner's admin API (secrets routes need only R2) answering publish's requests in-process. */
function runnerAdmin() {
  const bucket = memoryBucket();
  const keys = testKeyring('publish');
  const env = { ADMIN_TOKEN: 'admin-t', GREENTIC_ENV: 'dev', PACKS: bucket, SECRETS_ENCRYPTION_KEYS: keys } as unknown as Env;
  const app = new Hono<{ Bindings: Env }>().route(
    '/admin/v1',
    adminApi(() => undefined),
  );
  const calls: string[] = [];
  const doFetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    calls.push(`${req.method} ${new URL(req.url).pathname}`);
    return app.request(req, undefined, env);
  }) as typeof fetch;
  /** The value stored at an R2 key, opened as the runner opens it. */
  const stored = async (key: string) => {
    const value = await readSecretObject(bucket as unknown as R2Bucket, keys, key);
    return value === null ? null : new TextDecoder().decode(value);
  };
  return { bucket, calls, fetch: doFetch, stored };
}

async function publish(
  args: string[],
  admin: ReturnType<typeof runnerAdmin>,
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await cmdPublish([...args, '--url', 'http://runner.test', '--token', 'admin-t'], {
    out: (t) => (out += t),
    err: (t) => (err += t),
    env,
    fetch: admin.fetch,
  });
  return { code, out, err };
}

describe('greentic-pack publish: tenant secrets', () => {
  const bundleWithSecrets = async (name: string, secrets: string[]) => {
    const file = join(dir, name);
    await writeFile(file, `tenant: acme\ntenants:\n  acme:\n    secrets: [${secrets.join(', ')}]\n`);
    return file;
  };

  it('the repository bundle lists DEMO_API_KEY by name for tenant demo', async () => {
    expect((await loadBundle('greentic.demo.yaml')).tenants?.demo?.secrets).toEqual(['DEMO_API_KEY']);
  });

  it('sets each listed secret from --secrets at the tenant-wide key, then reports it unchanged on a re-run', async () => {
    const bundle = await bundleWithSecrets('secrets.yaml', ['DEMO_API_KEY', 'OTHER_KEY']);
    const values = join(dir, 'values.json');
    await writeFile(values, JSON.stringify({ DEMO_API_KEY: 'k-123', OTHER_KEY: 'o-456' }));
    const admin = runnerAdmin();

    const first = await publish(['--bundle', bundle, '--secrets', values, '--json'], admin);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.out)).toMatchObject({
      packs: [],
      secrets: [
        { tenant: 'acme', key: 'DEMO_API_KEY', status: 'set' },
        { tenant: 'acme', key: 'OTHER_KEY', status: 'set' },
      ],
    });
    expect(first.out).not.toContain('k-123');
    expect(await admin.stored('secrets/dev/acme/_/DEMO_API_KEY')).toBe('k-123');
    const sealed = admin.bucket.objects.get('secrets/dev/acme/_/DEMO_API_KEY')?.bytes;

    const again = await publish(['--bundle', bundle, '--secrets', values, '--json'], admin);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.out).secrets.map((s: { status: string }) => s.status)).toEqual(['unchanged', 'unchanged']);
    // Sealing draws a fresh IV, so the same bytes mean the runner did not write again.
    expect(admin.bucket.objects.get('secrets/dev/acme/_/DEMO_API_KEY')?.bytes).toEqual(sealed);

    await writeFile(values, JSON.stringify({ DEMO_API_KEY: 'k-rotated', OTHER_KEY: 'o-456' }));
    const rotated = await publish(['--bundle', bundle, '--secrets', values, '--json'], admin);
    expect(JSON.parse(rotated.out).secrets.map((s: { status: string }) => s.status)).toEqual(['set', 'unchanged']);
    expect(await admin.stored('secrets/dev/acme/_/DEMO_API_KEY')).toBe('k-rotated');
  });

  it("sets the operator's value even when a component already wrote the same value under that key", async () => {
    const bundle = await bundleWithSecrets('component-wrote.yaml', ['DEMO_API_KEY']);
    const values = join(dir, 'component-wrote.json');
    await writeFile(values, JSON.stringify({ DEMO_API_KEY: 'k-123' }));
    const admin = runnerAdmin();
    await admin.bucket.put('component-secrets/dev/acme/support/DEMO_API_KEY', new TextEncoder().encode('k-123'));
    const r = await publish(['--bundle', bundle, '--secrets', values, '--json'], admin);
    expect(JSON.parse(r.out).secrets).toEqual([{ tenant: 'acme', key: 'DEMO_API_KEY', status: 'set' }]);
    expect(await admin.stored('secrets/dev/acme/_/DEMO_API_KEY')).toBe('k-123');
  });

  it('takes a value missing from --secrets from the environment variable of the same name', async () => {
    const bundle = await bundleWithSecrets('env.yaml', ['DEMO_API_KEY']);
    const admin = runnerAdmin();
    const r = await publish(['--bundle', bundle], admin, { DEMO_API_KEY: 'from-env' });
    expect(r.code).toBe(0);
    expect(await admin.stored('secrets/dev/acme/_/DEMO_API_KEY')).toBe('from-env');
  });

  it('exits 1 naming every listed secret without a value, before calling the runner', async () => {
    const bundle = await bundleWithSecrets('missing.yaml', ['DEMO_API_KEY', 'SECOND']);
    const admin = runnerAdmin();
    const r = await publish(['--bundle', bundle], admin, { SECOND: 'x' });
    expect(r.code).toBe(1);
    expect(r.err).toContain('MissingSecret');
    expect(r.err).toContain('DEMO_API_KEY (tenant acme)');
    expect(r.err).not.toContain('SECOND (');
    expect(admin.calls).toEqual([]);
  });

  it('exits 1 naming the file when --secrets is not a JSON map of strings', async () => {
    const bundle = await bundleWithSecrets('bad-values.yaml', ['DEMO_API_KEY']);
    const values = join(dir, 'bad-values.json');
    await writeFile(values, JSON.stringify({ DEMO_API_KEY: 42 }));
    const r = await publish(['--bundle', bundle, '--secrets', values], runnerAdmin());
    expect(r.code).toBe(1);
    expect(r.err).toContain(`InvalidSecrets: ${values}`);
  });

  it('rejects a bundle secret name the host would refuse', async () => {
    const bundle = await bundleWithSecrets('bad-name.yaml', ['"../escape"']);
    const r = await publish(['--bundle', bundle, '--secrets', join(dir, 'values.json')], runnerAdmin());
    expect(r.code).toBe(1);
    expect(r.err).toContain('InvalidBundle');
  });
});

describe('greentic-pack publish: tenant timers', () => {
  it('refuses a bundle whose timer has a bad cron, naming where, before calling the runner', async () => {
    const file = join(dir, 'timers.yaml');
    await writeFile(
      file,
      "tenant: acme\ntenants:\n  acme:\n    timers:\n      - { flow_id: tick, cron: '0 * * * *' }\n      - { flow_id: tock, cron: '0 25 * * *' }\n",
    );
    const admin = runnerAdmin();
    const r = await publish(['--bundle', file], admin);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/\/tenants\/acme\/timers\/1\/cron: .*hour "25"/);
    expect(admin.calls).toEqual([]);
  });
});
