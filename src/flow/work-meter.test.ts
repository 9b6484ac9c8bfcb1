// The turn's engine work budget. Every hostile flow below used to run until the 1000-node step
// limit (seconds to minutes of CPU on a large input); each must now stop at the budget, and the
// assertions are on work units, never on time.
import { describe, expect, it } from 'vitest';
import { FlowExecutor } from './executor.js';
import { done, failure, flowOf, noSleep, waiting } from './executor-fixtures.js';
import type { JsonObject, JsonValue } from './model.js';
import { DEFAULT_FAILURE_TEXT } from './output.js';
import { DEFAULT_TURN_WORK_BUDGET, parseWorkBudget, WorkMeter } from './work-meter.js';

const BUDGET = 50_000;

/** A webhook-shaped input with a large text body, as `/v1/webhook` hands it to a flow. */
function bigBody(chars: number): JsonObject {
  return { method: 'POST', path: '/hook', query: {}, headers: { 'content-type': 'text/plain' }, body: { text: 'x'.repeat(chars) } };
}

function manyKeys(count: number): JsonObject {
  const out: JsonObject = {};
  for (let i = 0; i < count; i++) out[`k${i}`] = i;
  return out;
}

/** A run that must end with the budget error: its code, and the units it spent before stopping. */
async function exhausted(yaml: string, input: JsonValue, budget = BUDGET): Promise<{ code: string; spent: number }> {
  const flow = flowOf(yaml);
  if (flow.kind === 'messaging') {
    const result = done(await new FlowExecutor({ ...noSleep, workBudget: budget }).run(flow, input));
    return { code: result.error?.code ?? 'none', spent: result.workUnits };
  }
  const err = await failure(new FlowExecutor({ ...noSleep, workBudget: budget }).run(flow, input));
  return { code: err.code, spent: budget };
}

describe('the turn work budget stops hostile flows', () => {
  it('a route condition over a large input, evaluated on every lap of a loop, ends the turn with turn_budget_exceeded', async () => {
    const { code, spent } = await exhausted(
      `id: spin
type: messaging
nodes:
  lap:
    emit.log: { n: 1 }
    routing:
      - { condition: "in == nothing", to: lap }
      - { to: lap }
`,
      bigBody(256 * 1024),
    );
    expect(code).toBe('turn_budget_exceeded');
    // It stops at the first charge past the budget: at most one more condition over the input.
    expect(spent).toBeGreaterThan(BUDGET);
    expect(spent).toBeLessThan(BUDGET + 2 * ((2 * 256 * 1024) / 16 + 100));
  });

  it('a template that exceeds its step bound inside an error-route loop ends the turn instead of failing one node per lap', async () => {
    const { code } = await exhausted(
      `id: spin
type: messaging
nodes:
  lap:
    emit.log: { text: "{{#each in.h}}{{#each ../in.h}}{{#each ../../in.h}}{{#each ../../../in.h}}{{#each ../../../../in.h}}.{{/each}}{{/each}}{{/each}}{{/each}}{{/each}}" }
    routing:
      - { condition: 'event == "on_error"', to: lap }
      - { to: lap }
`,
      { h: manyKeys(20) },
    );
    expect(code).toBe('turn_budget_exceeded');
  });

  it('a typed lookup that copies a large input on every lap is charged per copied value', async () => {
    const { code } = await exhausted(
      `id: spin
type: messaging
nodes:
  lap:
    var.set: { name: copy, value: "{{in}}" }
    routing: [ { to: lap } ]
`,
      { items: Array.from({ length: 20_000 }, (_, i) => ({ i })) },
    );
    expect(code).toBe('turn_budget_exceeded');
  });

  it('testing an object with many keys inside an each loop costs by its keys', async () => {
    const { code } = await exhausted(
      `id: spin
type: messaging
nodes:
  lap:
    emit.log: { text: "{{#each in.list}}{{#if ../in.big}}.{{/if}}{{/each}}" }
    routing: out
`,
      { big: manyKeys(5_000), list: Array.from({ length: 100 }, (_, i) => i) },
    );
    expect(code).toBe('turn_budget_exceeded');
  });

  it('comparing two large copies with eq costs by the values compared', async () => {
    const { code } = await exhausted(
      `id: spin
type: messaging
nodes:
  copy:
    var.set: { name: a, value: "{{in.big}}" }
    routing: [ { to: again } ]
  again:
    var.set: { name: b, value: "{{in.big}}" }
    routing: [ { to: compare } ]
  compare:
    emit.log: { text: "{{#each in.list}}{{#if (eq ../vars.a ../vars.b)}}.{{/if}}{{/each}}" }
    routing: out
`,
      { big: manyKeys(5_000), list: Array.from({ length: 100 }, (_, i) => i) },
    );
    expect(code).toBe('turn_budget_exceeded');
  });

  it('a node payload with many keys costs by them on every lap, even when it is static', async () => {
    const keys = Object.entries(manyKeys(2_000))
      .map(([k, v]) => `      ${k}: ${v}`)
      .join('\n');
    const { code } = await exhausted(
      `id: spin
type: messaging
nodes:
  lap:
    emit.log:
${keys}
    routing: [ { to: lap } ]
`,
      {},
    );
    expect(code).toBe('turn_budget_exceeded');
  });

  it('a called flow spends the caller turn budget, and its exhaustion is not a node failure the caller can route around', async () => {
    const caller = flowOf(`
id: caller
type: messaging
nodes:
  call:
    flow.call: { flow: callee }
    routing:
      - { condition: 'event == "on_error"', to: call }
      - { to: call }
`);
    const callee = flowOf(`
id: callee
type: messaging
nodes:
  work:
    emit.log: { text: "{{#each in.list}}{{@index}}{{/each}}" }
    routing: out
`);
    const executor = new FlowExecutor({
      ...noSleep,
      workBudget: BUDGET,
      resolver: { getFlow: (id) => (id === 'callee' ? callee : undefined) },
    });
    const result = done(await executor.run(caller, { list: Array.from({ length: 1_000 }, (_, i) => i) }));
    expect(result.error).toMatchObject({ code: 'turn_budget_exceeded', nodeId: 'work' });
    expect(result.workUnits).toBeGreaterThan(BUDGET);
  });

  it('an http flow that runs out throws the budget error, which is not retried', async () => {
    const flow = flowOf(`
id: hook
type: http
nodes:
  lap:
    emit.log: { n: 1 }
    routing:
      - { condition: "in == nothing", to: lap }
      - { to: lap }
`);
    const err = await failure(new FlowExecutor({ ...noSleep, workBudget: BUDGET }).run(flow, bigBody(64 * 1024)));
    expect(err.code).toBe('turn_budget_exceeded');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain(`more than ${BUDGET} work units`);
  });

  it('a messaging user sees the flow failure output when the turn runs out', async () => {
    const flow = flowOf(`
id: chat
type: messaging
nodes:
  lap:
    emit.response: { text: "{{in.text}}" }
    routing: [ { to: lap } ]
`);
    const result = done(await new FlowExecutor({ ...noSleep, workBudget: 1_000 }).run(flow, { text: 'x'.repeat(10_000) }));
    expect(result.error?.code).toBe('turn_budget_exceeded');
    expect(result.output).toMatchObject({ text: DEFAULT_FAILURE_TEXT, metadata: { error_kind: 'flow_execution_failed' } });
  });
});

describe('normal flows are unaffected', () => {
  const survey = flowOf(`
id: survey
type: messaging
nodes:
  ask:
    emit.response: { text: "Hi {{in.text}}, what is your name?" }
    routing: [ { to: wait } ]
  wait:
    session.wait: { reason: name }
    routing: [ { to: greet } ]
  greet:
    emit.response: { text: "Hello {{in.text}} ({{#if vars.vip}}VIP{{else}}guest{{/if}})" }
    routing:
      - { condition: 'in.text == "again"', to: ask }
      - { to: done }
  done:
    emit.response: { text: "bye" }
    routing: out
`);

  it('a conversational turn spends a few hundred units, the same on every run', async () => {
    const executor = new FlowExecutor();
    const first = waiting(await executor.run(survey, { text: 'hi' }));
    const again = waiting(await executor.run(survey, { text: 'hi' }));
    const second = done(await executor.resume(first.snapshot, { text: 'Ann' }, { flow: survey }));
    expect(first.workUnits).toBe(again.workUnits);
    expect(first.workUnits).toBeLessThan(200);
    expect(second.workUnits).toBeLessThan(300);
    expect(second.output).toEqual([{ text: 'Hello Ann (guest)' }, { text: 'bye' }]);
    // Hundreds of such turns fit in the default budget.
    expect(second.workUnits * 500).toBeLessThan(DEFAULT_TURN_WORK_BUDGET);
  });

  it('a loop over a moderately large list finishes well inside the default budget', async () => {
    const flow = flowOf(`
id: report
type: http
nodes:
  render:
    emit.response: { text: "{{#each in.rows}}{{name}}={{value}};{{/each}}" }
    routing: out
`);
    const rows = Array.from({ length: 1_000 }, (_, i) => ({ name: `row${i}`, value: i }));
    const result = done(await new FlowExecutor().run(flow, { rows }));
    expect(result.workUnits).toBeLessThan(DEFAULT_TURN_WORK_BUDGET / 10);
  });

  it('a bigger budget lets the same work finish', async () => {
    const flow = flowOf(`
id: report
type: messaging
nodes:
  render:
    emit.response: { text: "{{#each in.rows}}{{this}}{{/each}}" }
    routing: out
`);
    const input = { rows: Array.from({ length: 5_000 }, (_, i) => i) };
    expect(done(await new FlowExecutor({ workBudget: 5_000 }).run(flow, input)).error?.code).toBe('turn_budget_exceeded');
    expect(done(await new FlowExecutor({ workBudget: 50_000 }).run(flow, input)).error).toBeUndefined();
  });
});

describe('WorkMeter and TURN_ENGINE_BUDGET', () => {
  it('charges up to the limit and fails on the first charge past it', () => {
    const meter = new WorkMeter(10);
    meter.charge(10, 'testing');
    expect(meter.remaining).toBe(0);
    expect(() => meter.charge(1, 'testing')).toThrow(/more than 10 work units of engine work \(reached 11 while testing\)/);
  });

  it('reads a positive integer budget and falls back to the default otherwise', () => {
    expect(parseWorkBudget('500000')).toBe(500_000);
    expect(parseWorkBudget(undefined)).toBe(DEFAULT_TURN_WORK_BUDGET);
    for (const bad of ['', '0', '-5', '1.5', 'lots']) expect(parseWorkBudget(bad)).toBe(DEFAULT_TURN_WORK_BUDGET);
  });
});
