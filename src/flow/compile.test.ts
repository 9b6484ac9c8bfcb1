import { describe, expect, it } from 'vitest';
import configFlow from './fixtures/config-flow.ygtc?raw';
import hello from './fixtures/hello.ygtc?raw';
import helpdesk from './fixtures/helpdesk-ticket.ygtc?raw';
import quickstart from './fixtures/quickstart-on-message.ygtc?raw';
import weather from './fixtures/weather-mcp.ygtc?raw';
import wizard from './fixtures/wizard-steps.ygtc?raw';
import {
  type CompiledNode,
  compileFlow,
  compileFlowSource,
  type Flow,
  loadFlow,
  parseResolveSummary,
  type ResolveSummary,
} from './index.js';

function compile(source: string, resolveSummary?: ResolveSummary): Flow {
  const result = compileFlowSource(source, { file: 'f.ygtc', ...(resolveSummary ? { resolveSummary } : {}) });
  expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return result.flow as Flow;
}

function node(source: string, id: string): CompiledNode {
  return compile(source).nodes[id] as CompiledNode;
}

/** A flow whose node `a` has the given routing and nodes b, c, d exist. */
function routed(routing: string): string {
  return `id: demo\ntype: messaging\nnodes:\n  a:\n    run: {}\n    routing: ${routing}\n  b: { run: {} }\n  c: { run: {} }\n  d: { run: {} }\n`;
}

describe('compileFlow: routing table', () => {
  it.each([
    ['absent routing', 'null', 'end'],
    ['an empty list', '[]', 'end'],
    ['the out shorthand', 'out', 'end'],
    ['[{out: true}]', '[ { out: true } ]', 'end'],
    ['[{to: out}]', '[ { to: out } ]', 'end'],
    ['the reply shorthand', 'reply', 'reply'],
    ['[{reply: true}]', '[ { reply: true } ]', 'reply'],
  ])('%s compiles to %s', (_name, routing, expected) => {
    expect(node(routed(routing), 'a').routing).toEqual(expected);
  });

  it('a single [{to: X}] compiles to next X', () => {
    expect(node(routed('[ { to: b } ]'), 'a').routing).toEqual({ next: { node_id: 'b' } });
  });

  it('a single route carrying status compiles to custom with the raw array', () => {
    expect(node(routed('[ { status: ok, to: b } ]'), 'a').routing).toEqual({ custom: [{ status: 'ok', to: 'b' }] });
  });

  it('a single conditional route compiles to custom', () => {
    expect(node(routed('[ { condition: "x == 1", to: b } ]'), 'a').routing).toEqual({
      custom: [{ condition: 'x == 1', to: 'b' }],
    });
  });

  it('conditional routes among many compile to custom, preserving every route', () => {
    const raw = [{ condition: 'error != ""', to: 'b' }, { to: 'c' }];
    expect(node(routed('[ { condition: "error != \\"\\"", to: b }, { to: c } ]'), 'a').routing).toEqual({ custom: raw });
  });

  it('an on_message route is conditional and compiles to custom', () => {
    expect(node(routed('[ { on_message: true, to: b }, { to: c } ]'), 'a').routing).toEqual({
      custom: [{ on_message: true, to: 'b' }, { to: 'c' }],
    });
  });

  it('status routes plus a plain route compile to branch with on_status and the plain default', () => {
    expect(node(routed('[ { status: ok, to: b }, { status: err, to: c }, { to: d } ]'), 'a').routing).toEqual({
      branch: { on_status: { err: 'c', ok: 'b' }, default: 'd' },
    });
  });

  it('status routes without a plain route compile to branch with a null default', () => {
    expect(node(routed('[ { status: ok, to: b }, { status: err, to: c } ]'), 'a').routing).toEqual({
      branch: { on_status: { err: 'c', ok: 'b' }, default: null },
    });
  });

  it('several plain to routes compile to branch defaulting to the LAST target (no fan-out)', () => {
    expect(node(routed('[ { to: b }, { to: c }, { to: d } ]'), 'a').routing).toEqual({
      branch: { on_status: {}, default: 'd' },
    });
  });

  it('several routes mixing out or reply compile to custom', () => {
    expect(node(routed('[ { to: b }, { out: true } ]'), 'a').routing).toEqual({ custom: [{ to: 'b' }, { out: true }] });
    expect(node(routed('[ { to: b }, { reply: true } ]'), 'a').routing).toEqual({ custom: [{ to: 'b' }, { reply: true }] });
  });

  it('several routes where one has no to compile to custom', () => {
    expect(node(routed('[ { to: b }, { status: x } ]'), 'a').routing).toEqual({ custom: [{ to: 'b' }, { status: 'x' }] });
  });

  it('to: out among several plain routes does not compile (MissingNode)', () => {
    const result = compileFlowSource(routed('[ { to: b }, { to: out } ]'));
    expect(result.flow).toBeUndefined();
    expect(result.diagnostics.map((d) => d.code)).toEqual(['MissingNode']);
  });
});

describe('compileFlow: components', () => {
  const one = (op: string, extra = ''): CompiledNode =>
    node(`id: demo\ntype: messaging\nnodes:\n  a:\n    ${op}: { k: 1 }\n${extra}    routing: out\n`, 'a');

  it('an operation-name op key lowers to component.exec with that operation', () => {
    expect(one('run').component).toEqual({ id: 'component.exec', operation: 'run' });
  });

  it('a dotted op key lowers to component.exec with the dotted operation (the pack resolves it)', () => {
    expect(one('qa.process').component).toEqual({ id: 'component.exec', operation: 'qa.process' });
    expect(one('emit.response').component).toEqual({ id: 'component.exec', operation: 'emit.response' });
  });

  it('a sibling operation: key names the operation', () => {
    expect(one('run', '    operation: handle_message\n').component).toEqual({
      id: 'component.exec',
      operation: 'handle_message',
    });
  });

  it.each(['questions', 'template', 'mcp', 'dw.agent', 'dw.agent_graph', 'sorla.call', 'approval.call', 'telco-x.call'])(
    'builtin op key %s stays the component id',
    (op) => {
      const payload = op === 'mcp' ? '{ server: s, tool: t }' : '{ k: 1 }';
      const compiled = node(`id: demo\ntype: messaging\nnodes:\n  a:\n    ${op}: ${payload}\n`, 'a');
      expect(compiled.component).toEqual({ id: op });
    },
  );

  it('a dw.* builtin keeps its sibling operation', () => {
    expect(one('dw.agent', '    operation: support\n').component).toEqual({ id: 'dw.agent', operation: 'support' });
  });

  it('schema_version 1 keeps every op key as the literal component id', () => {
    const compiled = node('id: demo\ntype: messaging\nschema_version: 1\nnodes:\n  a:\n    qa.process: {}\n', 'a');
    expect(compiled.component).toEqual({ id: 'qa.process' });
  });

  it('the legacy component.exec shape compiles to component.exec with the op key as operation', () => {
    const compiled = compile(quickstart).nodes.extract_event as CompiledNode;
    expect(compiled.component).toEqual({ id: 'component.exec', operation: 'component.exec' });
    expect(compiled.input.mapping).toEqual({
      component: 'component-msg2events',
      operation: 'extract',
      message: '{{in.input}}',
      source_provider: 'webchat',
    });
  });

  it('a pack_alias next to component.exec becomes the component pack_alias', () => {
    const compiled = node('id: demo\ntype: messaging\nnodes:\n  a:\n    component.exec: { component: c }\n    pack_alias: shared\n', 'a');
    expect(compiled.component).toEqual({ id: 'component.exec', pack_alias: 'shared', operation: 'component.exec' });
  });

  it('conversational: true reaches the compiled node', () => {
    expect(one('dw.agent', '    conversational: true\n').conversational).toBe(true);
    expect(one('dw.agent').conversational).toBeUndefined();
  });
});

describe('compileFlow: mappings and telemetry', () => {
  it('the op payload is the input mapping', () => {
    expect(node(hello, 'start').input).toEqual({ mapping: { text: 'Hello from greentic-flow!' } });
  });

  it('in_map replaces the payload as the input mapping', () => {
    const src = 'id: demo\ntype: messaging\nnodes:\n  a:\n    run: { ignored: true }\n    in_map: { q: "{{in.text}}" }\n';
    expect(node(src, 'a').input).toEqual({ mapping: { q: '{{in.text}}' } });
  });

  it('out_map or output becomes the output mapping; absent means {}', () => {
    const src =
      'id: demo\ntype: messaging\nnodes:\n  a:\n    run: {}\n    out_map: { r: x }\n  b:\n    run: {}\n    output: { s: y }\n  c:\n    run: {}\n';
    const flow = compile(src);
    expect(flow.nodes.a?.output).toEqual({ mapping: { r: 'x' } });
    expect(flow.nodes.b?.output).toEqual({ mapping: { s: 'y' } });
    expect(flow.nodes.c?.output).toEqual({ mapping: {} });
  });

  it('err_map is carried only when authored', () => {
    const src = 'id: demo\ntype: messaging\nnodes:\n  a:\n    run: {}\n    err_map: { e: x }\n  b:\n    run: {}\n';
    const flow = compile(src);
    expect(flow.nodes.a?.err_map).toEqual({ mapping: { e: 'x' } });
    expect(flow.nodes.b && 'err_map' in flow.nodes.b).toBe(false);
  });

  it('telemetry hints are carried; attributes default to {}', () => {
    const src =
      'id: demo\ntype: messaging\nnodes:\n  a:\n    run: {}\n    telemetry: { span_name: s, attributes: { k: v }, sampling: always }\n  b:\n    run: {}\n';
    const flow = compile(src);
    expect(flow.nodes.a?.telemetry).toEqual({ span_name: 's', attributes: { k: 'v' }, sampling: 'always' });
    expect(flow.nodes.b?.telemetry).toEqual({ attributes: {} });
  });

  it('compiled node keys follow the upstream field order', () => {
    const src = 'id: demo\ntype: messaging\nnodes:\n  a:\n    telemetry: {}\n    routing: out\n    err_map: {}\n    run: {}\n';
    expect(Object.keys(node(src, 'a'))).toEqual(['id', 'component', 'input', 'output', 'err_map', 'routing', 'telemetry']);
  });
});

describe('compileFlow: flow level', () => {
  it('the compiled flow carries schema_version flow-v1, id and kind', () => {
    const flow = compile(hello);
    expect([flow.schema_version, flow.id, flow.kind]).toEqual(['flow-v1', 'hello-flow', 'messaging']);
  });

  it.each([
    ['events', 'event'],
    ['event', 'event'],
    ['component-config', 'component_config'],
    ['job', 'job'],
    ['http', 'http'],
  ])('type %s compiles to kind %s', (type, kind) => {
    expect(compile(`id: demo\ntype: ${type}\nnodes:\n  a: { run: {} }\n`).kind).toBe(kind);
  });

  it('node order is kept (the first node is the implicit entry)', () => {
    expect(Object.keys(compile(helpdesk).nodes)).toEqual([
      'check_token',
      'no_token',
      'show_create_form',
      'create_issue',
      'create_error',
      'cancelled',
      'done',
    ]);
  });

  it('entrypoints.default is synthesised from start, else the in node, else the first node', () => {
    expect(compile(hello).entrypoints).toEqual({ default: 'start' });
    expect(compile('id: d\ntype: job\nnodes:\n  x: { run: {} }\n  in: { run: {} }\n').entrypoints).toEqual({ default: 'in' });
    expect(compile('id: d\ntype: job\nnodes:\n  x: { run: {} }\n  y: { run: {} }\n').entrypoints).toEqual({ default: 'x' });
  });

  it('authored entrypoints are kept (sorted) and an authored default wins over start', () => {
    const src =
      'id: d\ntype: job\nstart: x\nentrypoints: { telegram: y, default: y, "http:/a": x }\nnodes:\n  x: { run: {} }\n  y: { run: {} }\n';
    const entrypoints = compile(src).entrypoints;
    expect(entrypoints).toEqual({ default: 'y', 'http:/a': 'x', telegram: 'y' });
    expect(Object.keys(entrypoints)).toEqual(['default', 'http:/a', 'telegram']);
  });

  it('an empty flow compiles with no default entrypoint', () => {
    expect(compile('id: d\ntype: job\nnodes: {}\n').entrypoints).toEqual({});
  });

  it('metadata carries title, description, sorted unique tags and parameters as extra', () => {
    const src =
      'id: d\ntype: job\ntitle: T\ndescription: D\ntags: [zeta, alpha, zeta]\nparameters: { vars_init: { n: { default: 1 } } }\nmeta: { greentic: {} }\nnodes:\n  x: { run: {} }\n';
    expect(compile(src).metadata).toEqual({
      title: 'T',
      description: 'D',
      tags: ['alpha', 'zeta'],
      extra: { vars_init: { n: { default: 1 } } },
    });
  });

  it('slot_schema is forwarded into metadata.extra["greentic.slot_schema"]', () => {
    const src = 'id: d\ntype: job\nparameters: { k: 42 }\nslot_schema:\n  - { name: n, slot_type: number }\nnodes:\n  x: { run: {} }\n';
    expect(compile(src).metadata.extra).toEqual({ k: 42, 'greentic.slot_schema': [{ name: 'n', slot_type: 'number' }] });
  });

  it('the config-flow example compiles questions and template as builtins', () => {
    const flow = compile(configFlow);
    expect(flow.kind).toBe('component_config');
    expect(flow.nodes.ask_config?.component).toEqual({ id: 'questions' });
    expect(flow.nodes.emit_config?.component).toEqual({ id: 'template' });
    expect(flow.nodes.ask_config?.routing).toEqual({ next: { node_id: 'emit_config' } });
  });

  it('the weather example compiles node inputs verbatim (templates are not rendered at compile time)', () => {
    const flow = compile(weather);
    expect(flow.nodes.call_weather?.input.mapping).toMatchObject({ input: { q: '{{in.input.metadata.q}}', aqi: 'no' } });
  });
});

describe('compileFlow: documents built in code', () => {
  it('an unknown type, a bad flow id and a bad node id are all reported', () => {
    const loaded = loadFlow('id: demo\ntype: messaging\nnodes:\n  a: { run: {} }\n');
    const doc = loaded.doc;
    if (!doc) throw new Error('fixture must load');
    const bad = { ...doc, id: 'a b', type: 'timer', nodes: { 'x y': { id: 'x y', raw: { run: {} } } } };
    const result = compileFlow(bad);
    expect(result.flow).toBeUndefined();
    expect(result.diagnostics.map((d) => d.code)).toEqual(['UnknownFlowType', 'InvalidIdentifier', 'InvalidIdentifier']);
  });
});

describe('compileFlow: resolve summary (greentic-pack build)', () => {
  const digest = `sha256:${'a'.repeat(64)}`;
  const summary = (nodes: Record<string, string>): ResolveSummary => {
    const text = JSON.stringify({
      schema_version: 1,
      flow: 'main.ygtc',
      nodes: Object.fromEntries(
        Object.entries(nodes).map(([n, id]) => [n, { component_id: id, source: { kind: 'repo', ref: 'repo://x' }, digest }]),
      ),
    });
    const parsed = parseResolveSummary(text, 'main.ygtc.resolve.summary.json');
    if (!parsed.value) throw new Error(JSON.stringify(parsed.diagnostics));
    return parsed.value;
  };

  it('component.exec nodes take the component_id of their summary entry, keeping the operation', () => {
    const flow = compile(wizard, summary({ llm_default: 'ai.greentic.chat2data', llm_personalized: 'ai.greentic.chat2data' }));
    expect(flow.nodes.llm_default?.component).toEqual({ id: 'ai.greentic.chat2data', operation: 'run' });
  });

  it('builtin nodes need no summary entry', () => {
    const src =
      'id: d\ntype: messaging\nnodes:\n  a: { emit.response: { text: hi } }\n  b: { mcp: { server: s, tool: t } }\n  c: { session.wait: {} }\n';
    const flow = compile(src, summary({}));
    expect(flow.nodes.a?.component).toEqual({ id: 'component.exec', operation: 'emit.response' });
    expect(flow.nodes.b?.component).toEqual({ id: 'mcp' });
  });

  it('a non-builtin node without a summary entry is a ResolveSummary error', () => {
    const result = compileFlowSource(wizard, { file: 'w.ygtc', resolveSummary: summary({ llm_default: 'x' }) });
    expect(result.flow).toBeUndefined();
    expect(result.diagnostics.map((d) => [d.code, d.pointer])).toEqual([['ResolveSummary', '/nodes/llm_personalized']]);
  });

  it('a node whose component id disagrees with its summary entry is a ResolveSummary error', () => {
    const src = 'id: d\ntype: messaging\nschema_version: 1\nnodes:\n  a: { qa.process: {} }\n';
    const result = compileFlowSource(src, { resolveSummary: summary({ a: 'other.component' }) });
    expect(result.diagnostics.map((d) => d.code)).toEqual(['ResolveSummary']);
    expect(result.diagnostics[0]?.message).toContain('"qa.process" does not match');
  });
});
