/**
 * Is the first invocation's cost in a fresh isolate per isolate or per compiled module? One
 * fresh pack isolate holds the ~12 MB componentize-js component twice; the second copy runs its
 * first invocation after the first copy's. `same`: both copies share the core-module bytes (one
 * compiled module); `nonce`: the second copy's main module has an extra custom section (a
 * separately compiled module). Informational: `npm run bench:component` holds the targets.
 * Clocks inside a Worker tick in whole milliseconds, so figures are means over fresh isolates.
 */
import { fileURLToPath } from 'node:url';
import { startBenchWorker } from './component-bench-harness.js';

const SAMPLES = 10;

async function main(): Promise<void> {
  const worker = await startBenchWorker(fileURLToPath(new URL('./component-compile.worker.ts', import.meta.url)));
  try {
    const rows: Record<string, unknown>[] = [];
    console.log('mode    samples   prepare 1   invoke 1   prepare 2   invoke 2   (ms, means)');
    for (const mode of ['same', 'nonce', 'same', 'nonce']) {
      const all: number[][] = [];
      for (let i = 0; i < SAMPLES; i++) {
        await new Promise((resolve) => setTimeout(resolve, 400));
        const res = await worker.fetch(`/twins?sha=${worker.components.big}&mode=${mode}`);
        const body = await res.text();
        if (!res.ok) throw new Error(`twins failed: ${res.status} ${body}`);
        all.push(JSON.parse(body) as number[]);
      }
      const mean = [0, 1, 2, 3].map((k) => Math.round((all.reduce((a, r) => a + r[k]!, 0) / all.length) * 100) / 100);
      rows.push({
        bench: 'component-compile',
        mode,
        samples: SAMPLES,
        prepare_1_ms: mean[0],
        invoke_1_ms: mean[1],
        prepare_2_ms: mean[2],
        invoke_2_ms: mean[3],
      });
      console.log(`${mode.padEnd(8)}${String(SAMPLES).padStart(7)}${mean.map((m) => m.toFixed(2).padStart(11)).join('')}`);
    }
    console.log(JSON.stringify(rows));
  } finally {
    await worker.stop();
  }
}

await main();
