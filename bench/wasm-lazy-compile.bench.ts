/**
 * Does a new isolate reuse the wasm code that V8 compiled lazily in another isolate of the same
 * process? A generated core module (8,000 functions, ~4.7 MB) runs its `run` export (which calls
 * every function once) in a first isolate, then in fresh isolates loading the same bytes:
 * - in Node, each fresh isolate is a worker thread (`new WebAssembly.Module` of the same bytes);
 * - in workerd (wrangler's unstable_dev), each is a Dynamic Worker from the Worker Loader.
 * A first run in a later isolate that costs as much as in the first one means the lazily
 * compiled code is not shared between isolates, so every new pack isolate compiles again
 * whatever the component host does (see docs/component-performance.md). Informational.
 */
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { unstable_dev } from 'wrangler';

const FUNCTIONS = 8000;

/** A module whose `run` calls FUNCTIONS distinct functions of 40 arithmetic steps each. */
function moduleText(): string {
  const parts = ['(module'];
  for (let i = 0; i < FUNCTIONS; i++) {
    const body = Array.from(
      { length: 40 },
      (_v, k) => `(local.set 1 (i32.add (i32.mul (local.get 1) (i32.const ${k + i})) (i32.xor (local.get 1) (i32.const ${k}))))`,
    ).join(' ');
    parts.push(`(func $f${i} (param i32) (result i32) (local i32) (local.set 1 (local.get 0)) ${body} (local.get 1))`);
  }
  parts.push('(func (export "run") (result i32) (local i32)');
  for (let i = 0; i < FUNCTIONS; i++) parts.push(`(local.set 0 (call $f${i} (local.get 0)))`);
  parts.push('(local.get 0)))');
  return parts.join('\n');
}

/** First and second `run` in this isolate (ms). */
function runTwice(bytes: Uint8Array): number[] {
  const module = new (WebAssembly.Module as unknown as new (b: Uint8Array) => WebAssembly.Module)(bytes);
  const run = new WebAssembly.Instance(module).exports.run as () => number;
  const t0 = performance.now();
  run();
  const t1 = performance.now();
  run();
  return [t1 - t0, performance.now() - t1];
}

function inWorkerThread(bytes: Uint8Array): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: null, execArgv: ['--import', 'tsx'] });
    w.once('message', (m: number[]) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
    w.postMessage(bytes);
  });
}

const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(1).padStart(9)).join('');

async function main(): Promise<void> {
  const tools = await import('@bytecodealliance/jco-transpile/wasm-tools');
  const bytes = new Uint8Array(await tools.parse(moduleText()));
  const rows: Record<string, unknown>[] = [];
  console.log(`module: ${FUNCTIONS} functions, ${(bytes.length / 1e6).toFixed(1)} MB`);
  console.log('runtime   isolate   first run ms   second run ms');
  const node = [runTwice(bytes)];
  for (let i = 0; i < 3; i++) node.push(await inWorkerThread(bytes));
  node.forEach((r, i) => {
    console.log(`node${String(i + 1).padStart(10)}${fmt(r)}`);
    rows.push({
      bench: 'wasm-lazy-compile',
      runtime: 'node',
      isolate: i + 1,
      first_run_ms: Math.round(r[0]! * 10) / 10,
      second_run_ms: Math.round(r[1]! * 10) / 10,
    });
  });
  const worker = await unstable_dev(fileURLToPath(new URL('./wasm-lazy-compile.worker.ts', import.meta.url)), {
    config: fileURLToPath(new URL('./component-bench.wrangler.toml', import.meta.url)),
    experimental: { disableExperimentalWarning: true },
    logLevel: 'warn',
    persist: false,
  } as Parameters<typeof unstable_dev>[1]);
  try {
    const res = await worker.fetch('http://bench/?isolates=4', { method: 'POST', body: bytes } as Parameters<typeof worker.fetch>[1]);
    const runs = (await res.json()) as number[][];
    runs.forEach((r, i) => {
      console.log(`workerd${String(i + 1).padStart(7)}${fmt(r)}`);
      rows.push({ bench: 'wasm-lazy-compile', runtime: 'workerd', isolate: i + 1, first_run_ms: r[0], second_run_ms: r[1] });
    });
  } finally {
    await worker.stop();
  }
  console.log(JSON.stringify(rows));
}

if (isMainThread) await main();
else parentPort!.once('message', (bytes: Uint8Array) => parentPort!.postMessage(runTwice(bytes)));
