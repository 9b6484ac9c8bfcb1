import { describe, expect, it } from 'vitest';
import { FlowExecutor } from './executor.js';
import { done, failure, flowOf, noSleep, scriptedInvoker } from './executor-fixtures.js';
import type { ComponentInvoker, NodeTrace } from './ports.js';

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
