/**
 * Bench-only Worker: each request runs a batch of one operation so Node can time it with the
 * HTTP hop amortised. Operations: invoke (warm), ping (no-op RPC floor), cold (fresh isolate +
 * first invoke), cold-baseline (fresh isolate that instantiates the same core modules and calls invoke once),
 * cold-prepare / cold-modules (the cold load stopped after instantiation / after module loading),
 * host-read (state read from inside the component), direct-read (the same read by the parent; both
 * from the scope's component state object, as a turn's first read of a key), host-read-turn (the
 * batch as one turn of a channel object: reads through the turn's component state buffer);
 * `/phases` times instantiation and the first two invocations inside a fresh isolate.
 */
import { DurableObject } from 'cloudflare:workers';
import { ensureComponentArtifacts, loadArtifacts } from '../src/component/edge/artifact-store.js';
import { EdgeTranspiler } from '../src/component/edge/edge-transpiler.js';
import type { HostProps } from '../src/component/edge/host-entrypoint.js';
import { edgeHostStores, hostTargetFactory } from '../src/component/edge/host-entrypoint.js';
import { createHostApi, grantsFor } from '../src/component/edge/host-policy.js';
import { packIsolateModules } from '../src/component/edge/pack-isolate-modules.js';
import { ComponentRunner } from '../src/component/edge/runner.js';
import { directStateStores } from '../src/component/edge/state-object.js';
import { INVOKE_EXPORT } from '../src/component/isolate/direct-plan.js';
import { INVOKE_PARAMS_ALIGN, INVOKE_PARAMS_SIZE } from '../src/component/isolate/generated/node-abi.js';
import type { HostApi } from '../src/component/isolate/protocol.js';
import type { Env } from '../src/env.js';
import { ComponentStateLedger } from '../src/session/component-state.js';
import { applySessionMigrations } from '../src/session/schema.js';

export { ComponentHost } from '../src/component/edge/host-entrypoint.js';
export { ComponentStateObject } from '../src/component/edge/state-object.js';

const manifest = { capabilities: { host: { state: { read: true, write: true } } } };
let coldSeq = 0;

export interface BenchEnv extends Env {
  BENCH_TURN: DurableObjectNamespace<BenchTurn>;
}

function runner(env: Env, ctx: ExecutionContext, sha: string, digest: string, rpcTarget = false): ComponentRunner {
  const exportsOf = (ctx as unknown as { exports: { ComponentHost(o: { props: HostProps }): HostApi } }).exports;
  // The production factory (edgeComponentRunner uses the same one).
  const targets = hostTargetFactory(env);
  return runnerWith(env, sha, digest, (props) => (rpcTarget ? targets(props) : exportsOf.ComponentHost({ props })));
}

function runnerWith(env: Env, sha: string, digest: string, host: (props: HostProps) => HostApi): ComponentRunner {
  return new ComponentRunner(
    { packId: 'bench', digest, components: [{ id: 'c', sha256: sha, manifest }] },
    {
      loader: env.LOADER,
      bucket: env.PACKS,
      host,
      env: 'bench',
      tenant: 'bench',
      tenantPolicy: { httpAllowHosts: [] },
      cpuMs: Number(env.COMPONENT_CPU_MS || 50),
    },
  );
}

/**
 * A fresh Dynamic Worker running a pack's production module set (from `packIsolateModules`),
 * whose main module extends `PackIsolate` with the class members in `members`. Those members can
 * call `req(component, op, n)`, which builds an invocation request without a host stub (payload
 * `{ n }`). Clocks in a Worker tick in whole milliseconds: callers average many samples.
 */
export function timingIsolate<T>(env: Env, kind: string, modules: Record<string, string | { wasm: ArrayBuffer }>, members: string): T {
  const all = {
    ...modules,
    'pack.js': modules['main.js']!,
    'main.js': `import PackIsolate from './pack.js';
const req = (component, op, n) => ({ component, op, ctx: { tenantId: 'bench', envId: 'bench', traceId: 't', correlationId: 't', deadlineMs: 0n, attempt: 1, i18nId: 'en' }, flowId: 'f', stepId: 's', attempt: 1, payloadCbor: new Uint8Array([0xa1, 0x61, 0x6e, n]), environment: [], fuel: 10000000, host: null });
export default class extends PackIsolate {
${members}
}`,
  };
  const worker = env.LOADER.get(`bench-${kind}:${++coldSeq}:${Date.now()}`, () => ({
    compatibilityDate: '2026-10-01',
    mainModule: 'main.js',
    modules: all,
    globalOutbound: null,
  }));
  return worker.getEntrypoint() as unknown as T;
}

/**
 * The production module set of a one-component pack, timing inside the fresh isolate
 * instantiation (`prepare`), the first and the second invocation.
 */
async function phases(env: Env, sha: string, op: string): Promise<Record<string, number | string | boolean>> {
  const art = await loadArtifacts(env.PACKS, sha);
  const modules = packIsolateModules([{ component: { id: 'c', sha256: sha, manifest }, art }], { glue: false });
  const isolate = timingIsolate<{ phases(): Promise<Record<string, number | string | boolean>> }>(
    env,
    'phases',
    modules,
    `  async phases() {
    const t0 = performance.now();
    await this.prepare('c');
    const t1 = performance.now();
    const r = await this.invoke(req('c', ${JSON.stringify(op)}, 1));
    const t2 = performance.now();
    await this.invoke(req('c', ${JSON.stringify(op)}, 2));
    const t3 = performance.now();
    return { prepare: t1 - t0, first: t2 - t1, second: t3 - t2, ok: r.ok, via: r.via ?? '' };
  }`,
  );
  return isolate.phases();
}

/**
 * A channel object's stand-in: runs a batch of invocations as one turn, the host reading through
 * the turn's component state buffer as in production (nothing is committed).
 */
export class BenchTurn extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      applySessionMigrations(ctx.storage);
    });
  }

  async run(sha: string, digest: string, n: number, op: string): Promise<string | null> {
    const turn = new ComponentStateLedger(this.ctx.storage.sql, this.env.COMPONENT_STATE).turn();
    const r = runnerWith(this.env, sha, digest, hostTargetFactory(this.env, turn.stores));
    for (let i = 0; i < n; i++) {
      const res = await r.invoke({ component: 'c', op, input: { text: 'hello', n: i }, flowId: 'f', stepId: 's' });
      if (!res.ok) return JSON.stringify(res.error);
    }
    return null;
  }
}

async function coldBaseline(env: Env, sha: string): Promise<void> {
  // The descriptor and the core modules, as the production cold path reads them for a glue-free component.
  const art = await loadArtifacts(env.PACKS, sha, { glue: false });
  const modules: Record<string, string | { wasm: ArrayBuffer }> = {};
  const names = Object.keys(art.cores);
  names.forEach((n, i) => (modules[`m${i}.wasm`] = { wasm: art.cores[n]! }));
  // Instantiates every core module whose imports are all functions (stubbed), like the runtime
  // does, then makes one call into the component: node@0.6.0 `invoke` with all-zero parameters (an
  // empty op, an empty envelope; a trap or a stub's wrong return type just ends it). The
  // production cold load's first invoke pays workerd compiling the functions it reaches, lazily
  // and again in every fresh isolate (`npm run bench:wasm-lazy-compile`): the platform's cost,
  // which the floor now pays too.
  modules['main.js'] = `import { WorkerEntrypoint } from 'cloudflare:workers';
${names.map((_n, i) => `import m${i} from './m${i}.wasm';`).join('\n')}
const mods = [${names.map((_n, i) => `m${i}`).join(', ')}];
const INVOKE = ${JSON.stringify(INVOKE_EXPORT)};
export default class extends WorkerEntrypoint {
  async run() {
    let n = 0;
    for (const m of mods) {
      const imps = WebAssembly.Module.imports(m);
      if (imps.some((i) => i.kind !== 'function')) continue;
      const o = {};
      for (const i of imps) (o[i.module] ??= {})[i.name] = () => 0;
      const { exports: ex } = await WebAssembly.instantiate(m, o);
      n++;
      if (typeof ex[INVOKE] !== 'function' || !(ex.memory instanceof WebAssembly.Memory) || typeof ex.cabi_realloc !== 'function') continue;
      try {
        const ptr = ex.cabi_realloc(0, 0, ${INVOKE_PARAMS_ALIGN}, ${INVOKE_PARAMS_SIZE}) >>> 0;
        new Uint8Array(ex.memory.buffer, ptr, ${INVOKE_PARAMS_SIZE}).fill(0);
        ex[INVOKE](ptr);
      } catch {}
    }
    return n;
  }
}`;
  const worker = env.LOADER.get(`bench-baseline:${sha}:${++coldSeq}:${Date.now()}`, () => ({
    compatibilityDate: '2026-10-01',
    mainModule: 'main.js',
    modules,
    globalOutbound: null,
  }));
  await (worker.getEntrypoint() as unknown as { run(): Promise<number> }).run();
}

export default {
  async fetch(req: Request, env: BenchEnv, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname === '/upload') {
      const bytes = new Uint8Array(await req.arrayBuffer());
      const res = await ensureComponentArtifacts(env.PACKS, bytes, new EdgeTranspiler(env.LOADER));
      return Response.json({ sha256: res.descriptor.sha256, transpiled: res.transpiled });
    }
    if (url.pathname === '/phases') {
      return Response.json(await phases(env, url.searchParams.get('sha') ?? '', url.searchParams.get('op') ?? 'echo'));
    }
    const kind = url.searchParams.get('kind') ?? '';
    const sha = url.searchParams.get('sha') ?? '';
    const n = Number(url.searchParams.get('n') ?? '1');
    const op = url.searchParams.get('op') ?? 'echo';
    // Production wiring uses the RpcTarget host; `*-entrypoint` kinds go through ctx.exports.ComponentHost.
    const viaEntrypoint = kind.endsWith('-entrypoint');
    const warm = runner(env, ctx, sha, `warm-${sha}${viaEntrypoint ? '-ep' : ''}`, !viaEntrypoint);
    const scope = { env: 'bench', tenant: 'bench', pack: 'bench', component: 'c' };
    const direct = createHostApi(scope, grantsFor(manifest, { httpAllowHosts: [] }), {
      ...edgeHostStores(env),
      state: directStateStores(env.COMPONENT_STATE)(scope),
    });
    if (kind === 'host-read-turn') {
      const error = await env.BENCH_TURN.get(env.BENCH_TURN.idFromName('bench')).run(sha, `warm-${sha}`, n, op);
      return error === null ? Response.json({ ok: true }) : new Response(error, { status: 500 });
    }
    for (let i = 0; i < n; i++) {
      switch (kind) {
        case 'invoke':
        case 'invoke-entrypoint':
        case 'host-read-entrypoint':
        case 'host-read': {
          const r = await warm.invoke({ component: 'c', op, input: { text: 'hello', n: i }, flowId: 'f', stepId: 's' });
          if (!r.ok) return Response.json({ error: r.error }, { status: 500 });
          break;
        }
        case 'ping':
          await warm.ping();
          break;
        case 'cold': {
          const r = await runner(env, ctx, sha, `cold-${sha}-${++coldSeq}-${Date.now()}`, true).invoke({
            component: 'c',
            op,
            input: { text: 'x' },
            flowId: 'f',
            stepId: 's',
          });
          if (!r.ok) return Response.json({ error: r.error }, { status: 500 });
          break;
        }
        case 'cold-prepare':
          await runner(env, ctx, sha, `cold-${sha}-${++coldSeq}-${Date.now()}`).prepare('c');
          break;
        case 'cold-baseline':
          await coldBaseline(env, sha);
          break;
        case 'cold-modules':
          // The production module set, loaded and pinged: nothing instantiated.
          await runner(env, ctx, sha, `cold-${sha}-${++coldSeq}-${Date.now()}`).ping();
          break;
        case 'direct-read': {
          const r = await direct.stateRead(op.slice(2));
          if (!r.ok) return Response.json({ error: r.error }, { status: 500 });
          break;
        }
        case 'seed': {
          const r = await warm.invoke({ component: 'c', op, input: { seeded: true }, flowId: 'f', stepId: 's' });
          if (!r.ok) return Response.json({ error: r.error }, { status: 500 });
          break;
        }
        default:
          return new Response(`unknown kind ${kind}`, { status: 400 });
      }
    }
    return Response.json({ ok: true });
  },
} satisfies ExportedHandler<BenchEnv>;
