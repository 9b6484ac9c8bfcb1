/** Runs in Node before the workers pool: the real upstream packs the end-to-end tests upload. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `../shared/fixtures/upstream-packs/quickstart-app.gtpack` (base64), or '' when the fixtures are not there. */
    quickstartAppPack: string;
  }
}

export default function setup(project: TestProject): void {
  const path = fileURLToPath(new URL('../../../shared/fixtures/upstream-packs/quickstart-app.gtpack', import.meta.url));
  let pack = '';
  try {
    pack = readFileSync(path).toString('base64');
  } catch (err) {
    console.warn(`[upstream packs] ${path} unavailable: ${(err as Error).message}`);
  }
  project.provide('quickstartAppPack', pack);
}
