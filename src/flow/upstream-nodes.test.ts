// Nodes exactly as upstream-built packs carry them (compiled by greentic-flow + packc): which
// component each calls, with which operation and input (upstream-runtime.md §A.7–A.11), and
// greentic-demo's `- next: X` routes.
import { describe, expect, it } from 'vitest';
import { FlowExecutor } from './executor.js';
import { done, scriptedInvoker } from './executor-fixtures.js';
import type { CompiledNode, Flow, JsonValue, Routing } from './model.js';

function node(id: string, component: string, operation: string | null, mapping: JsonValue, routing: Routing): CompiledNode {
  return {
    id,
    component: { id: component, pack_alias: null, operation },
    input: { mapping },
    output: { mapping: {} },
    err_map: null,
    routing,
    telemetry: { attributes: {} },
  };
}

function flow(id: string, start: string, nodes: CompiledNode[]): Flow {
  return {
    schema_version: 'flow-v1',
    id,
    kind: 'messaging',
    entrypoints: { default: start },
    nodes: Object.fromEntries(nodes.map((n) => [n.id, n])),
    metadata: { tags: [], extra: {} },
  };
}

const CARD = 'ai.greentic.component-adaptive-card';
const OCI =
  'oci://ghcr.io/greenticai/components/component-adaptive-card@sha256:6b34848f801c7a70b8ce88e111ce49cce61e358404de17f65afefe77b07bf2d2';
const CARD_CONFIG = { default_source: 'asset', default_card_asset: 'assets/cards/about_card.json', supported_locales: ['en'] };

describe('node → component resolution (upstream packs)', () => {
  it('a pack-component node calls its own component id with its operation; the oci:// string in its mapping is input only', async () => {
    const quickstart = flow('main', 'show_about_card', [
      node('show_about_card', CARD, 'run', { component: OCI, config: CARD_CONFIG }, { next: { node_id: 'show_welcome_card' } }),
      node('show_welcome_card', CARD, 'run', { component: OCI, config: CARD_CONFIG }, 'end'),
    ]);
    const { invoker, calls } = scriptedInvoker({ [`${CARD}.run`]: () => ({ renderedCard: { type: 'AdaptiveCard' } }) });
    done(await new FlowExecutor({ invoker }).run(quickstart, { input: { text: 'hi' } }));
    expect(calls).toHaveLength(2);
    // The whole mapping is the input and there is no separate config (upstream's split).
    expect(calls[0]).toEqual({ target: { kind: 'component', id: CARD }, operation: 'run', input: { component: OCI, config: CARD_CONFIG } });
  });

  it('a node without an operation takes it from mapping.operation (telco-x)', async () => {
    const telco = flow('main', 'present_telco', [
      node(
        'present_telco',
        'component-telco-present',
        null,
        { component: 'component-telco-present', operation: 'present', query: '{{in.input.text}}' },
        'end',
      ),
    ]);
    const { invoker, calls } = scriptedInvoker({ 'component-telco-present.present': () => ({ messages: [] }) });
    done(await new FlowExecutor({ invoker }).run(telco, { input: { text: 'port utilisation' } }));
    expect(calls.map((c) => [c.target.id, c.operation])).toEqual([['component-telco-present', 'present']]);
    expect(calls[0]!.input).toMatchObject({ query: 'port utilisation' });
  });

  it('a component.exec node calls the component its mapping names (component, else component_ref), with mapping.op as operation', async () => {
    const exec = flow('main', 'a', [
      node(
        'a',
        'component.exec',
        null,
        { component: 'component-msg2events', operation: 'extract', message: '{{in.input}}' },
        { next: { node_id: 'b' } },
      ),
      node('b', 'component.exec', null, { component_ref: 'component-events2msg', op: 'route' }, 'end'),
    ]);
    const { invoker, calls } = scriptedInvoker({
      'component-msg2events.extract': () => ({ event: {} }),
      'component-events2msg.route': () => ({}),
    });
    done(await new FlowExecutor({ invoker }).run(exec, { input: { text: 'x' } }));
    expect(calls.map((c) => [c.target.id, c.operation])).toEqual([
      ['component-msg2events', 'extract'],
      ['component-events2msg', 'route'],
    ]);
  });

  it('a node whose operation is component.exec is a generic call to the component its mapping names', async () => {
    const exec = flow('main', 'a', [node('a', 'some.alias', 'component.exec', { component: 'real-component', operation: 'go' }, 'end')]);
    const { invoker, calls } = scriptedInvoker({ 'real-component.go': () => ({ ok: 1 }) });
    done(await new FlowExecutor({ invoker }).run(exec, {}));
    expect(calls.map((c) => [c.target.id, c.operation])).toEqual([['real-component', 'go']]);
  });

  it('a component.exec node whose target is emit.* runs the built-in emit, calling no component', async () => {
    const exec = flow('main', 'a', [node('a', 'component.exec', null, { component: 'emit.response', input: { text: 'hello' } }, 'end')]);
    const { invoker, calls } = scriptedInvoker({});
    const result = done(await new FlowExecutor({ invoker }).run(exec, {}));
    expect(calls).toEqual([]);
    expect(result.output).toEqual([{ text: 'hello' }]);
  });

  it('the input/config split applies only to a mapping of input plus operation/op/component/component_ref/config', async () => {
    const exec = flow('main', 'a', [
      node('a', 'component.exec', null, { component: 'c', operation: 'o', input: { q: 1 }, config: { k: 2 } }, { next: { node_id: 'b' } }),
      node('b', 'component.exec', null, { component: 'c', operation: 'o', input: { q: 1 }, extra: true }, 'end'),
    ]);
    const { invoker, calls } = scriptedInvoker({ 'c.o': () => ({}) });
    done(await new FlowExecutor({ invoker }).run(exec, {}));
    expect(calls[0]).toEqual({ target: { kind: 'component', id: 'c', config: { k: 2 } }, operation: 'o', input: { q: 1 } });
    expect(calls[1]!.input).toEqual({ component: 'c', operation: 'o', input: { q: 1 }, extra: true });
  });
});

describe('`- next: X` routes', () => {
  it('a compiled Custom [{next: X}] route runs X, as `to: X` would (quickstart-app, telco-x)', async () => {
    const app = flow('on_message', 'extract_event', [
      node(
        'extract_event',
        'component.exec',
        null,
        { component: 'component-msg2events', operation: 'extract' },
        { custom: [{ next: 'echo_result' }] },
      ),
      node('echo_result', 'emit.response', null, { messages: [{ type: 'text', text: 'Received: {{prev.event.event_type}}' }] }, 'end'),
    ]);
    const { invoker } = scriptedInvoker({ 'component-msg2events.extract': () => ({ event: { event_type: 'greeting' } }) });
    const result = done(await new FlowExecutor({ invoker }).run(app, { input: { text: 'hi' } }));
    expect(result.output).toEqual([{ messages: [{ type: 'text', text: 'Received: greeting' }] }]);
  });
});
