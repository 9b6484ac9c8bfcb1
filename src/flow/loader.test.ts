import { describe, expect, it } from 'vitest';
import configFlow from './fixtures/config-flow.ygtc?raw';
import hello from './fixtures/hello.ygtc?raw';
import helpdesk from './fixtures/helpdesk-ticket.ygtc?raw';
import invalidMany from './fixtures/invalid-many.ygtc?raw';
import quickstart from './fixtures/quickstart-on-message.ygtc?raw';
import weather from './fixtures/weather-mcp.ygtc?raw';
import wizard from './fixtures/wizard-steps.ygtc?raw';
import { type Diagnostic, formatDiagnostic, loadFlow } from './index.js';

function errors(source: string): Diagnostic[] {
  return loadFlow(source, { file: 'flows/main.ygtc' }).diagnostics.filter((d) => d.severity === 'error');
}

function flow(nodes: string, head = 'id: demo\ntype: messaging\n'): string {
  return `${head}nodes:\n${nodes}`;
}

describe('loadFlow: real-world flows', () => {
  it.each([
    ['hello', hello],
    ['wizard steps', wizard],
    ['quickstart on_message', quickstart],
    ['weather mcp', weather],
    ['helpdesk ticket', helpdesk],
    ['component-config', configFlow],
  ])('the %s example loads without diagnostics', (_name, source) => {
    const result = loadFlow(source, { file: 'x.ygtc' });
    expect(result.diagnostics).toEqual([]);
    expect(result.doc).toBeDefined();
  });

  it('reports every problem of a file, each with file, line, column and pointer', () => {
    const result = loadFlow(invalidMany, { file: 'flows/main.ygtc' });
    expect(result.doc).toBeUndefined();
    expect(result.diagnostics.map(formatDiagnostic)).toEqual([
      'flows/main.ygtc:1:5 InvalidIdentifier flow id "broken flow" may only contain ASCII letters, digits, ".", "_" and "-"',
      'flows/main.ygtc:7:15 MissingNode nodes.ask.routing[0].to "confirm" does not exist',
      'flows/main.ygtc:8:11 Schema nodes.ask.routing[1] has unknown key "goto" (allowed: to, out, status, reply, condition, on_message)',
      'flows/main.ygtc:9:3 NodeComponentShape node "two_ops" has 2 operation keys (emit.response, state.get); exactly one is allowed',
      'flows/main.ygtc:13:10 McpConfig nodes.lookup.mcp.tool is required for an mcp node',
    ]);
    expect(result.diagnostics[1]?.pointer).toBe('/nodes/ask/routing/0/to');
  });
});

describe('loadFlow: document rules', () => {
  it('a YAML syntax error is reported as Yaml with its position', () => {
    const [d] = errors('id: x\ntype: messaging\nnodes: {a: [}\n');
    expect(d?.code).toBe('Yaml');
    expect(d?.line).toBe(3);
  });

  it('a document that is not a mapping is a Schema error', () => {
    expect(errors('- a\n- b\n').map((d) => d.code)).toEqual(['Schema']);
  });

  it('a missing type is a Schema error naming the property', () => {
    const [d] = errors('id: demo\nnodes: {}\n');
    expect(d?.code).toBe('Schema');
    expect(d?.message).toBe("missing required property 'type'");
    expect(d?.pointer).toBe('/type');
  });

  it('a missing id is a Schema error', () => {
    expect(errors('type: messaging\nnodes: {}\n').map((d) => [d.code, d.pointer])).toEqual([['Schema', '/id']]);
  });

  it('an unknown flow type is UnknownFlowType at /type', () => {
    const [d] = errors('id: demo\ntype: webhook\nnodes: {}\n');
    expect(d?.code).toBe('UnknownFlowType');
    expect(d?.pointer).toBe('/type');
    expect([d?.line, d?.col]).toEqual([2, 7]);
  });

  it.each(['messaging', 'event', 'events', 'component-config', 'job', 'http'])('type %s is accepted', (type) => {
    expect(errors(`id: demo\ntype: ${type}\nnodes: {}\n`)).toEqual([]);
  });

  it('missing or null nodes load as an empty flow (skeletons)', () => {
    expect(loadFlow('id: demo\ntype: messaging\n').doc?.nodes).toEqual({});
    expect(loadFlow('id: demo\ntype: messaging\nnodes: null\n').doc?.nodes).toEqual({});
  });

  it('wrongly typed top-level fields are Schema errors at their pointer', () => {
    const ds = errors('id: demo\ntype: messaging\ntags: nope\nschema_version: 0\nparameters: [1]\nnodes: {}\n');
    expect(ds.map((d) => [d.code, d.pointer])).toEqual([
      ['Schema', '/tags'],
      ['Schema', '/schema_version'],
      ['Schema', '/parameters'],
    ]);
  });

  it('a flow id with characters outside letters, digits, ".", "_" and "-" is InvalidIdentifier', () => {
    expect(errors('id: "a/b"\ntype: messaging\nnodes: {}\n').map((d) => d.code)).toEqual(['InvalidIdentifier']);
    expect(errors('id: ai.greentic.x-y_z\ntype: messaging\nnodes: {}\n')).toEqual([]);
  });

  it('a node id not matching ^[a-zA-Z_][\\w-]*$ is InvalidIdentifier at the key', () => {
    const [d] = errors(flow('  9lives:\n    emit.log: {}\n'));
    expect(d?.code).toBe('InvalidIdentifier');
    expect(d?.pointer).toBe('/nodes/9lives');
    expect([d?.line, d?.col]).toEqual([4, 3]);
  });

  it('a node that is not a mapping is a Schema error', () => {
    expect(errors(flow('  a: 3\n')).map((d) => d.code)).toEqual(['Schema']);
  });
});

describe('loadFlow: node shape', () => {
  it('a node without an operation key is NodeComponentShape', () => {
    expect(errors(flow('  a:\n    routing: out\n')).map((d) => d.code)).toEqual(['NodeComponentShape']);
  });

  it('a node with two operation keys is NodeComponentShape', () => {
    expect(errors(flow('  a:\n    emit.log: {}\n    emit.response: {}\n')).map((d) => d.code)).toEqual(['NodeComponentShape']);
  });

  it('component.exec may sit next to one more key (legacy exec shape)', () => {
    expect(errors(flow('  a:\n    component.exec: { component: c }\n    pack_alias: other\n'))).toEqual([]);
  });

  it('component.exec next to two more keys is NodeComponentShape', () => {
    expect(errors(flow('  a:\n    component.exec: {}\n    x: 1\n    y: 2\n')).map((d) => d.code)).toEqual(['NodeComponentShape']);
  });

  it('schema_version 1 flows are exempt from the one-operation-key rule', () => {
    const head = 'id: demo\ntype: messaging\nschema_version: 1\n';
    expect(errors(flow('  a:\n    emit.log: {}\n    extra: 1\n', head))).toEqual([]);
  });

  it('reserved keys (routing, telemetry, output, in_map, out_map, err_map, retry, …, operation) are not operation keys', () => {
    const node =
      '  a:\n    run: {}\n    operation: go\n    routing: out\n    telemetry: { span_name: s }\n    output: {}\n' +
      '    in_map: { x: 1 }\n    out_map: {}\n    err_map: {}\n    retry: {}\n    timeout: {}\n    when: {}\n' +
      '    annotations: {}\n    meta: {}\n';
    expect(errors(flow(node))).toEqual([]);
  });

  it('an operation key not matching ^[A-Za-z_][\\w.-]*$ is BadComponentKey', () => {
    const ds = errors(flow('  a:\n    "do it": {}\n'));
    expect(ds.map((d) => d.code)).toEqual(['BadComponentKey']);
    expect(ds[0]?.pointer).toBe('/nodes/a/do it');
  });

  it('telemetry accepts only span_name, attributes (string values) and sampling', () => {
    const ds = errors(flow('  a:\n    run: {}\n    telemetry: { span: x, attributes: { k: 1 } }\n'));
    expect(ds.map((d) => [d.code, d.pointer])).toEqual([
      ['Schema', '/nodes/a/telemetry/span'],
      ['Schema', '/nodes/a/telemetry/attributes/k'],
    ]);
  });

  it('output, retry, timeout, when, annotations and meta must be mappings', () => {
    const ds = errors(flow('  a:\n    run: {}\n    output: 1\n    retry: "3"\n'));
    expect(ds.map((d) => d.pointer)).toEqual(['/nodes/a/output', '/nodes/a/retry']);
  });
});

describe('loadFlow: MCP nodes', () => {
  it('an mcp node with server, tool, arguments and output loads', () => {
    expect(errors(flow('  a:\n    mcp: { server: github, tool: get_issue, arguments: { n: 1 }, output: issue }\n'))).toEqual([]);
  });

  it('an mcp node with operation: list needs no tool; any other operation is McpConfig', () => {
    expect(errors(flow('  a:\n    mcp: { server: github, operation: list }\n'))).toEqual([]);
    expect(errors(flow('  a:\n    mcp: { server: github, operation: call }\n')).map((d) => [d.code, d.pointer])).toEqual([
      ['McpConfig', '/nodes/a/mcp/tool'],
    ]);
    expect(errors(flow('  a:\n    mcp: { server: github, tool: t, operation: delete }\n')).map((d) => [d.code, d.pointer])).toEqual([
      ['McpConfig', '/nodes/a/mcp/operation'],
    ]);
  });

  it('an mcp payload that is not a mapping is McpConfig', () => {
    expect(errors(flow('  a:\n    mcp: github/get_issue\n')).map((d) => d.code)).toEqual(['McpConfig']);
  });

  it('empty server/tool and non-object arguments are McpConfig errors at their pointers', () => {
    const ds = errors(flow('  a:\n    mcp: { server: "", tool: t, arguments: [1], output: 2 }\n'));
    expect(ds.map((d) => [d.code, d.pointer])).toEqual([
      ['McpConfig', '/nodes/a/mcp/server'],
      ['McpConfig', '/nodes/a/mcp/arguments'],
      ['McpConfig', '/nodes/a/mcp/output'],
    ]);
  });
});

describe('loadFlow: routing', () => {
  it('routing shorthands out and reply are accepted; any other string is Routing', () => {
    expect(errors(flow('  a:\n    run: {}\n    routing: out\n  b:\n    run: {}\n    routing: reply\n'))).toEqual([]);
    const [d] = errors(flow('  a:\n    run: {}\n    routing: next\n'));
    expect(d?.code).toBe('Routing');
    expect(d?.message).toContain('invalid routing shorthand "next"');
  });

  it('a routing value that is neither a string nor a list is Routing', () => {
    expect(errors(flow('  a:\n    run: {}\n    routing: { to: a }\n')).map((d) => d.code)).toEqual(['Routing']);
  });

  it("an unknown route key in a schema-v2 flow is a Schema error, as upstream's JSON schema reports it", () => {
    const ds = errors(flow('  a:\n    run: {}\n    routing:\n      - { to: a, when: x, event: y }\n'));
    expect(ds.map((d) => [d.code, d.pointer])).toEqual([
      ['Schema', '/nodes/a/routing/0/when'],
      ['Schema', '/nodes/a/routing/0/event'],
    ]);
  });

  it('a `next: X` route is a warning that says it runs as `to: X`, and the flow loads', () => {
    const result = loadFlow(flow('  a:\n    run: {}\n    routing:\n      - next: b\n  b:\n    run: {}\n    routing: out\n'), {
      file: 'x.ygtc',
    });
    expect(result.doc).toBeDefined();
    expect(result.diagnostics.map((d) => [d.severity, d.code, d.pointer])).toEqual([['warning', 'Routing', '/nodes/a/routing/0/next']]);
    expect(result.diagnostics[0]?.message).toContain('runs it as "to: b"');
  });

  it('a `next: X` route to a node that does not exist is MissingNode', () => {
    expect(errors(flow('  a:\n    run: {}\n    routing:\n      - next: nowhere\n')).map((d) => [d.code, d.pointer])).toEqual([
      ['MissingNode', '/nodes/a/routing/0/next'],
    ]);
  });

  it('route fields of the wrong type are Routing errors', () => {
    expect(errors(flow('  a:\n    run: {}\n    routing: [ { out: "yes" } ]\n')).map((d) => d.pointer)).toEqual(['/nodes/a/routing/0/out']);
  });

  it('a route to an unknown node is MissingNode pointing at the target', () => {
    const [d] = errors(flow('  a:\n    run: {}\n    routing:\n      - to: confirm\n'));
    expect(d?.code).toBe('MissingNode');
    expect(d?.message).toBe('nodes.a.routing[0].to "confirm" does not exist');
    expect([d?.line, d?.col]).toEqual([7, 13]);
  });

  it('to: out is accepted as the sole route', () => {
    expect(errors(flow('  a:\n    run: {}\n    routing: [ { to: out } ]\n'))).toEqual([]);
  });

  it('to: out inside a multi-route array is MissingNode', () => {
    const ds = errors(flow('  a:\n    run: {}\n    routing: [ { to: b }, { to: out } ]\n  b:\n    run: {}\n'));
    expect(ds.map((d) => [d.code, d.pointer])).toEqual([['MissingNode', '/nodes/a/routing/1/to']]);
  });

  it('to: out inside a conditional route array is MissingNode', () => {
    const ds = errors(flow('  a:\n    run: {}\n    routing: [ { condition: "x == 1", to: out } ]\n'));
    expect(ds.map((d) => d.code)).toEqual(['MissingNode']);
  });

  it('schema_version 1 ignores unknown route keys but still checks targets', () => {
    const head = 'id: demo\ntype: messaging\nschema_version: 1\n';
    expect(errors(flow('  a:\n    run: {}\n    routing: [ { to: a, next: z } ]\n', head))).toEqual([]);
    expect(errors(flow('  a:\n    run: {}\n    routing: [ { to: z } ]\n', head)).map((d) => d.code)).toEqual(['MissingNode']);
  });
});

describe('loadFlow: entry points', () => {
  it('start defaults to the node named in', () => {
    expect(loadFlow(flow('  first:\n    run: {}\n  in:\n    run: {}\n')).doc?.start).toBe('in');
  });

  it('without start or an in node, start stays unset (the first node is the entry at compile)', () => {
    expect(loadFlow(flow('  first:\n    run: {}\n')).doc?.start).toBeUndefined();
  });

  it('a start naming no node is MissingNode', () => {
    const ds = errors('id: demo\ntype: messaging\nstart: nope\nnodes:\n  a:\n    run: {}\n');
    expect(ds.map((d) => [d.code, d.pointer])).toEqual([['MissingNode', '/start']]);
  });

  it('an entrypoint naming no node is a warning, not an error', () => {
    const result = loadFlow('id: demo\ntype: messaging\nentrypoints: { telegram: nope }\nnodes:\n  a:\n    run: {}\n');
    expect(result.doc).toBeDefined();
    expect(result.diagnostics.map((d) => [d.severity, d.code, d.pointer])).toEqual([['warning', 'MissingNode', '/entrypoints/telegram']]);
  });
});

describe('loadFlow: slot_schema', () => {
  const withSlots = (slots: string): string => `id: demo\ntype: messaging\nslot_schema:\n${slots}nodes:\n  a:\n    run: {}\n`;

  it('valid slots of every type load', () => {
    const slots =
      '  - { name: city, slot_type: string, pattern: "^[A-Z].+" }\n' +
      '  - { name: color, slot_type: enum, enum_values: [red, blue] }\n' +
      '  - { name: n, slot_type: number }\n  - { name: b, slot_type: boolean, required: true }\n' +
      '  - { name: d, slot_type: date, default_value: today }\n';
    expect(errors(withSlots(slots))).toEqual([]);
  });

  it('duplicate slot names are rejected', () => {
    const ds = errors(withSlots('  - { name: n, slot_type: number }\n  - { name: n, slot_type: date }\n'));
    expect(ds.map((d) => [d.code, d.pointer])).toEqual([['Schema', '/slot_schema/1/name']]);
    expect(ds[0]?.message).toContain('duplicate slot name "n"');
  });

  it('a pattern that is not a valid regex is rejected', () => {
    const ds = errors(withSlots('  - { name: s, slot_type: string, pattern: "(" }\n'));
    expect(ds.map((d) => d.pointer)).toEqual(['/slot_schema/0/pattern']);
  });

  it('a string slot needs a pattern and an enum slot needs values', () => {
    const ds = errors(withSlots('  - { name: s, slot_type: string }\n  - { name: e, slot_type: enum, enum_values: [] }\n'));
    expect(ds.map((d) => d.pointer)).toEqual(['/slot_schema/0/pattern', '/slot_schema/1/enum_values']);
  });

  it('unknown slot keys and slot types are rejected', () => {
    const ds = errors(withSlots('  - { name: s, slot_type: colour, extra: 1 }\n'));
    expect(ds.map((d) => d.pointer).sort()).toEqual(['/slot_schema/0/extra', '/slot_schema/0/slot_type']);
  });
});
