// How spans reach the log: one line per trace, the root span carrying its descendants.

import { SELF } from 'cloudflare:test';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_SPANS_PER_LINE, type SpanRecord, setTelemetrySink, spansOfLine, withSpan } from '../../src/edge/telemetry.js';
import { activate, seedPack } from '../support/runtime-fixtures.js';

let lines: string[] = [];
let restore: () => void = () => {};

beforeEach(() => {
  lines = [];
  restore = setTelemetrySink((line) => lines.push(line));
});
afterEach(() => restore());

const spanLines = () => lines.filter((l) => l.startsWith('{"span"'));

describe('telemetry', () => {
  it('writes a trace as one line: the root span with its children and grandchildren in `spans`', async () => {
    await withSpan('root', { 'greentic.tenant.id': 't' }, async (root) => {
      await root.child('middle', { n: 1 }, async (middle) => {
        middle.measured('leaf', { k: 'v' }, 3, 'ok');
      });
    });
    expect(spanLines()).toHaveLength(1);
    const [root, ...children] = spansOfLine(spanLines()[0] as string) as [SpanRecord, ...SpanRecord[]];
    expect(root.span).toBe('root');
    expect(children.map((c) => c.span)).toEqual(['leaf', 'middle']);
    const middle = children[1] as SpanRecord;
    const leaf = children[0] as SpanRecord;
    expect(middle.parent_span_id).toBe(root.span_id);
    expect(leaf.parent_span_id).toBe(middle.span_id);
    expect(new Set([root.trace_id, middle.trace_id, leaf.trace_id]).size).toBe(1);
    expect(leaf.duration_ms).toBe(3);
  });

  it('writes the attributes every span shares once, in `resource`, and spansOfLine gives them back to each span', async () => {
    const where = { 'greentic.tenant.id': 't1', 'greentic.env': 'dev', 'greentic.pack.id': 'p' };
    await withSpan('root', { ...where, 'greentic.run.status': 'done' }, async (root) => {
      root.measured('flow.node', { ...where, 'greentic.node.id': 'a' }, 0, 'ok');
      root.measured('flow.node', { ...where, 'greentic.pack.id': 'other', 'greentic.node.id': 'b' }, 0, 'ok');
    });
    const line = JSON.parse(spanLines()[0] as string) as SpanRecord;
    expect(line.resource).toEqual(where);
    expect(line.attributes).toEqual({ 'greentic.run.status': 'done' });
    expect(line.spans?.[0]?.attributes).toEqual({ 'greentic.node.id': 'a' });
    expect(line.spans?.[1]?.attributes).toEqual({ 'greentic.pack.id': 'other', 'greentic.node.id': 'b' });
    const [root, a, b] = spansOfLine(spanLines()[0] as string);
    expect(root?.attributes).toEqual({ ...where, 'greentic.run.status': 'done' });
    expect(a?.attributes).toEqual({ ...where, 'greentic.node.id': 'a' });
    expect(b?.attributes).toEqual({ ...where, 'greentic.pack.id': 'other', 'greentic.node.id': 'b' });
  });

  it('logs a trace whose child failed at warn level, with the error on the child', async () => {
    const levels: string[] = [];
    restore();
    restore = setTelemetrySink((line, level) => {
      lines.push(line);
      levels.push(level);
    });
    await withSpan('root', {}, async (root) => {
      root.measured('flow.node', {}, 0, 'error', 'boom_code');
    });
    expect(levels).toEqual(['warn']);
    expect(spansOfLine(lines[0] as string)[1]).toMatchObject({ span: 'flow.node', status: 'error', error: 'boom_code' });
  });

  it(`keeps at most ${MAX_SPANS_PER_LINE} children on the line and counts the rest in spans_dropped`, async () => {
    await withSpan('root', {}, async (root) => {
      for (let i = 0; i < MAX_SPANS_PER_LINE + 7; i++) root.measured('flow.node', { i }, 0, 'ok');
    });
    const record = JSON.parse(spanLines()[0] as string) as SpanRecord;
    expect(record.spans).toHaveLength(MAX_SPANS_PER_LINE);
    expect(record.spans_dropped).toBe(7);
  });

  it('a webhook call writes one span line holding webhook.run, flow.execute and each node', async () => {
    const flow = `id: twice
type: http
nodes:
  first:
    state.get: { key: calls }
    routing: [ { to: second } ]
  second:
    emit.response: { text: "b" }
    routing: out
`;
    await activate('telemetry-t', 'telemetry-p', await seedPack('telemetry-p', '1.0.0', [flow]));
    const res = await SELF.fetch('http://runner/v1/webhook/telemetry-t/twice', { method: 'POST', body: '{}' });
    expect(res.status).toBe(200);
    const runLines = spanLines().filter((l) => l.includes('"webhook.run"'));
    expect(runLines).toHaveLength(1);
    const spans = spansOfLine(runLines[0] as string);
    expect(spans.map((s) => s.span)).toEqual(['webhook.run', 'flow.node', 'flow.node', 'flow.execute']);
    expect(spans.filter((s) => s.span === 'flow.node').map((s) => s.attributes['greentic.node.id'])).toEqual(['first', 'second']);
  });
});
