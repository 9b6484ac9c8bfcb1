import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from './greentic-pack.js';
import { loadBundle } from './greentic-pack-publish.js';

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
    expect(bundle).toMatchObject({ tenant: 'demo', team: 'default', packs: [{ path: 'packs/demo' }], tenants: { demo: { packs: ['greentic.demo'] } } });
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
    const file = join(dir, 'ok.yaml');
    await writeFile(file, `packs:\n  - ${join(process.cwd(), 'packs/demo')}\n`);
    const r = await run(['--bundle', file, '--url', 'http://127.0.0.1:1', '--token', 't']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('AdminApi: POST http://127.0.0.1:1/admin/v1/packs');
  });
});
