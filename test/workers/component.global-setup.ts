/** Runs in Node before the workers pool: edge modules + component fixtures for the component tests. */
import type { TestProject } from 'vitest/node';
import { generateEdgeModules } from '../../src/component/generate-edge-modules.js';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildFixtures } from './fixtures/build-fixtures.js';

declare module 'vitest' {
  export interface ProvidedContext {
    componentFixtures: { node: string; wasi: string; runtime: string; fs: string; legacy: string; http10: string };
    /** The componentize-js `echo` fixture (test/fixtures/components/echo), ~12 MB. */
    componentizeEcho: string;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  await generateEdgeModules();
  const f = await buildFixtures();
  project.provide('componentFixtures', {
    node: Buffer.from(f.node).toString('base64'),
    wasi: Buffer.from(f.wasi).toString('base64'),
    runtime: Buffer.from(f.runtime).toString('base64'),
    fs: Buffer.from(f.fs).toString('base64'),
    legacy: Buffer.from(f.legacy).toString('base64'),
    http10: Buffer.from(f.http10).toString('base64'),
  });
  // componentize-js cannot load inside vite's module runner, so the fixture build runs in plain Node.
  const script = fileURLToPath(new URL('../fixtures/components/build.ts', import.meta.url));
  const out = execFileSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const built = JSON.parse(out.slice(out.indexOf('{'))) as Record<string, string>;
  if (!built.echo) throw new Error('test/fixtures/components/echo did not build');
  project.provide('componentizeEcho', readFileSync(built.echo).toString('base64'));
}
