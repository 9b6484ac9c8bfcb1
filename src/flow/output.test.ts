import { describe, expect, it } from 'vitest';
import { jsonEqual } from './json-compare.js';
import { assembleOutput, messagingFailureOutput, withFailureMetadata } from './output.js';

describe('output assembly (§4.9)', () => {
  it('returns the last payload alone when nothing was emitted', () => {
    expect(assembleOutput([], { ok: true })).toEqual({ ok: true });
  });

  it('returns null when nothing was emitted and no node ran', () => {
    expect(assembleOutput([], undefined)).toBeNull();
  });

  it('lists every emitted payload and appends the last node payload', () => {
    expect(assembleOutput([{ text: 'a' }, { text: 'b' }], { key: 'k', value: 1 })).toEqual([
      { text: 'a' },
      { text: 'b' },
      { key: 'k', value: 1 },
    ]);
  });

  it('skips the last payload when it equals the last emitted item (no duplicate card)', () => {
    expect(assembleOutput([{ text: 'a' }, { card: { id: 1 } }], { card: { id: 1 } })).toEqual([{ text: 'a' }, { card: { id: 1 } }]);
  });

  it('flattens emitted arrays and an array last payload', () => {
    expect(assembleOutput([[1, 2], 3], [4, 5])).toEqual([1, 2, 3, 4, 5]);
  });

  it('compares payloads structurally, key order aside', () => {
    expect(jsonEqual({ a: 1, b: [1, { c: null }] }, { b: [1, { c: null }], a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(jsonEqual([1], { 0: 1 })).toBe(false);
  });

  it('marks an object output with the first failed node and keeps its own metadata', () => {
    const out = withFailureMetadata({ text: 'x', metadata: { channel: 'slack' } }, { nodeId: 'n', code: 'E1', message: 'boom' });
    expect(out).toEqual({
      text: 'x',
      metadata: { channel: 'slack', error_kind: 'E1', error_message: 'boom', node_id: 'n' },
    });
  });

  it('leaves array outputs unmarked', () => {
    expect(withFailureMetadata([1], { nodeId: 'n', code: 'E', message: 'm' })).toEqual([1]);
  });

  it('builds the generic messaging failure output', () => {
    expect(messagingFailureOutput('Sorry', 'node x failed', 'f')).toEqual({
      text: 'Sorry',
      metadata: { error_kind: 'flow_execution_failed', error_message: 'node x failed', flow_id: 'f' },
    });
  });
});
