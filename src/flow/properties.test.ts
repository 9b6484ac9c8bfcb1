import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
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
