import { describe, expect, it } from 'vitest';
import type { FlowSnapshot } from './execution-state.js';
import { FlowExecutor } from './executor.js';
import { compiled, done, failure, flowOf, noSleep, scriptedInvoker, waiting } from './executor-fixtures.js';
import { MemoryStateStore } from './ports.js';

describe('routing', () => {
  it('branch routing follows only its default target, ignoring on_status', async () => {
    const flow = compiled('branchy', [
      ['start', 'emit.log', { status: 'ok' }, { branch: { on_status: { ok: 'ok_path' }, default: 'fallback' } }],
      ['ok_path', 'emit.response', { text: 'ok path' }, 'end'],
      ['fallback', 'emit.response', { text: 'fallback' }, 'end'],
    ]);
    const result = done(await new FlowExecutor().run(flow, {}));
    expect(result.output).toEqual([{ status: 'ok' }, { text: 'fallback' }]);
  });

  it('a multi-`to` route list compiles to a branch and follows the last target', async () => {
    const flow = flowOf(`
id: multi
type: events
nodes:
  start:
    emit.log: { n: 1 }
    routing: [ { to: a }, { to: b } ]
  a:
    emit.response: { text: a }
    routing: out
  b:
    emit.response: { text: b }
    routing: out
`);
    expect(done(await new FlowExecutor().run(flow, {})).output).toEqual([{ n: 1 }, { text: 'b' }]);
  });

  const conditional = `
id: cond
type: events
nodes:
  check:
    state.get: { key: token }
    routing:
      - { condition: 'found == true', to: has_token }
      - { condition: 'in.plan == "gold"', to: gold }
      - { to: no_token }
  has_token:
    emit.response: { text: "token {{node.check.value}}" }
    routing: out
  gold:
    emit.response: { text: gold }
    routing: out
  no_token:
    emit.response: { text: none }
    routing: out
`;

  it('custom routes are tried in order against the node payload and entry; the first true one wins', async () => {
    const flow = flowOf(conditional);
    const store = new MemoryStateStore();
    expect(done(await new FlowExecutor({ stateStore: store }).run(flow, { plan: 'gold' })).output).toEqual([{ text: 'gold' }]);
    store.set('token', 'abc');
    expect(done(await new FlowExecutor({ stateStore: store }).run(flow, { plan: 'gold' })).output).toEqual([{ text: 'token abc' }]);
  });

  it('an unconditional route is taken when reached', async () => {
    const flow = flowOf(conditional);
    expect(done(await new FlowExecutor().run(flow, { plan: 'free' })).output).toEqual([{ text: 'none' }]);
  });

  it('custom routes with conditions that all fail pause the run at that node (awaiting_submit)', async () => {
    const flow = flowOf(`
id: park
type: messaging
nodes:
  show:
    emit.log: { card: menu }
    routing:
      - { condition: 'response.action == "buy"', to: buy }
  buy:
    emit.response: { text: bought }
    routing: out
`);
    const result = waiting(await new FlowExecutor().run(flow, { text: 'hello' }));
    expect(result.reason).toBe('awaiting_submit');
    expect(result.snapshot.awaiting_submit).toBe(true);
    expect(result.snapshot.next_node).toBe('show');
    expect(result.output).toEqual([{ card: 'menu' }]);
  });

  it('`!=` against a path that does not exist is true and routes', async () => {
    const flow = flowOf(`
id: ne
type: events
nodes:
  start:
    emit.log: { a: 1 }
    routing:
      - { condition: 'in.missing.path != "x"', to: taken }
  taken:
    emit.response: { text: taken }
    routing: out
`);
    expect(done(await new FlowExecutor().run(flow, {})).output).toEqual([{ a: 1 }, { text: 'taken' }]);
  });

  it('custom routes without any condition that lead nowhere end the run', async () => {
    const flow = compiled('noroute', [['start', 'emit.response', { text: 'x' }, { custom: [{ out: true }] }]]);
    expect(done(await new FlowExecutor().run(flow, {})).output).toEqual([{ text: 'x' }]);
  });

  it('response exposes the envelope metadata and text to conditions', async () => {
    const flow = flowOf(`
id: resp
type: events
nodes:
  start:
    emit.log: {}
    routing:
      - { condition: 'response.action == "yes"', to: yes }
      - { condition: 'response.text contains "help"', to: help }
      - { to: other }
  yes: { emit.response: { text: yes }, routing: out }
  help: { emit.response: { text: help }, routing: out }
  other: { emit.response: { text: other }, routing: out }
`);
    const ex = new FlowExecutor();
    expect(done(await ex.run(flow, { input: { text: 'x', metadata: { action: 'YES' } } })).output).toEqual([{}, { text: 'yes' }]);
    expect(done(await ex.run(flow, { text: 'I need HELP', metadata: {} })).output).toEqual([{}, { text: 'help' }]);
  });

  it('a route to a node that does not exist stops the run with missing_node', async () => {
    const flow = compiled('dangling', [['a', 'emit.log', {}, { next: { node_id: 'ghost' } }]]);
    const err = await failure(new FlowExecutor(noSleep).run(flow, {}));
    expect(err.code).toBe('missing_node');
    expect(err.message).toContain('ghost');
  });
});

describe('card submits on resume', () => {
  const flow = flowOf(`
id: cards
type: messaging
nodes:
  form:
    component.exec: { component: cards, operation: render, input: { card: form, answer_fields: [summary, priority] } }
    routing:
      - { condition: 'response.action == "submit"', to: confirm }
      - { condition: 'response.action == "cancel"', to: cancelled }
  confirm:
    component.exec: { component: cards, operation: render, input: { card: confirm } }
    routing:
      - { condition: 'response.action == "submit"', to: finished }
  finished: { emit.response: { text: "done {{node.form.answers.summary}}" }, routing: out }
  cancelled: { emit.response: { text: cancelled }, routing: out }
`);

  it('attaches the filtered answers to the re-run node and consumes the action, so the next card parks', async () => {
    const { invoker, calls } = scriptedInvoker({ 'cards.render': (input) => ({ rendered: (input as { card: string }).card }) });
    const executor = new FlowExecutor({ invoker });

    const first = waiting(await executor.run(flow, { text: 'new ticket' }));
    expect(first.snapshot.next_node).toBe('form');
    expect(first.output).toEqual({ rendered: 'form' });

    const submit = {
      text: '',
      metadata: { action: 'submit', summary: 'Printer on fire', priority: 'high', channel_token: 'secret' },
      id: 'act-1',
    };
    const second = waiting(await executor.resume(JSON.parse(JSON.stringify(first.snapshot)) as FlowSnapshot, submit, { flow }));
    expect(second.nodeOutputs.form?.payload).toEqual({ rendered: 'form', answers: { summary: 'Printer on fire', priority: 'high' } });
    // `confirm` routes on the same action text, but the action was consumed: it parks.
    expect(second.snapshot.next_node).toBe('confirm');
    expect(second.reason).toBe('awaiting_submit');
    expect(second.output).toEqual({ rendered: 'confirm' });

    const third = done(await executor.resume(second.snapshot, { metadata: { action: 'submit' } }, { flow }));
    expect(third.output).toEqual([{ text: 'done Printer on fire' }]);
    expect(calls.map((c) => (c.input as { card: string }).card)).toEqual(['form', 'form', 'confirm', 'confirm']);
  });

  it('without answer_fields every submitted field except the action is attached', async () => {
    const { invoker } = scriptedInvoker({ 'cards.render': () => ({ shown: true }) });
    const executor = new FlowExecutor({ invoker });
    const first = waiting(await executor.run(flow, {}));
    const snapshot = { ...first.snapshot, next_node: 'confirm' };
    const second = done(await executor.resume(snapshot, { text: 'ok', metadata: { action: 'submit', note: 'n' }, lang: 'en' }, { flow }));
    expect(second.nodeOutputs.confirm?.payload).toEqual({ shown: true, answers: { lang: 'en', note: 'n' } });
  });
});

describe('loop limits', () => {
  const loop = flowOf(`
id: spinner
type: events
nodes:
  a:
    state.get: { key: k }
    routing: [ { to: b } ]
  b:
    var.set: { name: x, value: 1 }
    routing: [ { to: a } ]
`);

  it('a runaway loop stops at the step budget with step_budget_exceeded naming flow and node', async () => {
    const err = await failure(new FlowExecutor({ stepBudget: 11, ...noSleep }).run(loop, {}));
    expect(err.code).toBe('step_budget_exceeded');
    expect(err.message).toContain('flow "spinner"');
    expect(err.message).toContain('last node "a"');
    expect(err.retryable).toBe(false);
  });

  it('the default step budget is 1000 node executions per turn', async () => {
    let steps = 0;
    const err = await failure(new FlowExecutor({ onNode: () => steps++, ...noSleep }).run(loop, {}));
    expect(err.code).toBe('step_budget_exceeded');
    expect(steps).toBe(1000);
  });

  it('flow.goto redirects more than 3 times in a turn fail with redirect_limit', async () => {
    const ping = flowOf(`
id: ping
type: events
nodes:
  go: { flow.goto: { flow: pong }, routing: out }
`);
    const pong = flowOf(`
id: pong
type: events
nodes:
  go: { flow.goto: { flow_id: ping }, routing: out }
`);
    const resolver = { getFlow: (id: string) => ({ ping, pong })[id] };
    let steps = 0;
    const err = await failure(new FlowExecutor({ resolver, onNode: () => steps++, ...noSleep }).run(ping, {}));
    expect(err.code).toBe('redirect_limit');
    expect(steps).toBe(4);
  });
});
