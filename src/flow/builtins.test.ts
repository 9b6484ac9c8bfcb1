import { describe, expect, it } from 'vitest';
import { classifyKey, nodeKey, prepareFlow } from './builtins.js';
import { compileFlowSource } from './compile-source.js';
import type { CompiledNode, Flow } from './model.js';

function node(id: string, operation?: string): CompiledNode {
  return {
    id: 'n',
    component: operation === undefined ? { id } : { id, operation },
    input: { mapping: {} },
    output: { mapping: {} },
    routing: 'end',
    telemetry: { attributes: {} },
  };
}

describe('node kind classification', () => {
  it('reads runner-native keys both as compiled (component.exec + operation) and as packc swaps them in', () => {
    expect(nodeKey(node('component.exec', 'state.get'))).toBe('state.get');
    expect(nodeKey(node('state.get'))).toBe('state.get');
    expect(nodeKey(node('component.exec', 'emit.response'))).toBe('emit.response');
    // A wizard-style operation name stays a component.exec call.
    expect(nodeKey(node('component.exec', 'run'))).toBe('component.exec');
  });

  it('maps op keys to the kind that runs them', () => {
    expect(classifyKey('emit.response')).toBe('emit');
    expect(classifyKey('emit.log')).toBe('emit');
    expect(classifyKey('session.wait')).toBe('session.wait');
    expect(classifyKey('mcp')).toBe('mcp');
    expect(classifyKey('mcp:github/get_issue')).toBe('mcp');
    expect(classifyKey('a2a:helper')).toBe('a2a');
    expect(classifyKey('dw.agent')).toBe('remote');
    expect(classifyKey('dw.agent.support')).toBe('remote');
    expect(classifyKey('dw.agent_graph')).toBe('remote');
    expect(classifyKey('approval.call')).toBe('remote');
    expect(classifyKey('component.exec')).toBe('exec');
    expect(classifyKey('ai.greentic.component-adaptive-card')).toBe('component');
    expect(classifyKey('templating.handlebars')).toBe('component');
  });
});

describe('flow preparation', () => {
  function flowOf(yaml: string): Flow {
    const { flow } = compileFlowSource(yaml, { file: 't.ygtc' });
    if (flow === undefined) throw new Error('fixture does not compile');
    return flow;
  }

  it('strips vars_out and response_timeout_secs from the payload and reads answer_fields', () => {
    const prepared = prepareFlow(
      flowOf(`
id: p
type: events
nodes:
  a:
    component.exec: { component: c, operation: o, input: { answer_fields: [x] }, vars_out: { v: /prev/x }, response_timeout_secs: 30 }
    routing: out
`),
    );
    const a = prepared.nodes.get('a');
    expect(a?.mapping).toEqual({ component: 'c', operation: 'o', input: { answer_fields: ['x'] } });
    expect(a?.varsOut).toEqual([['v', '/prev/x']]);
    expect(a?.answerFields).toEqual(['x']);
    expect(a?.needsRender).toBe(false);
  });

  it('detects error routes and the ports that routes test', () => {
    const prepared = prepareFlow(
      flowOf(`
id: p
type: events
nodes:
  a:
    emit.log: { x: "{{in.x}}" }
    routing:
      - { condition: 'event == "on_submit"', to: b }
      - { condition: 'event == "on_timeout"', to: b }
  b: { emit.log: {}, routing: out }
`),
    );
    const routing = prepared.nodes.get('a')?.routing;
    expect(routing).toMatchObject({
      t: 'custom',
      hasCondition: true,
      hasErrorRoute: true,
      successPort: 'on_submit',
      failurePort: 'on_timeout',
    });
    expect(prepared.nodes.get('a')?.needsRender).toBe(true);
  });

  it('warns about a condition without an operator', () => {
    const prepared = prepareFlow(
      flowOf(`
id: p
type: events
nodes:
  a:
    emit.log: {}
    routing:
      - { condition: 'found', to: b }
  b: { emit.log: {}, routing: out }
`),
    );
    expect(prepared.warnings.join('\n')).toContain('has no operator');
  });

  it('starts at the default entrypoint, else the first node', () => {
    const flow = flowOf(`
id: p
type: events
start: b
nodes:
  a: { emit.log: {}, routing: out }
  b: { emit.log: {}, routing: out }
`);
    expect(prepareFlow(flow).start).toBe('b');
  });
});
