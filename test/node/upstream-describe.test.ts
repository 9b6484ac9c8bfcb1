// `greentic-component describe` on a Rust-built node@0.6.0 component that exports `invoke` only
// (quickstart-app's component-msg2events): upstream never calls describe, so the CLI says what is known.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/greentic-component.js';
import type { DescribedComponent } from '../../src/component/node/described-component.js';
import { openPack } from '../../src/pack/reader.js';
import { upstreamPackFile } from '../support/upstream-pack-files.js';

let root: string;

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'upstream-describe-'));
  const pack = openPack(await upstreamPackFile('quickstart-app'));
  await mkdir(join(root, 'with-manifest'));
  await mkdir(join(root, 'alone'));
  const wasm = pack.entries.get('components/component-msg2events.wasm')!;
  await writeFile(join(root, 'with-manifest', 'component-msg2events.wasm'), wasm);
  await writeFile(
    join(root, 'with-manifest', 'component-msg2events.manifest.cbor'),
    pack.entries.get('components/component-msg2events.manifest.cbor')!,
  );
  await writeFile(join(root, 'alone', 'component-msg2events.wasm'), wasm);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('describe on an invoke-only node@0.6.0 component', () => {
  it('describes it from the component manifest beside it (as packs carry it), saying so', async () => {
    const r = await run('describe', join(root, 'with-manifest', 'component-msg2events.wasm'), '--json');
    expect(r.code).toBe(0);
    const d = JSON.parse(r.out) as DescribedComponent;
    expect(d).toMatchObject({ abi: 'greentic:component/node@0.6.0', source: 'manifest', name: 'component-msg2events', version: '0.1.0' });
    expect(d.ops.map((o) => o.name)).toEqual(['route', 'extract', 'validate']);
    expect(d.capabilities).toEqual(['wasi:fs:none']);
  });

  it('without a manifest it still succeeds, naming the component by its file and saying its operations are unknown', async () => {
    const r = await run('describe', join(root, 'alone', 'component-msg2events.wasm'));
    expect(r.code).toBe(0);
    expect(r.out).toContain('component-msg2events   (greentic:component/node@0.6.0)');
    expect(r.out).toContain('no component manifest is beside it: its operations are unknown');
    expect(r.out).toContain('operations (0):');
  });
});
