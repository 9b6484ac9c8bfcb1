/**
 * Node side of the component benches: builds the fixture components, starts the bench Worker
 * (component-bench.worker.ts under wrangler's unstable_dev, a real workerd) and uploads the
 * small WAT fixture, the small WASI fixture and the ~12 MB componentize-js component.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { unstable_dev } from 'wrangler';
import { generateEdgeModules } from '../src/component/build/generate-edge-modules.js';
import { buildFixtures } from '../test/support/wat-components.js';

export interface BenchWorker {
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** sha256 of each uploaded component (artifacts in the Worker's R2). */
  components: { small: string; wasi: string; big: string };
  stop(): Promise<void>;
}

/**
 * `workerScript`: the Worker to run (default component-bench.worker.ts; a probe Worker may wrap
 * it). `persistTo`: keep R2 in this folder, so a restarted bench Worker finds the components
 * already transpiled.
 */
export async function startBenchWorker(
  workerScript = fileURLToPath(new URL('./component-bench.worker.ts', import.meta.url)),
  persistTo?: string,
): Promise<BenchWorker> {
  await generateEdgeModules();
  const fixtures = await buildFixtures();
  const script = fileURLToPath(new URL('../test/support/fixture-components.ts', import.meta.url));
  const out = execFileSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const jsEcho = readFileSync((JSON.parse(out.slice(out.indexOf('{'))) as Record<string, string>).echo!);

  const worker = await unstable_dev(workerScript, {
    config: fileURLToPath(new URL('./component-bench.wrangler.toml', import.meta.url)),
    experimental: { disableExperimentalWarning: true },
    logLevel: 'warn',
    ...(persistTo ? { persistTo } : { persist: false }),
  } as Parameters<typeof unstable_dev>[1]);
  const fetch = (path: string, init?: RequestInit) =>
    worker.fetch(`http://bench${path}`, init as Parameters<typeof worker.fetch>[1]) as unknown as Promise<Response>;
  const upload = async (bytes: Uint8Array): Promise<string> => {
    const res = await fetch('/upload', { method: 'POST', body: bytes });
    if (!res.ok) throw new Error(`upload failed: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { sha256: string }).sha256;
  };
  try {
    const components = { small: await upload(fixtures.node), big: await upload(jsEcho), wasi: await upload(fixtures.wasi) };
    return { fetch, components, stop: () => worker.stop() };
  } catch (err) {
    await worker.stop();
    throw err;
  }
}
