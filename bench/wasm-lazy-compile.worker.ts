/**
 * Bench-only Worker for `npm run bench:wasm-lazy-compile`: POST a core module's bytes, get back,
 * for each of `isolates` fresh Dynamic Workers loading the same bytes, the time of the module's
 * `run` export called twice (ms; the isolate's clock ticks in whole milliseconds).
 */
interface Env {
  LOADER: WorkerLoader;
}

let seq = 0;

const MAIN = `import m from './m.wasm';
export default {
  async fetch() {
    const instance = new WebAssembly.Instance(m);
    const t0 = performance.now();
    instance.exports.run();
    const t1 = performance.now();
    instance.exports.run();
    const t2 = performance.now();
    return Response.json([t1 - t0, t2 - t1]);
  },
};`;

export default {
  async fetch(req: Request, env: Env): Promise<Response> {
    const wasm = await req.arrayBuffer();
    const isolates = Number(new URL(req.url).searchParams.get('isolates') ?? '3');
    const out: number[][] = [];
    for (let i = 0; i < isolates; i++) {
      const worker = env.LOADER.get(`lazy-${++seq}-${Date.now()}`, () => ({
        compatibilityDate: '2026-10-01',
        mainModule: 'main.js',
        modules: { 'main.js': MAIN, 'm.wasm': { wasm } },
        globalOutbound: null,
      }));
      const res = await worker.getEntrypoint().fetch(new Request('http://isolate/'));
      out.push((await res.json()) as number[]);
    }
    return Response.json(out);
  },
} satisfies ExportedHandler<Env>;
