import { describe, expect, it } from 'vitest';
import type { JsonValue } from './model.js';
import { lookupPath, parsePath, resolvePointer } from './path.js';

const root: JsonValue = {
  entry: {
    attachments: [
      { name: 'd.pdf', text: 'hello world' },
      { name: 'i.png', url: 'artifact://i' },
    ],
    'odd key': { 'a.b': 1 },
    flag: false,
    nothing: null,
  },
};

describe('lookupPath', () => {
  it('follows dot segments and keeps the JSON type of the result', () => {
    expect(lookupPath(root, 'entry.flag')).toEqual({ found: true, value: false });
    expect(lookupPath(root, 'entry.nothing')).toEqual({ found: true, value: null });
    expect(lookupPath(root, 'entry.attachments')).toMatchObject({ found: true });
  });

  it('indexes arrays with [n]', () => {
    expect(lookupPath(root, 'entry.attachments[1].url')).toEqual({ found: true, value: 'artifact://i' });
    expect(lookupPath(root, 'entry.attachments[0 ].name')).toEqual({ found: true, value: 'd.pdf' });
  });

  it('reads [ 0 ] with a leading space as the key "0", which no array has (upstream quirk)', () => {
    expect(parsePath('xs[ 0 ]')).toEqual([{ key: 'xs' }, { key: '0' }]);
    expect(lookupPath(root, 'entry.attachments[ 0 ].name').found).toBe(false);
  });

  it('reads keys with spaces or dots through double- or single-quoted brackets', () => {
    expect(lookupPath(root, `entry["odd key"]['a.b']`)).toEqual({ found: true, value: 1 });
  });

  it('drops a leading this segment, and this alone is the root', () => {
    expect(lookupPath(root, 'this.entry.flag')).toEqual({ found: true, value: false });
    expect(lookupPath(root, 'this')).toEqual({ found: true, value: root });
  });

  it('reports missing paths as not found with a null value', () => {
    expect(lookupPath(root, 'entry.attachments[5].name')).toEqual({ found: false, value: null });
    expect(lookupPath(root, 'entry.flag.deeper')).toEqual({ found: false, value: null });
    expect(lookupPath(undefined, 'entry')).toEqual({ found: false, value: null });
  });

  it('does not treat a dotted number as an array index, as upstream', () => {
    expect(lookupPath(root, 'entry.attachments.0.name')).toEqual({ found: false, value: null });
  });

  it('never resolves inherited object properties', () => {
    expect(lookupPath({ a: {} }, 'a.constructor')).toEqual({ found: false, value: null });
    expect(lookupPath({ a: {} }, 'a.__proto__')).toEqual({ found: false, value: null });
  });
});

describe('parsePath', () => {
  it('rejects texts that are not paths', () => {
    for (const text of ['', '   ', 'a]', 'a[', 'a[]', 'a["x"', 'a[x.y]', 'a[1x]', 'a[99999999999999999999999]']) {
      expect(parsePath(text), text).toBeNull();
    }
  });

  it('keeps identifiers verbatim apart from trimming, as upstream does', () => {
    expect(parsePath(' a b . c ')).toEqual([{ key: 'a b' }, { key: 'c' }]);
  });
});

describe('resolvePointer', () => {
  it('resolves RFC 6901 pointers with ~0 and ~1 escapes', () => {
    const doc: JsonValue = { 'a/b': { 'm~n': [10, 20] } };
    expect(resolvePointer(doc, '/a~1b/m~0n/1')).toEqual({ found: true, value: 20 });
    expect(resolvePointer(doc, '')).toEqual({ found: true, value: doc });
  });

  it('rejects array indexes with leading zeros or signs, like serde_json', () => {
    const doc: JsonValue = { xs: [1, 2] };
    expect(resolvePointer(doc, '/xs/01').found).toBe(false);
    expect(resolvePointer(doc, '/xs/+1').found).toBe(false);
    expect(resolvePointer(doc, '/xs/-').found).toBe(false);
    expect(resolvePointer(doc, 'xs').found).toBe(false);
  });
});
