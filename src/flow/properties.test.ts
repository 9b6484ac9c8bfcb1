import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { propertyParameters, withinTimeSync } from '../../test/support/properties.js';
import { compileFlowSource, flowDocToValue, type JsonValue, loadFlow } from './index.js';

const OP_KEYS = ['run', 'qa.process', 'emit.response', 'templating.handlebars', 'questions', 'template', 'dw.agent', 'state.get'];
const TYPES = ['messaging', 'event', 'events', 'component-config', 'job', 'http'];

const nodeIdArb = fc.stringMatching(/^[a-z_][a-z0-9_-]{0,8}$/);

/** Valid flows: unique node ids, one op key each, routing that references existing nodes only. */
const validFlowArb = fc
  .uniqueArray(nodeIdArb, { minLength: 1, maxLength: 6 })
  .chain((ids) => {
    const target = fc.constantFrom(...ids);
    const routeArb = fc.oneof(
      fc.record({ to: target }),
      fc.record({ to: target, status: fc.constantFrom('ok', 'err', 'retry') }),
      fc.record({ to: target, condition: fc.constantFrom('x == 1', 'event == "on_error"') }),
      fc.constant({ out: true }),
      fc.constant({ reply: true }),
    );
    const routingArb = fc.oneof(fc.constant(undefined), fc.constantFrom('out', 'reply'), fc.array(routeArb, { maxLength: 4 }));
    const nodeArb = fc.record(
      {
        op: fc.constantFrom(...OP_KEYS),
        payload: fc.jsonValue({ maxDepth: 3 }),
        routing: routingArb,
        in_map: fc.option(fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 8 })), { nil: undefined }),
        operation: fc.option(fc.constantFrom('go', 'handle_message'), { nil: undefined }),
      },
      { requiredKeys: ['op', 'payload'] },
    );
    return fc.record({
      id: fc.stringMatching(/^[a-z][a-z0-9._-]{0,10}$/),
      type: fc.constantFrom(...TYPES),
      tags: fc.array(fc.constantFrom('a', 'b', 'internal'), { maxLength: 3 }),
      parameters: fc.dictionary(fc.stringMatching(/^[a-z]{1,5}$/), fc.jsonValue({ maxDepth: 2 })),
      start: fc.option(target, { nil: undefined }),
      nodes: fc.tuple(...ids.map(() => nodeArb)).map((nodes) => {
        const out: Record<string, JsonValue> = {};
        ids.forEach((id, i) => {
          const n = nodes[i];
          if (!n) return;
          const node: Record<string, JsonValue> = { [n.op]: n.payload as JsonValue };
          if (n.routing !== undefined) node.routing = n.routing as JsonValue;
          if (n.in_map !== undefined) node.in_map = n.in_map;
          if (n.operation !== undefined) node.operation = n.operation;
          out[id] = node;
        });
        return out;
      }),
    });
  })
  .map((flow) => {
    const doc: Record<string, JsonValue> = { id: flow.id, type: flow.type, tags: flow.tags, parameters: flow.parameters as JsonValue };
    if (flow.start !== undefined) doc.start = flow.start;
    doc.nodes = flow.nodes;
    return doc;
  });

function toYaml(value: unknown): string {
  return stringify(value, { aliasDuplicateObjects: false });
}

describe('flow loader properties', () => {
  it('never throws on arbitrary text, only returns diagnostics', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        const result = loadFlow(text);
        expect(Array.isArray(result.diagnostics)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on arbitrary JSON-like documents serialised as YAML', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (value) => {
        const result = compileFlowSource(toYaml(value));
        for (const d of result.diagnostics) expect(d.line).toBeGreaterThanOrEqual(1);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on flow-shaped documents with arbitrary nodes', () => {
    const nodes = fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 });
    fc.assert(
      fc.property(fc.constantFrom(...TYPES, 'timer'), nodes, fc.jsonValue({ maxDepth: 2 }), (type, n, extra) => {
        const result = compileFlowSource(toYaml({ id: 'x', type, entrypoints: extra, nodes: n }));
        expect(result.flow === undefined || result.diagnostics.every((d) => d.severity === 'warning')).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('generated valid flows compile', () => {
    fc.assert(
      fc.property(validFlowArb, (doc) => {
        const result = compileFlowSource(toYaml(doc));
        expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
        expect(result.flow).toBeDefined();
      }),
      { numRuns: 200 },
    );
  });

  it('compile ∘ load is stable: re-serialising the loaded document compiles to the same flow', () => {
    fc.assert(
      fc.property(validFlowArb, (doc) => {
        const first = compileFlowSource(toYaml(doc));
        if (!first.doc || !first.flow) throw new Error('generated flow must compile');
        const second = compileFlowSource(toYaml(flowDocToValue(first.doc)));
        expect(second.flow).toEqual(first.flow);
      }),
      { numRuns: 200 },
    );
  });
});

/** YAML that parsers have been broken with: alias bombs, recursion, tags, directives, odd scalars. */
const HOSTILE_FRAGMENTS = [
  'a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d]',
  'n: &n {self: *n}',
  'a: *nowhere',
  'base: &base {routing: out}\nnode:\n  <<: *base\n  <<: [*base, *base]',
  '? [complex, key]\n: value',
  '? {a: 1}\n: b',
  'bin: !!binary aGVsbG8=',
  'fn: !!js/function "function () { return 1 }"',
  'custom: !mine {a: 1}',
  'set: !!set {a, b}',
  'omap: !!omap [a: 1, b: 2]',
  'when: !!timestamp 2001-12-14t21:59:43.10-05:00',
  '%YAML 1.1\n---',
  '%TAG ! tag:example.com,2000:\n---\n!foo x',
  '---\n...\n---',
  '__proto__: {polluted: yes}',
  'constructor: {prototype: {polluted: yes}}',
  'nodes: {__proto__: {emit.response: {text: x}, routing: out}}',
  'nul: "\\u0000"',
  '\uFEFFid: bom',
  'big: 1e400',
  'hex: 0x7fffffffffffffffffffffff',
  'nan: .nan',
  '&anchored key: *anchored',
  'id: one\nid: two',
  `long: ${'x'.repeat(20_000)}`,
  'block: |\n  text\n   more\n\tand a tab',
  'folded: >-\n  folded\n\n  text',
  '- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - x',
  `deep: ${'['.repeat(200)}${']'.repeat(200)}`,
  `deep: ${'{a: '.repeat(100)}1${'}'.repeat(100)}`,
  'quoted: "unterminated',
  "single: 'it''s'",
  '\t- tab indent',
  'crlf: a\r\nb: c',
  'type: messaging\nstart: "{{in.text}}"\nnodes:\n  "{{x}}": {emit.response: {text: "{{entry.text}}"}, routing: out}',
];

describe('flow loader under hostile YAML', () => {
  const header = 'id: hostile\ntype: messaging\nnodes:\n  n:\n    emit.response: { text: hi }\n    routing: out\n';
  const document = fc
    .tuple(fc.boolean(), fc.array(fc.tuple(fc.constantFrom(...HOSTILE_FRAGMENTS), fc.nat({ max: 6 })), { minLength: 1, maxLength: 5 }))
    .map(([withHeader, parts]) => {
      const body = parts.map(([fragment, indent]) => fragment.replace(/^/gm, ' '.repeat(indent))).join('\n');
      return withHeader ? `${header}${body}` : body;
    });

  it('any document built from hostile constructs yields a flow or diagnostics within 1 s, and pollutes no prototype', () => {
    fc.assert(
      fc.property(document, (text) => {
        const result = withinTimeSync(1_000, 'compileFlowSource', () => compileFlowSource(text));
        for (const d of result.diagnostics) expect(d.line).toBeGreaterThanOrEqual(1);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect(Object.keys(Object.prototype)).toEqual([]);
      }),
      propertyParameters(300),
    );
  });

  it('a valid flow with characters inserted, deleted or replaced anywhere yields a flow or diagnostics within 1 s', () => {
    const edit = fc.record({
      at: fc.nat(),
      cut: fc.nat({ max: 8 }),
      insert: fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom(...'{}[]&*!|>:-?#%@`"\'\t\n')),
    });
    fc.assert(
      fc.property(validFlowArb, fc.array(edit, { minLength: 1, maxLength: 4 }), (doc, edits) => {
        let text = toYaml(doc);
        for (const e of edits) {
          const at = e.at % (text.length + 1);
          text = text.slice(0, at) + e.insert + text.slice(at + e.cut);
        }
        const result = withinTimeSync(1_000, 'compileFlowSource', () => compileFlowSource(text));
        for (const d of result.diagnostics) expect(d.line).toBeGreaterThanOrEqual(1);
      }),
      propertyParameters(150),
    );
  });
});
