import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildFixtureComponents, FIXTURE_CACHE } from '../../../test/support/fixture-components.js';
import { buildComponent, bundleComponentSource, withWasiTargetMarker } from './component-build.js';
import { readWitPackage, witSourceForComponentDir } from './wit-source.js';

async function componentDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gc-build-'));
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(join(dir, rel, '..'), { recursive: true });
    await writeFile(join(dir, rel), text);
  }
  return dir;
}

describe('component build', () => {
  it('a cached fixture is returned without rebuilding', async () => {
    const first = await buildFixtureComponents({ only: ['echo'], onProgress: () => {} });
    const lines: string[] = [];
    const again = await buildComponent({
      dir: new URL('../../../test/fixtures/components/echo', import.meta.url).pathname,
      name: 'echo',
      cacheRoot: FIXTURE_CACHE,
      onProgress: (l) => lines.push(l),
    });
    expect(again.cached).toBe(true);
    expect(again.wasmPath).toBe(first.echo);
    expect(lines).toEqual([expect.stringContaining('echo: cached')]);
  }, 600_000);

  it('the built component carries the wasm32-wasip2 marker upstream tools look for', async () => {
    const { echo } = await buildFixtureComponents({ only: ['echo'], onProgress: () => {} });
    const bytes = await readFile(echo as string);
    expect(bytes.includes(Buffer.from('wasm32-wasip2'))).toBe(true);
  }, 600_000);

  it('the marker is appended as a component custom section', () => {
    const header = Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]);
    const out = withWasiTargetMarker(header);
    expect([...out.subarray(0, 8)]).toEqual([...header]);
    const name = '.greentic.wasi';
    // id 0, size, name length, name, payload
    expect(out[8]).toBe(0);
    expect(out[9]).toBe(1 + name.length + 'wasm32-wasip2'.length);
    expect(Buffer.from(out.subarray(11, 11 + name.length)).toString()).toBe(name);
  });

  it('a TypeScript error in the entry is BundleFailed naming file:line:col', async () => {
    const dir = await componentDir({ 'src/index.ts': 'export const node = {\n  describe() { return 1 +; },\n};\n' });
    const err = await bundleComponentSource(dir, 'src/index.ts').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'BundleFailed' });
    expect((err as Error).message).toMatch(/src\/index\.ts:2:\d+/);
  });

  it('a missing entry is EntryMissing', async () => {
    const dir = await componentDir({ 'wit/world.wit': 'package a:b;\nworld w { export greentic:component/node@0.6.0; }\n' });
    await expect(buildComponent({ dir, onProgress: () => {} })).rejects.toMatchObject({ code: 'EntryMissing' });
  });

  it('a component without wit/ is WitMissing', async () => {
    const dir = await componentDir({ 'src/index.ts': 'export const x = 1;\n' });
    await expect(buildComponent({ dir, onProgress: () => {} })).rejects.toMatchObject({ code: 'WitMissing' });
  });

  it('two worlds and no world name is WorldAmbiguous', async () => {
    const dir = await componentDir({
      'src/index.ts': 'export const x = 1;\n',
      'wit/world.wit': 'package a:b;\nworld one {}\nworld two {}\n',
    });
    await expect(buildComponent({ dir, onProgress: () => {} })).rejects.toMatchObject({ code: 'WorldAmbiguous' });
  });

  it('WIT text nests the dependencies and lets wit/deps override the host copies', async () => {
    const dir = await componentDir({
      'wit/world.wit': 'package a:b@0.1.0;\nworld w { import greentic:state/state-store@1.0.0; }\n',
      'wit/deps/state/package.wit': 'package greentic:state@1.0.0;\ninterface state-store { local-copy: func(); }\n',
    });
    const { text, worlds, pkg } = await witSourceForComponentDir(dir);
    expect(pkg).toBe('a:b@0.1.0');
    expect(worlds).toEqual(['w']);
    expect(text.startsWith('package a:b@0.1.0;')).toBe(true);
    expect(text).toContain('package greentic:component@0.6.0 {');
    expect(text).toContain('local-copy: func();');
    expect(text.match(/package greentic:state@1\.0\.0 \{/g)).toHaveLength(1);
  });

  it('files of one package that disagree on the package name are WitInvalid', async () => {
    const dir = await componentDir({ 'wit/a.wit': 'package a:b;\n', 'wit/b.wit': 'package a:c;\n' });
    await expect(readWitPackage(join(dir, 'wit'))).rejects.toMatchObject({ code: 'WitInvalid' });
  });
});
