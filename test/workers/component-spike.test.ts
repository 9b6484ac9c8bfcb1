import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';

describe('spike', () => {
  it('loader + cpu + exports', async () => {
    const e = env as unknown as { LOADER: WorkerLoader };
    console.log('exports keys', Object.keys(exports as object));
    const w = e.LOADER.get('spike1', () => ({
      compatibilityDate: '2026-10-01',
      mainModule: 'main.js',
      modules: {
        'main.js': `import { WorkerEntrypoint } from 'cloudflare:workers';
export default class extends WorkerEntrypoint {
  async ping() { return { jspi: typeof WebAssembly.Suspending, promising: typeof WebAssembly.promising }; }
  async spin() { for(;;){} }
  async net() { try { const r = await fetch('http://example.com'); return 'status ' + r.status; } catch (e) { return 'err ' + e.message; } }
}`,
      },
      globalOutbound: null,
      limits: { cpuMs: 50 },
    }));
    const ep = w.getEntrypoint() as unknown as { ping(): Promise<unknown>; spin(): Promise<unknown>; net(): Promise<unknown> };
    console.log(await ep.ping());
    console.log(await ep.net());
    const t = Date.now();
    try { await ep.spin(); } catch (err) { console.log('spin err', (err as Error).message, Date.now() - t); }
    console.log(await ep.ping());
    expect(1).toBe(1);
  });
});
