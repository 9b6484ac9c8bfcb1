// `greentic-pack inspect` on upstream packs whose components are declared only in the
// component_sources extension.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/greentic-pack.js';
import { upstreamPacksDir } from '../support/upstream-pack-files.js';

async function inspect(name: string): Promise<{ components: { id: string; version: string; path: string; sha256: string }[] }> {
  let out = '';
  const code = await main(['inspect', join(upstreamPacksDir(), `${name}.gtpack`), '--json'], {
    out: (t) => (out += t),
    err: () => {},
    env: {},
  });
  expect(code).toBe(0);
  return JSON.parse(out);
}

describe('inspecting an upstream pack with components: []', () => {
  it('lists the component its component_sources extension declares, with the version its lock records', async () => {
    const report = await inspect('quickstart');
    expect(report.components).toEqual([
      expect.objectContaining({
        id: 'ai.greentic.component-adaptive-card',
        version: '0.2.0',
        path: 'components/ai.greentic.component-adaptive-card.wasm',
        sha256: '9e2d586f2137ad4c987387a56c63126186735499498d0d020908e4d232e7c818',
      }),
    ]);
  });
});
