/** Runs in Node before the workers pool: edge modules + component fixtures for the component tests. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TestProject } from 'vitest/node';
import { generateEdgeModules } from '../../src/component/generate-edge-modules.js';
import { buildFixtures } from './fixtures/build-fixtures.js';

declare module 'vitest' {
  export interface ProvidedContext {
    componentFixtures: { node: string; wasi: string; runtime: string; fs: string; legacy: string; http10: string; error?: string };
    /** The componentize-js `echo` fixture (test/fixtures/components/echo), ~12 MB. */
    componentizeEcho: string;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  await generateEdgeModules();
  // A fixture that fails to build fails the component tests (with this message), not the project.
  try {
    const f = await buildFixtures();
    const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
    project.provide('componentFixtures', {
      node: b64(f.node),
      wasi: b64(f.wasi),
      runtime: b64(f.runtime),
      fs: b64(f.fs),
      legacy: b64(f.legacy),
      http10: b64(f.http10),
    });
  } catch (err) {
    const empty = { node: '', wasi: '', runtime: '', fs: '', legacy: '', http10: '' };
    project.provide('componentFixtures', { ...empty, error: `WAT component fixtures did not build: ${(err as Error).message}` });
  }
  // componentize-js cannot load inside vite's module runner, so the fixture build runs in plain Node.
  // A broken or unbuildable fixture must not take the whole workers project down: the
  // componentize-js tests report it and are skipped.
  const script = pathToFileURL(fileURLToPath(new URL('../fixtures/components/build.ts', import.meta.url))).href;
  const program = `const m = await import(${JSON.stringify(script)}); const r = await m.buildFixtureComponents({ only: ['echo'] }); process.stdout.write(JSON.stringify(r));`;
  let echo = '';
  try {
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', program], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const built = JSON.parse(out.slice(out.indexOf('{'))) as Record<string, string>;
    if (built.echo) echo = readFileSync(built.echo).toString('base64');
  } catch (err) {
    console.warn(`[component tests] componentize-js echo fixture unavailable: ${(err as Error).message}`);
  }
  project.provide('componentizeEcho', echo);
}
