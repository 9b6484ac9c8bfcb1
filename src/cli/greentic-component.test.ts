import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildFixtureComponents } from '../../test/support/fixture-components.js';
import { blake3Hex } from '../pack/digest.js';
import { main } from './greentic-component.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

let work = '';
let dir = '';
let wasm = '';
let firstBuild: { wasm: string; sha256: string; blake3: string; size: number; cached: boolean };

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'gc-cli-'));
  dir = join(work, 'cli-echo');
  const created = await run('new', 'cli-echo', '--dir', dir);
  if (created.code !== 0) throw new Error(created.err);
  // Same name and template every run, so the build cache serves later runs.
  const built = await run('build', '--dir', dir, '--json');
  if (built.code !== 0) throw new Error(built.err);
  firstBuild = JSON.parse(built.out) as typeof firstBuild;
  wasm = firstBuild.wasm;
}, 600_000);

describe('greentic-component new', () => {
  it('writes the TypeScript template with manifest, README, world, dependency WIT and guest types', async () => {
    for (const rel of [
      'component.manifest.json',
      'README.md',
      'src/index.ts',
      'src/cbor.ts',
      'wit/world.wit',
      'wit/deps/component@0.6.0/package.wit',
      'wit/deps/wasix-mcp@25.6.18/package.wit',
      'types/interfaces/greentic-component-node@0.6.0.d.ts',
    ]) {
      expect(existsSync(join(dir, rel)), rel).toBe(true);
    }
    const manifest = JSON.parse(await readFile(join(dir, 'component.manifest.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({
      id: 'com.example.cli-echo',
      name: 'cli-echo',
      world: 'greentic:component/component@0.6.0',
      describe_export: 'describe',
      default_operation: 'handle_message',
    });
    expect(await readFile(join(dir, 'wit/world.wit'), 'utf8')).toContain('package component:cli-echo@0.1.0;');
    // The scaffold owns a real copy of the codec, not a re-export into this repository.
    expect(await readFile(join(dir, 'src/cbor.ts'), 'utf8')).toBe(await readFile(new URL('../pack/cbor.ts', import.meta.url), 'utf8'));
  });

  it('the scaffold type-checks with its own tsconfig', () => {
    const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));
    expect(() => execFileSync(process.execPath, [tsc, '--noEmit', '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' })).not.toThrow();
  }, 120_000);

  it('rejects a name that is not a WIT identifier with exit 1', async () => {
    const r = await run('new', 'My_Comp', '--dir', join(work, 'bad'));
    expect(r.code).toBe(1);
    expect(r.err).toContain('InvalidName');
  });

  it('refuses to write into a non-empty folder', async () => {
    const r = await run('new', 'again', '--dir', dir);
    expect(r.code).toBe(1);
    expect(r.err).toContain('TargetNotEmpty');
  });

  it('without a name is a usage error (exit 2)', async () => {
    expect((await run('new')).code).toBe(2);
  });
});

describe('greentic-component build', () => {
  it('writes dist/<name>.wasm and prints its sha256 and size', async () => {
    expect(wasm).toBe(join(dir, 'dist', 'cli-echo.wasm'));
    const bytes = await readFile(wasm);
    expect(firstBuild.size).toBe(bytes.length);
    expect(firstBuild.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('records the BLAKE3 of the artifact in the manifest, as upstream build does', async () => {
    const manifest = JSON.parse(await readFile(join(dir, 'component.manifest.json'), 'utf8')) as { hashes: { component_wasm: string } };
    expect(manifest.hashes.component_wasm).toBe(`blake3:${blake3Hex(new Uint8Array(await readFile(wasm)))}`);
    expect(firstBuild.blake3).toBe(manifest.hashes.component_wasm);
  });

  it('--keep-manifest leaves component.manifest.json byte for byte as it was', async () => {
    const manifestPath = join(dir, 'component.manifest.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { hashes?: unknown };
    delete manifest.hashes;
    const before = `${JSON.stringify(manifest, null, 2)}\n`;
    await writeFile(manifestPath, before);
    const r = await run('build', '--dir', dir, '--keep-manifest', '--json');
    expect(r.code).toBe(0);
    expect(await readFile(manifestPath, 'utf8')).toBe(before);
    // Without the flag the hash comes back, as upstream records it.
    expect((await run('build', '--dir', dir)).code).toBe(0);
    expect(await readFile(manifestPath, 'utf8')).toContain(firstBuild.blake3);
  });

  it('a second build of unchanged sources is served from the cache', async () => {
    const r = await run('build', '--dir', dir, '--json');
    expect(r.code).toBe(0);
    const again = JSON.parse(r.out) as typeof firstBuild;
    expect(again.cached).toBe(true);
    expect(again.sha256).toBe(firstBuild.sha256);
    expect(r.err).toContain('cached');
  });

  it('prints a human summary without --json', async () => {
    const r = await run('build', '--dir', dir);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/sha256 [0-9a-f]{64}\n\s+size\s+\d+ bytes/);
  });
});

describe('greentic-component describe', () => {
  it('--json lists the operations of the built template', async () => {
    const r = await run('describe', wasm, '--json');
    expect(r.code).toBe(0);
    const d = JSON.parse(r.out) as { name: string; ops: { name: string }[] };
    expect(d.name).toBe('cli-echo');
    expect(d.ops.map((o) => o.name)).toEqual(['handle_message', 'remember', 'recall', 'secret']);
  });

  it('prints a readable summary without --json', async () => {
    const r = await run('describe', wasm);
    expect(r.out).toContain('cli-echo 0.1.0');
    expect(r.out).toMatch(/handle_message\s+Answers with the payload/);
  });

  it('a malformed wasm is a clear error with exit 1', async () => {
    const bad = join(work, 'bad.wasm');
    await writeFile(bad, 'definitely not wasm');
    const r = await run('describe', bad);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`WasmInvalid: ${bad}: not a WebAssembly binary (missing \\0asm header)\n`);
  });

  it('a missing file is exit 1 naming the path', async () => {
    const r = await run('describe', join(work, 'nope.wasm'));
    expect(r.code).toBe(1);
    expect(r.err).toContain('WasmUnreadable');
    expect(r.err).toContain('nope.wasm');
  });
});

describe('greentic-component invoke', () => {
  it('echoes the input', async () => {
    const r = await run('invoke', wasm, 'handle_message', '--input', '{"text":"hello"}', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({
      ok: true,
      result_ok: true,
      output: { ok: true, echo: { text: 'hello', operation: 'handle_message' } },
    });
  });

  it('state written by one invoke is read by the next with --state', async () => {
    const state = join(work, 'state');
    const w = await run(
      'invoke',
      wasm,
      'remember',
      '--input',
      '{"key":"greeting","value":{"text":"hi","n":2}}',
      '--state',
      state,
      '--json',
    );
    expect(JSON.parse(w.out)).toMatchObject({ output: { ok: true } });
    const r = await run('invoke', wasm, 'recall', '--input', '{"key":"greeting"}', '--state', state, '--json');
    expect(JSON.parse(r.out)).toMatchObject({ output: { ok: true, value: { text: 'hi', n: 2 } } });
  });

  it('without --state nothing survives between invocations', async () => {
    await run('invoke', wasm, 'remember', '--input', '{"key":"k","value":1}');
    const r = await run('invoke', wasm, 'recall', '--input', '{"key":"k"}', '--json');
    expect(JSON.parse(r.out)).toMatchObject({ output: { ok: false, error: 'state.read.miss' } });
  });

  it('a secret from --secrets is visible; one not in --secrets is denied (no manifest)', async () => {
    // Beside no manifest, the secrets handed to the run are exactly the granted ones.
    const bare = join(work, 'bare');
    await mkdir(bare, { recursive: true });
    await copyFile(wasm, join(bare, 'c.wasm'));
    const secrets = join(work, 'secrets.json');
    await writeFile(secrets, JSON.stringify({ API_TOKEN: 'abc' }));
    const ok = await run('invoke', join(bare, 'c.wasm'), 'secret', '--input', '{"name":"API_TOKEN"}', '--secrets', secrets, '--json');
    expect(JSON.parse(ok.out)).toMatchObject({ output: { ok: true, present: true, bytes: 3 } });
    const denied = await run('invoke', join(bare, 'c.wasm'), 'secret', '--input', '{"name":"OTHER"}', '--secrets', secrets, '--json');
    expect(JSON.parse(denied.out)).toMatchObject({ output: { ok: false, error: 'denied' } });
  });

  it('with the manifest, an undeclared secret is denied even when supplied; a declared one not supplied reads as none', async () => {
    const secrets = join(work, 'secrets-other.json');
    await writeFile(secrets, JSON.stringify({ OTHER: 'x' }));
    const denied = await run('invoke', wasm, 'secret', '--input', '{"name":"OTHER"}', '--secrets', secrets, '--json');
    expect(JSON.parse(denied.out)).toMatchObject({ output: { ok: false, error: 'denied' } });
    const none = await run('invoke', wasm, 'secret', '--input', '{"name":"API_TOKEN"}', '--json');
    expect(JSON.parse(none.out)).toMatchObject({ output: { ok: true, present: false } });
  });

  it('a node-error exits 1 and reports its code', async () => {
    const { echo } = await buildFixtureComponents({ only: ['echo'], onProgress: () => {} });
    const r = await run('invoke', echo as string, 'fail', '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({ ok: false, error: { code: 'fixture.fail', retryable: false } });
    expect(r.err).toContain('node-error fixture.fail');
  }, 600_000);

  it('input that is not JSON is exit 1', async () => {
    const r = await run('invoke', wasm, 'handle_message', '--input', '{nope');
    expect(r.code).toBe(1);
    expect(r.err).toContain('InputInvalid');
  });

  it('a secrets file that is not an object of strings is exit 1', async () => {
    const secrets = join(work, 'bad-secrets.json');
    await writeFile(secrets, JSON.stringify({ A: 1 }));
    const r = await run('invoke', wasm, 'secret', '--secrets', secrets);
    expect(r.code).toBe(1);
    expect(r.err).toContain('SecretsInvalid');
    expect(r.err).toContain('/A');
  });

  it('without an op is a usage error', async () => {
    expect((await run('invoke', wasm)).code).toBe(2);
  });
});

describe('greentic-component new --template mcp-router', () => {
  it('scaffolds an MCP router that type-checks, builds and transpiles as the mcp-router dialect', async () => {
    const routerDir = join(work, 'cli-router');
    const created = await run('new', 'cli-router', '--dir', routerDir, '--template', 'mcp-router', '--id', 'com.example.router');
    expect(created.code, created.err).toBe(0);
    const manifest = JSON.parse(await readFile(join(routerDir, 'component.manifest.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ id: 'com.example.router', world: 'wasix:mcp/mcp-router@25.6.18' });
    expect(existsSync(join(routerDir, 'types/interfaces/wasix-mcp-router@25.6.18.d.ts'))).toBe(true);
    const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));
    expect(() =>
      execFileSync(process.execPath, [tsc, '--noEmit', '-p', join(routerDir, 'tsconfig.json')], { encoding: 'utf8' }),
    ).not.toThrow();
    const built = await run('build', '--dir', routerDir, '--json');
    expect(built.code, built.err).toBe(0);
    const out = await run('transpile', (JSON.parse(built.out) as { wasm: string }).wasm, '--out', join(work, 'router-artifacts'), '--json');
    expect(out.code, out.err).toBe(0);
    expect(JSON.parse(out.out)).toMatchObject({ dialect: 'mcp-router@25.6.18' });
  }, 600_000);

  it('an unknown template is a usage error', async () => {
    expect((await run('new', 'x', '--dir', join(work, 'x'), '--template', 'rust')).code).toBe(2);
  });
});

describe('greentic-component transpile', () => {
  it('writes the edge artifact set with its descriptor', async () => {
    const out = join(work, 'transpiled');
    const r = await run('transpile', wasm, '--out', out, '--json');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.out) as { dialect: string; files: { name: string }[] };
    expect(summary.dialect).toBe('node@0.6.0');
    expect(summary.files.map((f) => f.name)).toEqual(expect.arrayContaining(['component.js', 'component.core.wasm', 'descriptor.json']));
    const descriptor = JSON.parse(await readFile(join(out, 'descriptor.json'), 'utf8')) as { exportName: string };
    expect(descriptor.exportName).toBe('greentic:component/node@0.6.0');
  });

  it('without --out is a usage error', async () => {
    expect((await run('transpile', wasm)).code).toBe(2);
  });
});

describe('greentic-component usage', () => {
  it('--help prints the verbs and exits 0', async () => {
    const r = await run('--help');
    expect(r.code).toBe(0);
    for (const verb of ['new', 'build', 'describe', 'invoke', 'transpile']) expect(r.out).toContain(`greentic-component ${verb}`);
  });

  it('every verb has --help', async () => {
    for (const verb of ['new', 'build', 'describe', 'invoke', 'transpile']) expect((await run(verb, '--help')).code).toBe(0);
  });

  it('an unknown verb is exit 2', async () => {
    expect((await run('frobnicate')).code).toBe(2);
  });

  it('an unknown option is exit 2', async () => {
    expect((await run('describe', wasm, '--nope')).code).toBe(2);
  });
});
