import { describe, expect, it } from 'vitest';
import { checkPackFlows, packEntryFlow } from './entry-flow.js';
import type { CompiledNode, Flow, FlowKind, JsonValue } from './model.js';

function node(id: string, component: string, operation: string | null, mapping: JsonValue = {}): CompiledNode {
  return {
    id,
    component: { id: component, operation },
    input: { mapping },
    output: { mapping: {} },
    routing: 'end',
    telemetry: { attributes: {} },
  };
}

function flow(id: string, nodes: CompiledNode[], tags: string[] = [], kind: FlowKind = 'messaging'): Flow {
  return {
    schema_version: 'flow-v1',
    id,
    kind,
    entrypoints: nodes.length > 0 ? { default: nodes[0]!.id } : {},
    nodes: Object.fromEntries(nodes.map((n) => [n.id, n])),
    metadata: { tags, extra: {} },
  };
}

const say = (id: string) => node(id, 'emit.response', null, { text: 'hi' });
const empty = (id: string, tags: string[] = []) => flow(id, [], tags);

describe('entry flow selection', () => {
  it('upstream first: the flow with id "default" wins, whatever the tags', () => {
    const choice = packEntryFlow([flow('main', [say('a')], ['default']), flow('default', [say('b')])], 'messaging');
    expect(choice).toMatchObject({ ok: true, rule: 'id-default', flow: { id: 'default' } });
  });

  it("upstream: a pack's only messaging flow is its entry, even beside flows of other kinds", () => {
    const choice = packEntryFlow([flow('on_event', [say('a')], [], 'event'), flow('on_message', [say('b')])], 'messaging');
    expect(choice).toMatchObject({ ok: true, rule: 'only', flow: { id: 'on_message' } });
  });

  it('several messaging flows: the single one tagged "default" (helpdesk-itsm)', () => {
    const flows = [
      empty('create_ticket_flow'),
      empty('jira_oauth_flow'),
      flow('main', [say('show_welcome')], ['default']),
      empty('on_message'),
    ];
    expect(packEntryFlow(flows, 'messaging')).toMatchObject({ ok: true, rule: 'tagged-default', flow: { id: 'main' } });
  });

  it('several messaging flows and none tagged "default": the single one with nodes', () => {
    const flows = [empty('a'), flow('b', [say('x')]), empty('c')];
    expect(packEntryFlow(flows, 'messaging')).toMatchObject({ ok: true, rule: 'only-with-nodes', flow: { id: 'b' } });
  });

  it('several candidates and no rule that picks one is ambiguous, naming them', () => {
    const choice = packEntryFlow([flow('a', [say('x')]), flow('b', [say('y')])], 'messaging');
    expect(choice).toMatchObject({ ok: false, reason: 'ambiguous' });
    expect(!choice.ok && choice.message).toContain('(a, b)');
  });

  it('flows tagged "internal" are never entry flows', () => {
    expect(packEntryFlow([flow('default', [say('x')], ['internal'])], 'messaging')).toMatchObject({ ok: false, reason: 'none' });
  });
});

describe('pack flow check (activation)', () => {
  it('warns about empty flows, nodes whose component the pack lacks, and a missing messaging entry', () => {
    const flows = [
      flow('a', [
        node('card', 'ai.greentic.component-adaptive-card', 'run', { component: 'oci://x' }),
        node('ask', 'component.exec', null, { component: 'gone', operation: 'o' }),
      ]),
      flow('b', [say('x')]),
      empty('c'),
    ];
    const check = checkPackFlows(flows, new Set(['ai.greentic.component-adaptive-card']));
    expect(check.reason).toBeUndefined();
    expect(check.runnable).toEqual(['a', 'b']);
    expect(check.warnings).toEqual([
      'flow "a" node "ask" calls component "gone", which the pack does not contain',
      'flow "c" has no nodes',
      'no messaging entry flow: 3 "messaging" flows (a, b, c) and no way to choose: none has id "default", none is tagged "default", 2 have nodes',
    ]);
  });

  it('a pack whose every flow is empty cannot run', () => {
    const check = checkPackFlows([empty('global_redbutton'), empty('main', ['default'])], new Set());
    expect(check.runnable).toEqual([]);
    expect(check.reason).toBe('no flow of the pack can run: "global_redbutton" has no nodes; "main" has no nodes');
  });

  it("a pack whose every entry node's component is missing cannot run", () => {
    const check = checkPackFlows([flow('main', [node('show', 'ai.greentic.component-adaptive-card', 'run')])], new Set());
    expect(check.reason).toBe(
      'no flow of the pack can run: "main" starts at node "show", whose component "ai.greentic.component-adaptive-card" the pack does not contain',
    );
  });

  it('built-in nodes, an emit.* target of component.exec and a templated target need no component', () => {
    const flows = [
      flow('main', [
        say('a'),
        node('b', 'component.exec', null, { component: 'emit.response', input: {} }),
        node('c', 'component.exec', null, { component: '{{in.target}}', operation: 'o' }),
      ]),
    ];
    expect(checkPackFlows(flows, new Set())).toEqual({ runnable: ['main'], warnings: [] });
  });
});
