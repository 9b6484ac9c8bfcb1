import { describe, expect, it } from 'vitest';
import { compileFlowSource } from './compile-source.js';
import { FlowRunError, type FlowSnapshot } from './execution-state.js';
import { type ExecutorOptions, FlowExecutor, type FlowRunResult } from './executor.js';
import type { CompiledNode, Flow, JsonValue, Routing } from './model.js';
import { type ComponentInvoker, type ComponentTarget, type InvokeResult, MemoryStateStore, type NodeTrace } from './ports.js';

function flowOf(yaml: string): Flow {
  const { flow, diagnostics } = compileFlowSource(yaml, { file: 'test.ygtc' });
  if (flow === undefined) throw new Error(`fixture does not compile: ${JSON.stringify(diagnostics)}`);
  return flow;
}

/** A compiled flow built by hand, for routing shapes the YAML compiler does not emit. */
function compiled(id: string, nodes: Array<[string, string, JsonValue, Routing]>, kind: Flow['kind'] = 'event'): Flow {
  const map: Record<string, CompiledNode> = {};
  for (const [nodeId, component, mapping, routing] of nodes) {
    map[nodeId] = {
      id: nodeId,
      component: { id: component },
      input: { mapping },
      output: { mapping: {} },
      routing,
      telemetry: { attributes: {} },
    };
  }
  return { schema_version: 'flow-v1', id, kind, entrypoints: {}, nodes: map, metadata: { tags: [], extra: {} } };
}

type Call = { target: ComponentTarget; operation: string; input: JsonValue };

/** A scripted component host: answers by `<component>.<operation>` and records every call. */
function scriptedInvoker(script: Record<string, (input: JsonValue, call: number) => InvokeResult | JsonValue>): {
  invoker: ComponentInvoker;
  calls: Call[];
} {
  const calls: Call[] = [];
  const invoker: ComponentInvoker = {
    invoke(target, operation, input) {
      calls.push({ target, operation, input });
      const handler = script[`${target.id}.${operation}`];
      if (handler === undefined) return { ok: false, error: { code: 'not_found', message: `${target.id}.${operation}`, retryable: false } };
      const result = handler(input, calls.length);
      if (
        typeof result === 'object' &&
        result !== null &&
        !Array.isArray(result) &&
        (result.ok === true || result.ok === false) &&
        ('output' in result || 'error' in result) &&
        Object.keys(result).length === 2
      ) {
        return result as InvokeResult;
      }
      return { ok: true, output: result as JsonValue };
    },
  };
  return { invoker, calls };
}

function done(result: FlowRunResult): Extract<FlowRunResult, { status: 'done' }> {
  if (result.status !== 'done') throw new Error(`expected done, got ${result.status} at ${result.snapshot.next_node}`);
  return result;
}

function waiting(result: FlowRunResult): Extract<FlowRunResult, { status: 'waiting' }> {
  if (result.status !== 'waiting') throw new Error(`expected waiting, got ${result.status}: ${JSON.stringify(result.output)}`);
  return result;
}

async function failure(promise: Promise<unknown>): Promise<FlowRunError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof FlowRunError) return err;
    throw err;
  }
  throw new Error('expected the run to fail');
}

const noSleep: ExecutorOptions = { sleep: async () => {}, random: () => 0 };

describe('built-in nodes', () => {
  it('emit.* appends its payload to the output and makes it the node output', async () => {
    const flow = flowOf(`
id: emitter
type: events
nodes:
  hello:
    emit.response: { text: "Hello {{in.name}}" }
    routing: out
`);
    const result = done(await new FlowExecutor().run(flow, { name: 'Ada' }));
    expect(result.output).toEqual([{ text: 'Hello Ada' }]);
    expect(result.nodeOutputs.hello).toEqual({ ok: true, payload: { text: 'Hello Ada' }, meta: {} });
  });

  it('emit.* unwraps an `input` or `payload` sub-key', async () => {
    const flow = flowOf(`
id: emitter
type: events
nodes:
  a:
    emit.log: { input: { level: info } }
    routing: [ { to: b } ]
  b:
    emit.response: { payload: [ { text: one }, { text: two } ] }
    routing: out
`);
    const result = done(await new FlowExecutor().run(flow, {}));
    expect(result.output).toEqual([{ level: 'info' }, { text: 'one' }, { text: 'two' }]);
  });

  it('state.set stores a rendered value that state.get reads back with found=true', async () => {
    const flow = flowOf(`
id: counter
type: events
nodes:
  save:
    state.set: { key: "user-{{in.id}}", value: { name: "{{in.name}}", id: "{{in.id}}" } }
    routing: [ { to: load } ]
  load:
    state.get: { key: "user-{{in.id}}" }
    routing: [ { to: missing } ]
  missing:
    state.get: { key: nothing-here }
    routing: out
`);
    const store = new MemoryStateStore();
    const result = done(await new FlowExecutor({ stateStore: store }).run(flow, { id: 7, name: 'Ada' }));
    expect(store.get('user-7')).toEqual({ name: 'Ada', id: 7 });
    expect(result.nodeOutputs.load?.payload).toEqual({ key: 'user-7', value: { name: 'Ada', id: 7 }, found: true });
    expect(result.output).toEqual({ key: 'nothing-here', value: null, found: false });
  });

  it('var.set accepts a JSON pointer value and exposes it as vars.<name>', async () => {
    const flow = flowOf(`
id: vars
type: events
nodes:
  pick:
    var.set: { name: city, value: /in/location/city }
    routing: [ { to: say } ]
  say:
    emit.response: { text: "Weather for {{vars.city}}", city: "{{vars.city}}" }
    routing: out
`);
    const result = done(await new FlowExecutor().run(flow, { location: { city: 'Oslo' } }));
    expect(result.nodeOutputs.pick?.payload).toEqual({ ok: true });
    expect(result.output).toEqual([{ text: 'Weather for Oslo', city: 'Oslo' }]);
  });

  it('var.set with a pointer that resolves to nothing fails the node with pointer_not_found', async () => {
    const flow = flowOf(`
id: vars
type: events
nodes:
  pick:
    var.set: { name: city, value: /in/nowhere }
    routing: out
`);
    const err = await failure(new FlowExecutor(noSleep).run(flow, {}));
    expect(err.code).toBe('pointer_not_found');
    expect(err.nodeId).toBe('pick');
  });

  it('vars_init seeds defaults before the first node', async () => {
    const flow = flowOf(`
id: seeded
type: events
parameters:
  vars_init:
    greeting: { default: "Hi" }
nodes:
  say:
    emit.response: { text: "{{vars.greeting}}, {{in.name}}" }
    routing: out
`);
    expect(done(await new FlowExecutor().run(flow, { name: 'Bo' })).output).toEqual([{ text: 'Hi, Bo' }]);
  });

  it('a required vars_init variable without a value fails fast and is never retried', async () => {
    const flow = flowOf(`
id: seeded
type: events
parameters:
  vars_init:
    tenant_name: { required: true }
nodes:
  say:
    emit.response: { text: "{{vars.tenant_name}}" }
    routing: out
`);
    const sleeps: number[] = [];
    const executor = new FlowExecutor({ retry: { maxAttempts: 5 }, sleep: async (ms) => void sleeps.push(ms) });
    const err = await failure(executor.run(flow, {}));
    expect(err.code).toBe('required_var_missing');
    expect(err.message).toContain('tenant_name');
    expect(sleeps).toEqual([]);
    // Host-supplied session vars satisfy the requirement.
    expect(done(await executor.run(flow, {}, { vars: { tenant_name: 'acme' } })).output).toEqual([{ text: 'acme' }]);
  });

  it('vars_out writes rendered values with prev bound to the node output', async () => {
    const flow = flowOf(`
id: varsout
type: events
nodes:
  load:
    state.get: { key: k, vars_out: { loaded: "{{prev.value}}", key_copy: /prev/key } }
    routing: [ { to: say } ]
  say:
    emit.response: { text: "{{vars.key_copy}}={{vars.loaded}}" }
    routing: out
`);
    const store = new MemoryStateStore();
    store.set('k', 'v1');
    const result = done(await new FlowExecutor({ stateStore: store }).run(flow, {}));
    expect(result.output).toEqual([{ text: 'k=v1' }]);
    expect(result.nodeOutputs.load?.payload).toEqual({ key: 'k', value: 'v1', found: true });
  });

  it('templates see prev, node.<id> and state.nodes.<id>.payload', async () => {
    const flow = flowOf(`
id: ctx
type: events
nodes:
  a:
    emit.log: { value: 41 }
    routing: [ { to: b } ]
  b:
    emit.response:
      prev: "{{prev.value}}"
      node: "{{node.a.value}}"
      nodeData: "{{node.a.data.value}}"
      state: "{{state.nodes.a.payload.value}}"
      input: "{{in.input.q}}/{{in.q}}"
    routing: out
`);
    const result = done(await new FlowExecutor().run(flow, { q: 'x' }));
    expect(result.output).toEqual([{ value: 41 }, 'x/x']);
    const flow2 = flowOf(`
id: ctx2
type: events
nodes:
  a:
    emit.log: { value: 41 }
    routing: [ { to: b } ]
  b:
    emit.response: { prev: "{{prev.value}}", node: "{{node.a.value}}", data: "{{node.a.data.value}}", state: "{{state.nodes.a.payload.value}}" }
    routing: out
`);
    const r2 = done(await new FlowExecutor().run(flow2, {}));
    expect(r2.output).toEqual([{ value: 41 }, { prev: 41, node: 41, data: 41, state: 41 }]);
  });
});

describe('session.wait and resume', () => {
  const flow = flowOf(`
id: chat
type: messaging
nodes:
  greet:
    emit.response: { text: "What is your name?" }
    routing: [ { to: wait } ]
  wait:
    session.wait: { reason: need_name }
    routing: [ { to: thank } ]
  thank:
    emit.response: { text: "Thanks {{in.text}} (first said {{node.greet.text}})" }
    routing: out
`);

  it('pauses with the egress as output and a snapshot pointing at the successor', async () => {
    const first = waiting(await new FlowExecutor().run(flow, { text: 'hi' }));
    expect(first.reason).toBe('need_name');
    expect(first.output).toEqual([{ text: 'What is your name?' }]);
    expect(first.snapshot).toMatchObject({ pack_id: 'local', flow_id: 'chat', next_node: 'thank', awaiting_submit: false });
    expect(first.snapshot.state.egress).toEqual([]);
    expect(first.snapshot.next_flow).toBeUndefined();
  });

  it('resume replaces input and entry and continues at next_node', async () => {
    const executor = new FlowExecutor();
    const first = waiting(await executor.run(flow, { text: 'hi' }));
    const second = done(await executor.resume(first.snapshot, { text: 'Ada' }, { flow }));
    expect(second.output).toEqual([{ text: 'Thanks Ada (first said What is your name?)' }]);
  });

  it('a snapshot that went through JSON gives the same result as the in-memory one', async () => {
    const executor = new FlowExecutor();
    const first = waiting(await executor.run(flow, { text: 'hi' }));
    const direct = await executor.resume(first.snapshot, { text: 'Ada' }, { flow });
    const viaJson = await executor.resume(JSON.parse(JSON.stringify(first.snapshot)) as FlowSnapshot, { text: 'Ada' }, { flow });
    expect(viaJson).toEqual(direct);
    // Resuming never mutates the caller's snapshot, so it can be resumed again.
    expect(first.snapshot.state.input).toEqual({ text: 'hi' });
  });

  it('a session.wait without a successor route is an error', async () => {
    const bad = flowOf(`
id: stuck
type: events
nodes:
  wait:
    session.wait: parked
    routing: out
`);
    const err = await failure(new FlowExecutor(noSleep).run(bad, {}));
    expect(err.code).toBe('wait_without_successor');
  });

  it('a malformed snapshot is rejected with invalid_snapshot naming the field', async () => {
    const err = await failure(new FlowExecutor().resume({ pack_id: 'local', flow_id: 'chat', state: {} }, {}, { flow }));
    expect(err.code).toBe('invalid_snapshot');
    expect(err.message).toContain('/next_node');
  });

  it('a snapshot of another pack is refused', async () => {
    const first = waiting(await new FlowExecutor().run(flow, {}));
    const err = await failure(new FlowExecutor({ packId: 'other' }).resume(first.snapshot, {}, { flow }));
    expect(err.code).toBe('pack_mismatch');
  });
});

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

describe('components and error routes', () => {
  const flow = flowOf(`
id: tickets
type: events
nodes:
  create:
    component.exec: { component: jira, operation: create_issue, input: { summary: "{{in.summary}}" } }
    routing:
      - { condition: 'event == "on_error"', to: failed }
      - { to: created }
  created: { emit.response: { text: "created {{node.create.key}}" }, routing: out }
  failed: { emit.response: { text: "failed: {{node.create.error.message}}" }, routing: out }
`);

  it('a component.exec node calls the named component with the split input', async () => {
    const { invoker, calls } = scriptedInvoker({ 'jira.create_issue': () => ({ key: 'IT-1' }) });
    const result = done(await new FlowExecutor({ invoker }).run(flow, { summary: 'broken' }));
    expect(calls).toEqual([{ target: { kind: 'component', id: 'jira' }, operation: 'create_issue', input: { summary: 'broken' } }]);
    expect(result.output).toEqual([{ text: 'created IT-1' }]);
  });

  it('{ok:false,error} takes the on_error route and marks the output with the first failed node', async () => {
    const { invoker } = scriptedInvoker({ 'jira.create_issue': () => ({ ok: false, error: { code: 'E_AUTH', message: 'bad token' } }) });
    const result = done(await new FlowExecutor({ invoker }).run(flow, { summary: 'x' }));
    expect(result.nodeOutputs.create).toEqual({
      ok: false,
      payload: { error: { code: 'E_AUTH', message: 'bad token' } },
      meta: { error: { code: 'E_AUTH', message: 'bad token' } },
    });
    expect(result.output).toEqual([{ text: 'failed: bad token' }]);
  });

  it('an MCP-style {error} result is a failure too', async () => {
    const { invoker } = scriptedInvoker({ 'jira.create_issue': () => ({ error: { code: 'E', message: 'mcp says no', status: 500 } }) });
    const result = done(await new FlowExecutor({ invoker }).run(flow, { summary: 'x' }));
    expect(result.output).toEqual([{ text: 'failed: mcp says no' }]);
  });

  it('first failed node metadata lands on an object output', async () => {
    const single = flowOf(`
id: single
type: events
nodes:
  call:
    component.exec: { component: svc, operation: run }
    routing:
      - { condition: 'event == "on_error"', to: fallback }
  fallback:
    state.get: { key: cached }
    routing: out
`);
    const { invoker } = scriptedInvoker({ 'svc.run': () => ({ ok: false, error: { code: 'E_DOWN', message: 'service down' } }) });
    const result = done(await new FlowExecutor({ invoker }).run(single, {}));
    expect(result.output).toEqual({
      key: 'cached',
      value: null,
      found: false,
      metadata: { error_kind: 'E_DOWN', error_message: 'service down', node_id: 'call' },
    });
  });

  it('a component failure without an error route aborts the walk with the component code', async () => {
    const plain = flowOf(`
id: plain
type: events
nodes:
  call:
    component.exec: { component: svc, operation: run }
    routing: out
`);
    const { invoker } = scriptedInvoker({ 'svc.run': () => ({ ok: false, error: { code: 'E_BAD', message: 'nope' } }) });
    const err = await failure(new FlowExecutor({ invoker, ...noSleep }).run(plain, {}));
    expect(err.code).toBe('E_BAD');
    expect(err.nodeId).toBe('call');
    expect(err.message).toContain('node "call" of flow "plain" failed: nope');
  });

  it('an explicit outcome in the result drives event routing', async () => {
    const approval = flowOf(`
id: approve
type: events
nodes:
  ask:
    component.exec: { component: approver, operation: decide }
    routing:
      - { condition: 'event == "approved"', to: yes }
      - { condition: 'event == "denied"', to: no }
  yes: { emit.response: { text: yes }, routing: out }
  no: { emit.response: { text: no }, routing: out }
`);
    const { invoker } = scriptedInvoker({ 'approver.decide': () => ({ outcome: 'denied' }) });
    expect(done(await new FlowExecutor({ invoker }).run(approval, {})).output).toEqual([{ text: 'no' }]);
  });

  it('the success port is the first of on_success/on_complete/on_submit that a route tests', async () => {
    const ported = flowOf(`
id: ports
type: events
nodes:
  run:
    component.exec: { component: c, operation: go }
    routing:
      - { condition: 'event == "on_complete"', to: complete }
      - { condition: 'event == "on_error"', to: error }
  complete: { emit.response: { text: complete }, routing: out }
  error: { emit.response: { text: error }, routing: out }
`);
    const { invoker } = scriptedInvoker({ 'c.go': () => ({ fine: true }) });
    expect(done(await new FlowExecutor({ invoker }).run(ported, {})).output).toEqual([{ text: 'complete' }]);
  });

  it('greentic_control respond ends the run with the response as output', async () => {
    const ctl = flowOf(`
id: ctl
type: events
nodes:
  run:
    component.exec: { component: c, operation: go }
    routing: [ { to: never } ]
  never: { emit.response: { text: never }, routing: out }
`);
    const { invoker } = scriptedInvoker({ 'c.go': () => ({ greentic_control: { v: 1, action: 'respond', text: 'short answer' } }) });
    const result = done(await new FlowExecutor({ invoker }).run(ctl, {}));
    expect(result.output).toEqual({ text: 'short answer' });
    expect(result.nodeOutputs.never).toBeUndefined();
  });

  it('greentic_control jump moves the walk to another flow node with the payload as input', async () => {
    const main = flowOf(`
id: main
type: events
nodes:
  route:
    component.exec: { component: router, operation: pick }
    routing: out
`);
    const billing = flowOf(`
id: billing
type: events
nodes:
  intro: { emit.response: { text: intro }, routing: [ { to: invoice } ] }
  invoice: { emit.response: { text: "invoice {{state.input.n}} {{prev.n}}" }, routing: out }
`);
    const { invoker } = scriptedInvoker({
      'router.pick': () => ({ greentic_control: { v: 1, action: 'jump', flow: 'billing', node: 'invoice', payload: { n: 9 } } }),
    });
    const resolver = { getFlow: (id: string) => (id === 'billing' ? billing : undefined) };
    expect(done(await new FlowExecutor({ invoker, resolver }).run(main, {})).output).toEqual([{ text: 'invoice 9 9' }]);
  });

  it('component nodes without an invoker fail with unsupported_node_kind (an error route still catches it)', async () => {
    const result = done(await new FlowExecutor(noSleep).run(flow, {}));
    expect(result.nodeOutputs.create?.payload).toMatchObject({ error: { code: 'unsupported_node_kind' } });
    const bare = flowOf(`
id: bare
type: events
nodes:
  call: { component.exec: { component: svc, operation: run }, routing: out }
`);
    const err = await failure(new FlowExecutor(noSleep).run(bare, {}));
    expect(err.code).toBe('unsupported_node_kind');
  });

  it('agentic kinds (dw.agent) fail with unsupported_node_kind even with an invoker', async () => {
    const agent = flowOf(`
id: agent
type: events
nodes:
  talk:
    dw.agent: { agent_id: helper }
    routing: out
`);
    const { invoker, calls } = scriptedInvoker({});
    const err = await failure(new FlowExecutor({ invoker, ...noSleep }).run(agent, {}));
    expect(err.code).toBe('unsupported_node_kind');
    expect(calls).toEqual([]);
  });

  it('mcp nodes go to the invoker as {server, tool} and wrap the result under `output`', async () => {
    const mcp = flowOf(`
id: mcp
type: events
nodes:
  lookup:
    mcp: { server: github, tool: get_issue, arguments: { number: "{{in.n}}" }, output: issue }
    routing: [ { to: say } ]
  say: { emit.response: { text: "{{node.lookup.issue.title}}" }, routing: out }
`);
    const { invoker, calls } = scriptedInvoker({
      'github.get_issue': (input) => ({ title: `issue ${(input as { number: number }).number}` }),
    });
    const result = done(await new FlowExecutor({ invoker }).run(mcp, { n: 12 }));
    expect(calls[0]).toEqual({ target: { kind: 'mcp', id: 'github' }, operation: 'get_issue', input: { number: 12 } });
    expect(result.output).toEqual([{ text: 'issue 12' }]);
  });

  it('provider.invoke renders in_map with input/result = the given input and out_map with the provider result', async () => {
    const provider = flowOf(`
id: prov
type: events
nodes:
  send:
    provider.invoke:
      provider_type: messaging.telegram
      op: send
      input: { chat: "{{in.chat}}", body: "{{in.text}}" }
      in_map: { chat_id: "{{input.chat}}", text: /input/body }
      out_map: { id: "{{result.message_id}}", chat: "{{input.chat_id}}" }
    routing: out
`);
    const { invoker, calls } = scriptedInvoker({ 'messaging.telegram.send': () => ({ message_id: 77 }) });
    const result = done(await new FlowExecutor({ invoker }).run(provider, { chat: 5, text: 'hi' }));
    expect(calls[0]).toEqual({
      target: { kind: 'provider', id: 'messaging.telegram', provider_type: 'messaging.telegram' },
      operation: 'send',
      input: { chat_id: 5, text: 'hi' },
    });
    expect(result.output).toEqual({ id: 77, chat: 5 });
  });

  it('an invoker that throws fails the node with component_failed', async () => {
    const plain = flowOf(`
id: thrower
type: events
nodes:
  call:
    component.exec: { component: svc, operation: run }
    routing:
      - { condition: 'event == "on_error"', to: oops }
  oops: { emit.response: { text: "{{node.call.error.code}}" }, routing: out }
`);
    const invoker: ComponentInvoker = {
      invoke() {
        throw new Error('wasm trap');
      },
    };
    expect(done(await new FlowExecutor({ invoker }).run(plain, {})).output).toEqual([{ text: 'component_failed' }]);
  });

  it('the trace hook sees every node with its outcome', async () => {
    const traces: NodeTrace[] = [];
    const { invoker } = scriptedInvoker({ 'jira.create_issue': () => ({ ok: false, error: { code: 'E', message: 'x' } }) });
    await new FlowExecutor({ invoker, onNode: (t) => traces.push(t) }).run(flow, {});
    expect(traces.map((t) => [t.nodeId, t.component, t.outcome, t.errorCode])).toEqual([
      ['create', 'component.exec', 'error', undefined],
      ['failed', 'emit.response', 'ok', undefined],
    ]);
    expect(traces.every((t) => t.durationMs >= 0 && t.flowId === 'tickets')).toBe(true);
  });
});

describe('whole-run retry policy', () => {
  const flow = flowOf(`
id: flaky
type: events
nodes:
  call:
    component.exec: { component: svc, operation: run }
    routing: out
`);

  it('retries a fresh run on transient errors with exponential backoff and a fresh state', async () => {
    const sleeps: number[] = [];
    let calls = 0;
    const invoker: ComponentInvoker = {
      invoke() {
        calls++;
        return calls < 3
          ? { ok: false, error: { code: 'E_UPSTREAM', message: 'service unavailable' } }
          : { ok: true, output: { ok: true, n: calls } };
      },
    };
    const executor = new FlowExecutor({
      invoker,
      retry: { maxAttempts: 4, baseDelayMs: 100 },
      sleep: async (ms) => void sleeps.push(ms),
      random: () => 0,
    });
    const result = done(await executor.run(flow, {}));
    expect(result.attempts).toBe(3);
    expect(result.output).toEqual({ ok: true, n: 3 });
    expect(sleeps).toEqual([100, 200]);
  });

  it('gives up after maxAttempts and rethrows the last error for non-messaging flows', async () => {
    const sleeps: number[] = [];
    const invoker: ComponentInvoker = { invoke: () => ({ ok: false, error: { code: 'E', message: 'request timeout' } }) };
    const executor = new FlowExecutor({
      invoker,
      retry: { maxAttempts: 3, baseDelayMs: 10 },
      sleep: async (ms) => void sleeps.push(ms),
      random: () => 0.5,
    });
    const err = await failure(executor.run(flow, {}));
    expect(err.message).toContain('request timeout');
    // base is raised to 50 ms; jitter adds up to one base.
    expect(sleeps).toEqual([75, 125]);
  });

  it('does not retry errors whose text is not transient', async () => {
    let calls = 0;
    const invoker: ComponentInvoker = {
      invoke() {
        calls++;
        return { ok: false, error: { code: 'E_INPUT', message: 'summary is required' } };
      },
    };
    await failure(new FlowExecutor({ invoker, ...noSleep }).run(flow, {}));
    expect(calls).toBe(1);
  });

  it('an explicit retryable=false wins over transient-looking text', async () => {
    let calls = 0;
    const invoker: ComponentInvoker = {
      invoke() {
        calls++;
        return { ok: false, error: { code: 'E', message: 'internal', retryable: false } };
      },
    };
    await failure(new FlowExecutor({ invoker, ...noSleep }).run(flow, {}));
    expect(calls).toBe(1);
  });

  it('a resumed run is never retried', async () => {
    const chat = flowOf(`
id: chat2
type: events
nodes:
  wait: { session.wait: later, routing: [ { to: call } ] }
  call: { component.exec: { component: svc, operation: run }, routing: out }
`);
    let calls = 0;
    const invoker: ComponentInvoker = {
      invoke() {
        calls++;
        return { ok: false, error: { code: 'E', message: 'transient glitch' } };
      },
    };
    const executor = new FlowExecutor({ invoker, retry: { maxAttempts: 5 }, ...noSleep });
    const first = waiting(await executor.run(chat, {}));
    await failure(executor.resume(first.snapshot, {}, { flow: chat }));
    expect(calls).toBe(1);
  });

  it('a messaging run that still fails returns the generic failure text instead of throwing', async () => {
    const messaging: Flow = { ...flow, id: 'flaky-chat', kind: 'messaging' };
    const invoker: ComponentInvoker = { invoke: () => ({ ok: false, error: { code: 'E', message: 'backend unavailable' } }) };
    const result = done(await new FlowExecutor({ invoker, retry: { maxAttempts: 2 }, failureText: 'Oops', ...noSleep }).run(messaging, {}));
    expect(result.attempts).toBe(2);
    expect(result.output).toEqual({
      text: 'Oops',
      metadata: {
        error_kind: 'flow_execution_failed',
        error_message: 'node "call" of flow "flaky-chat" failed: backend unavailable',
        flow_id: 'flaky-chat',
      },
    });
    expect(result.error?.code).toBe('E');
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

describe('flow.call and flow.goto', () => {
  const child = flowOf(`
id: child
type: events
nodes:
  double:
    emit.response: { value: "{{in.n}}", twice: "{{in.n}}{{in.n}}" }
    routing: out
`);
  const parking = flowOf(`
id: parking
type: events
nodes:
  wait: { session.wait: hold, routing: [ { to: end } ] }
  end: { emit.response: { text: end }, routing: out }
`);
  const resolver = { getFlow: (id: string) => ({ child, parking })[id] };

  it('flow.call runs the callee to the end and makes its output the node payload', async () => {
    const parent = flowOf(`
id: parent
type: events
nodes:
  call:
    flow.call: { flow_id: child, input: { n: 4 } }
    routing: [ { to: say } ]
  say:
    emit.response: { text: "got {{node.call.data.0.twice}}" }
    routing: out
`);
    const result = done(await new FlowExecutor({ resolver }).run(parent, {}));
    expect(result.nodeOutputs.call?.payload).toEqual([{ value: 4, twice: '44' }]);
    expect(result.output).toEqual([{ text: 'got 44' }]);
  });

  it('a called flow that pauses is a hard error', async () => {
    const parent = flowOf(`
id: parent2
type: events
nodes:
  call: { flow.call: { flow: parking }, routing: out }
`);
    const err = await failure(new FlowExecutor({ resolver, ...noSleep }).run(parent, {}));
    expect(err.code).toBe('subflow_paused');
  });

  it('flow.call of an unknown flow fails with flow_not_found', async () => {
    const parent = flowOf(`
id: parent3
type: events
nodes:
  call: { flow.call: { flow: nowhere }, routing: out }
`);
    const err = await failure(new FlowExecutor({ resolver, ...noSleep }).run(parent, {}));
    expect(err.code).toBe('flow_not_found');
  });

  it('flow.goto hands over with the given input; a pause there records next_flow and resumes in it', async () => {
    const start = flowOf(`
id: start
type: messaging
nodes:
  hello: { emit.response: { text: hello }, routing: [ { to: go } ] }
  go: { flow.goto: { flow: parking, input: { from: start } }, routing: out }
`);
    const executor = new FlowExecutor({ resolver });
    const first = waiting(await executor.run(start, {}));
    expect(first.snapshot).toMatchObject({ flow_id: 'start', next_flow: 'parking', next_node: 'end' });
    expect(first.output).toEqual([{ text: 'hello' }]);
    expect(first.snapshot.state.input).toEqual({ from: 'start' });
    const second = done(await executor.resume(JSON.parse(JSON.stringify(first.snapshot)), { text: 'again' }));
    expect(second.output).toEqual([{ text: 'end' }]);
  });
});
