/**
 * Flow executor overhead: a 10-node flow of built-in nodes (var.set, state.get, state.set, emit.*,
 * templated inputs, next + custom routing) run many times through `FlowExecutor`, against a plain
 * loop that does the same renders, condition check, state-map reads/writes and output assembly by
 * hand. Engine overhead per node step = (engine time − plain time) / steps.
 */

import { compileFlowSource } from '../src/flow/compile-source.js';
import { evaluateCondition } from '../src/flow/condition.js';
import { FlowExecutor } from '../src/flow/executor.js';
import type { Flow, JsonObject, JsonValue } from '../src/flow/model.js';
import { assembleOutput } from '../src/flow/output.js';
import { resolvePointer } from '../src/flow/path.js';
import { MemoryStateStore } from '../src/flow/ports.js';
import { renderValue, type TemplateContext } from '../src/flow/template.js';

const FLOW = `
id: bench
type: messaging
nodes:
  who:
    var.set: { name: user, value: "{{in.user}}" }
    routing: [ { to: load } ]
  load:
    state.get: { key: "count-{{vars.user}}" }
    routing: [ { to: seen } ]
  seen:
    var.set: { name: seen, value: "{{prev.found}}" }
    routing: [ { to: save } ]
  save:
    state.set: { key: "count-{{vars.user}}", value: "{{in.n}}" }
    routing: [ { to: log } ]
  log:
    emit.log: { level: info, msg: "user {{vars.user}} n={{in.n}}" }
    routing:
      - { condition: 'entry.kind == "chat"', to: topic }
      - { to: reply }
  topic:
    var.set: { name: topic, value: "{{in.topic}}" }
    routing: [ { to: load_topic } ]
  load_topic:
    state.get: { key: "topic-{{vars.topic}}" }
    routing: [ { to: save_topic } ]
  save_topic:
    state.set: { key: "topic-{{vars.topic}}", value: { user: "{{vars.user}}", n: "{{in.n}}" } }
    routing: [ { to: quote } ]
  quote:
    var.set: { name: said, value: /in/text }
    routing: [ { to: reply } ]
  reply:
    emit.response: { text: "Hi {{vars.user}}, you said {{vars.said}} about {{vars.topic}}" }
    routing: out
`;

const STEPS_PER_RUN = 10;
const WARMUP_RUNS = 3_000;
const RUNS = 20_000;

function compile(): Flow {
  const { flow, diagnostics } = compileFlowSource(FLOW, { file: 'bench.ygtc' });
  if (flow === undefined) throw new Error(`bench flow does not compile: ${JSON.stringify(diagnostics)}`);
  return flow;
}

function inputFor(i: number): JsonObject {
  return { user: `u${i % 50}`, n: i, kind: 'chat', topic: `t${i % 7}`, text: `message ${i}` };
}

async function engineRuns(flow: Flow, runs: number, offset: number): Promise<JsonValue> {
  const executor = new FlowExecutor({ stateStore: new MemoryStateStore(), retry: { maxAttempts: 1 } });
  let last: JsonValue = null;
  for (let i = 0; i < runs; i++) {
    const result = await executor.run(flow, inputFor(offset + i));
    if (result.status !== 'done') throw new Error('bench flow did not finish');
    last = result.output;
  }
  return last;
}

/** The same work with no engine: one render per node mapping, the condition, map reads/writes. */
async function plainRuns(flow: Flow, runs: number, offset: number): Promise<JsonValue> {
  const store = new Map<string, JsonValue>();
  const m = (id: string): JsonObject => flow.nodes[id]?.input.mapping as JsonObject;
  const mWho = m('who');
  const mLoad = m('load');
  const mSeen = m('seen');
  const mSave = m('save');
  const mLog = m('log');
  const mTopic = m('topic');
  const mLoadTopic = m('load_topic');
  const mSaveTopic = m('save_topic');
  const mQuote = m('quote');
  const mReply = m('reply');
  let last: JsonValue = null;
  for (let i = 0; i < runs; i++) {
    const input = inputFor(offset + i);
    const entry: JsonObject = { ...input, input };
    const vars: JsonObject = {};
    const nodes: JsonObject = {};
    const egress: JsonValue[] = [];
    const ctx: TemplateContext = { entry, in: entry, prev: {}, node: nodes, state: {}, vars, now: {} };
    vars.user = renderValue(mWho.value as JsonValue, ctx);
    const load = renderValue(mLoad, ctx) as JsonObject;
    const v1 = store.get(load.key as string);
    ctx.prev = nodes.load = { key: load.key as string, value: v1 ?? null, found: v1 !== undefined };
    vars.seen = renderValue(mSeen.value as JsonValue, ctx);
    const save = renderValue(mSave, ctx) as JsonObject;
    store.set(save.key as string, save.value as JsonValue);
    const log = renderValue(mLog, ctx);
    egress.push(log);
    const routeCtx: JsonObject = { ...(log as JsonObject), entry, in: entry, node: nodes, response: {}, event: 'on_success' };
    if (evaluateCondition('entry.kind == "chat"', routeCtx)) {
      vars.topic = renderValue(mTopic.value as JsonValue, ctx);
      const lt = renderValue(mLoadTopic, ctx) as JsonObject;
      const v2 = store.get(lt.key as string);
      ctx.prev = { key: lt.key as string, value: v2 ?? null, found: v2 !== undefined };
      const st = renderValue(mSaveTopic, ctx) as JsonObject;
      store.set(st.key as string, st.value as JsonValue);
      vars.said = resolvePointer(ctx as JsonObject, mQuote.value as string).value;
    }
    const reply = renderValue(mReply, ctx);
    egress.push(reply);
    last = assembleOutput(egress, reply);
  }
  return last;
}

async function time(fn: () => Promise<JsonValue>): Promise<{ ms: number; out: JsonValue }> {
  const start = performance.now();
  const out = await fn();
  return { ms: performance.now() - start, out };
}

async function main(): Promise<void> {
  const flow = compile();
  await engineRuns(flow, WARMUP_RUNS, 0);
  await plainRuns(flow, WARMUP_RUNS, 0);

  // Interleave two rounds each so drift on a shared machine hits both sides alike; keep the best.
  let engineMs = Number.POSITIVE_INFINITY;
  let plainMs = Number.POSITIVE_INFINITY;
  let engineOut: JsonValue = null;
  let plainOut: JsonValue = null;
  for (let round = 0; round < 2; round++) {
    const e = await time(() => engineRuns(flow, RUNS, 100_000));
    const p = await time(() => plainRuns(flow, RUNS, 100_000));
    engineMs = Math.min(engineMs, e.ms);
    plainMs = Math.min(plainMs, p.ms);
    engineOut = e.out;
    plainOut = p.out;
  }
  if (JSON.stringify(engineOut) !== JSON.stringify(plainOut)) {
    throw new Error(`engine and plain loop disagree:\n${JSON.stringify(engineOut)}\n${JSON.stringify(plainOut)}`);
  }

  const steps = RUNS * STEPS_PER_RUN;
  const engineUs = (engineMs * 1000) / steps;
  const plainUs = (plainMs * 1000) / steps;
  const overheadUs = engineUs - plainUs;
  const round3 = (n: number) => Math.round(n * 1000) / 1000;

  console.log(`flow executor: ${RUNS} runs × ${STEPS_PER_RUN} node steps (after ${WARMUP_RUNS} warm-up runs)`);
  console.log('| measure                          | value        |');
  console.log('|----------------------------------|--------------|');
  console.log(`| engine, per node step            | ${engineUs.toFixed(3).padStart(8)} µs  |`);
  console.log(`| plain JS loop, per node step     | ${plainUs.toFixed(3).padStart(8)} µs  |`);
  console.log(`| engine overhead, per node step   | ${overheadUs.toFixed(3).padStart(8)} µs  |`);
  console.log(`| engine / plain                   | ${(engineUs / plainUs).toFixed(2).padStart(8)} ×   |`);
  console.log(`| engine, per 10-node run          | ${(engineUs * STEPS_PER_RUN).toFixed(1).padStart(8)} µs  |`);
  console.log(
    JSON.stringify([
      {
        bench: 'flow',
        metric: 'engine_us_per_step',
        value: round3(overheadUs),
        unit: 'us',
        baseline: round3(plainUs),
        ratio: round3(overheadUs / plainUs),
        target: '< 20 µs engine overhead per node step',
      },
      {
        bench: 'flow',
        metric: 'run_us_per_step',
        value: round3(engineUs),
        unit: 'us',
        baseline: round3(plainUs),
        ratio: round3(engineUs / plainUs),
        target: 'engine vs plain JS loop doing the same renders/lookups/state writes',
      },
    ]),
  );
}

await main();
