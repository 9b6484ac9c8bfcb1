import { describe, expect, it } from 'vitest';
import { FlowExecutor } from './executor.js';
import { done, failure, flowOf, noSleep, waiting } from './executor-fixtures.js';
import { MemoryStateStore } from './ports.js';

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
