/**
 * Bench-only Worker for `npm run bench:component-compile`: `/twins` loads one fresh pack isolate
 * holding the same component twice and times prepare + first invoke of each copy. With
 * `mode=same` both copies use identical core-module bytes; with `mode=nonce` the second copy's
 * main core module carries an extra custom section, so V8 compiles it as a separate module.
 * Every other path goes to component-bench.worker.ts.
 */
import { loadArtifacts } from '../src/component/edge/artifact-store.js';
import { packIsolateModules } from '../src/component/edge/pack-isolate-modules.js';
import { uleb } from '../src/component/wasm/reader.js';
import type { Env } from '../src/env.js';
import bench, { type BenchEnv, timingIsolate } from './component-bench.worker.js';

export { ComponentHost } from '../src/component/edge/host-entrypoint.js';
export { ComponentStateObject } from '../src/component/edge/state-object.js';
export { BenchTurn } from './component-bench.worker.js';

const manifest = { capabilities: { host: { state: { read: true, write: true } } } };
let seq = 0;

/** The module bytes plus a custom section named `nonce` holding `text` (semantics unchanged). */
function withCustomSection(bytes: ArrayBuffer, text: string): ArrayBuffer {
  const name = new TextEncoder().encode('nonce');
  const body = [...uleb(name.length), ...name, ...new TextEncoder().encode(text)];
  const section = [0, ...uleb(body.length), ...body];
  const out = new Uint8Array(bytes.byteLength + section.length);
  out.set(new Uint8Array(bytes));
  out.set(section, bytes.byteLength);
  return out.buffer;
}

async function twins(env: Env, sha: string, mode: string): Promise<number[]> {
  const art = await loadArtifacts(env.PACKS, sha);
  let second = art;
  if (mode === 'nonce') {
    const cores = { ...art.cores };
    const main = Object.keys(cores).sort((a, b) => cores[b]!.byteLength - cores[a]!.byteLength)[0]!;
    cores[main] = withCustomSection(cores[main]!, `${Date.now()}-${++seq}`);
    second = { ...art, cores };
  }
  const modules = packIsolateModules(
    [
      { component: { id: 'c', sha256: sha, manifest }, art },
      { component: { id: 'c2', sha256: sha, manifest }, art: second },
    ],
    { glue: false },
  );
  const isolate = timingIsolate<{ twins(): Promise<number[]> }>(
    env,
    'twins',
    modules,
    `  async twins() {
    const t = [performance.now()];
    for (const c of ['c', 'c2']) {
      await this.prepare(c);
      t.push(performance.now());
      const r = await this.invoke(req(c, 'echo', 1));
      if (!r.ok) throw new Error(c + ': ' + JSON.stringify(r.error));
      t.push(performance.now());
    }
    return t.slice(1).map((x, i) => x - t[i]);
  }`,
  );
  return isolate.twins();
}

export default {
  async fetch(req: Request, env: BenchEnv, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname === '/twins')
      return Response.json(await twins(env, url.searchParams.get('sha') ?? '', url.searchParams.get('mode') ?? 'same'));
    return bench.fetch(req, env, ctx);
  },
} satisfies ExportedHandler<BenchEnv>;
