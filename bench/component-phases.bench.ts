/**
 * Where a cold component load spends its time inside the fresh Dynamic Worker: instantiation
 * (`prepare`), the first invocation and the second one, for the small WAT fixture (loaded without
 * jco glue), the small WASI fixture and the ~12 MB componentize-js component (both from their
 * instantiation plans, without glue).
 * The isolate runs the production module set (edge/runner.ts `packIsolateModules`); clocks inside a
 * Worker tick in whole milliseconds, so each figure is a mean over many fresh isolates.
 * Informational: `npm run bench:component` holds the targets.
 */
import { startBenchWorker } from './component-bench-harness.js';

interface Phases {
  prepare: number;
  first: number;
  second: number;
  ok: boolean;
  via: string;
}

async function main(): Promise<void> {
  const worker = await startBenchWorker();
  try {
    const rows: Record<string, unknown>[] = [];
    console.log('component        samples   prepare ms   first invoke ms   second invoke ms   path');
    for (const [name, sha, samples, pauseMs] of [
      ['small (no glue)', worker.components.small, 40, 150],
      ['small WASI', worker.components.wasi, 40, 150],
      ['12 MB (JS)', worker.components.big, 12, 500],
    ] as const) {
      const all: Phases[] = [];
      for (let i = 0; i < samples; i++) {
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
        const res = await worker.fetch(`/phases?sha=${sha}&op=echo`);
        const body = await res.text();
        if (!res.ok) throw new Error(`phases failed: ${res.status} ${body}`);
        const p = JSON.parse(body) as Phases;
        if (!p.ok) throw new Error(`${name}: invoke failed: ${body}`);
        all.push(p);
      }
      const mean = (k: 'prepare' | 'first' | 'second') => Math.round((all.reduce((a, p) => a + p[k], 0) / all.length) * 100) / 100;
      const row = {
        bench: 'component-phases',
        component: name,
        samples,
        prepare_ms: mean('prepare'),
        first_invoke_ms: mean('first'),
        second_invoke_ms: mean('second'),
        via: all[0]!.via,
      };
      rows.push(row);
      console.log(
        `${name.padEnd(17)}${String(samples).padStart(7)}${row.prepare_ms.toFixed(2).padStart(13)}${row.first_invoke_ms.toFixed(2).padStart(18)}${row.second_invoke_ms.toFixed(2).padStart(19)}   ${row.via}`,
      );
    }
    console.log(JSON.stringify(rows));
  } finally {
    await worker.stop();
  }
}

await main();
