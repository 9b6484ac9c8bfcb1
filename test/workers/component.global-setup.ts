/** Runs in Node before the workers pool: edge modules + component fixtures for the component tests. */
import type { TestProject } from 'vitest/node';
import { generateEdgeModules } from '../../src/component/generate-edge-modules.js';
import { buildFixtures } from './fixtures/build-fixtures.js';

declare module 'vitest' {
  export interface ProvidedContext {
    componentFixtures: { node: string; wasi: string };
  }
}

export default async function setup(project: TestProject): Promise<void> {
  await generateEdgeModules();
  const f = await buildFixtures();
  project.provide('componentFixtures', {
    node: Buffer.from(f.node).toString('base64'),
    wasi: Buffer.from(f.wasi).toString('base64'),
  });
}
