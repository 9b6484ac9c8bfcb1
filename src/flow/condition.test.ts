import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluateCondition, parseCondition } from './condition.js';
import type { JsonObject } from './model.js';

const ctx: JsonObject = {
  found: true,
  status: 'OK',
  count: 42,
  ratio: 0.5,
  text_count: ' 7 ',
  label: 'n/a',
  nothing: null,
  response: { action: 'Submit_Ticket', text: 'Hello World' },
  node: { register: { q_age: 21, tags: ['a', 'b'], profile: { name: 'Ann' } } },
};

describe('parseCondition', () => {
  it('detects >= before > so "a >= 1" is not split at ">"', () => {
    expect(parseCondition('count >= 18')).toEqual({ path: 'count', op: '>=', literal: '18' });
    expect(parseCondition('count <= 18')).toEqual({ path: 'count', op: '<=', literal: '18' });
  });

  it('detects == before any other operator, even inside the literal', () => {
    expect(parseCondition('a == "x>=y"')).toEqual({ path: 'a', op: '==', literal: 'x>=y' });
  });

  it('strips every surrounding double quote but keeps inner whitespace', () => {
    expect(parseCondition('a == ""x""')).toMatchObject({ literal: 'x' });
    expect(parseCondition('a == " x "')).toMatchObject({ literal: ' x ' });
  });

  it('needs spaces around contains', () => {
    expect(parseCondition('text contains "hi"')).toEqual({ path: 'text', op: 'contains', literal: 'hi' });
    expect(parseCondition('textcontains"hi"')).toHaveProperty('error');
  });

  it('reports a condition without an operator as an error', () => {
    expect(parseCondition('found')).toHaveProperty('error');
    expect(parseCondition('a && b')).toHaveProperty('error');
  });
});

describe('evaluateCondition', () => {
  it('compares == as ASCII-case-insensitive strings', () => {
    expect(evaluateCondition('response.action == "submit_ticket"', ctx)).toBe(true);
    expect(evaluateCondition('status == ok', ctx)).toBe(true);
    expect(evaluateCondition('status == "okay"', ctx)).toBe(false);
  });

  it('folds only ASCII letters for ==, like eq_ignore_ascii_case', () => {
    expect(evaluateCondition('name == "ÉMILE"', { name: 'Émile' })).toBe(true);
    expect(evaluateCondition('name == "émile"', { name: 'Émile' })).toBe(false);
  });

  it('stringifies booleans, numbers and null the way serde_json does', () => {
    expect(evaluateCondition('found == true', ctx)).toBe(true);
    expect(evaluateCondition('found == "TRUE"', ctx)).toBe(true);
    expect(evaluateCondition('count == 42', ctx)).toBe(true);
    expect(evaluateCondition('ratio == 0.5', ctx)).toBe(true);
    expect(evaluateCondition('nothing == null', ctx)).toBe(true);
    expect(evaluateCondition('nothing == ""', ctx)).toBe(false);
  });

  it('compares objects and arrays as compact JSON text', () => {
    expect(evaluateCondition('node.register.tags == ["a","b"]', ctx)).toBe(true);
    expect(evaluateCondition('node.register.tags == ["a", "b"]', ctx)).toBe(false);
    expect(evaluateCondition('node.register.tags contains ","', ctx)).toBe(true);
    expect(evaluateCondition('node.register.profile contains "name":"ann"', ctx)).toBe(true);
  });

  it('is true for != on a missing path, and false for every other operator', () => {
    expect(evaluateCondition('missing.path != "x"', ctx)).toBe(true);
    expect(evaluateCondition('missing.path == "x"', ctx)).toBe(false);
    expect(evaluateCondition('missing.path >= 0', ctx)).toBe(false);
    expect(evaluateCondition('missing.path < 0', ctx)).toBe(false);
    expect(evaluateCondition('missing.path contains ""', ctx)).toBe(false);
  });

  it('!= is the negation of == on present values', () => {
    expect(evaluateCondition('status != "ok"', ctx)).toBe(false);
    expect(evaluateCondition('status != "ko"', ctx)).toBe(true);
  });

  it('compares numerically with >=, <=, >, < and trims the resolved side', () => {
    expect(evaluateCondition('node.register.q_age >= 18', ctx)).toBe(true);
    expect(evaluateCondition('count > 42', ctx)).toBe(false);
    expect(evaluateCondition('count <= 42', ctx)).toBe(true);
    expect(evaluateCondition('ratio < 1e0', ctx)).toBe(true);
    expect(evaluateCondition('text_count > 6.5', ctx)).toBe(true);
  });

  it('is false for numeric comparisons when either side is not a number', () => {
    expect(evaluateCondition('label > 1', ctx)).toBe(false);
    expect(evaluateCondition('label < 1', ctx)).toBe(false);
    expect(evaluateCondition('count > abc', ctx)).toBe(false);
    expect(evaluateCondition('found >= 0', ctx)).toBe(false);
    expect(evaluateCondition('count > " 1"', ctx)).toBe(false);
  });

  it('accepts Rust float spellings such as inf, .5 and 5.', () => {
    expect(evaluateCondition('count < inf', ctx)).toBe(true);
    expect(evaluateCondition('count > -Infinity', ctx)).toBe(true);
    expect(evaluateCondition('ratio >= .5', ctx)).toBe(true);
    expect(evaluateCondition('count <= 42.', ctx)).toBe(true);
    expect(evaluateCondition('count > 0x10', ctx)).toBe(false);
    expect(evaluateCondition('count > NaN', ctx)).toBe(false);
  });

  it('tests contains as a case-insensitive substring', () => {
    expect(evaluateCondition('response.text contains "WORLD"', ctx)).toBe(true);
    expect(evaluateCondition('response.text contains planet', ctx)).toBe(false);
  });

  it('resolves only dotted object keys (no array indexes)', () => {
    expect(evaluateCondition('node.register.tags.0 == a', ctx)).toBe(false);
    expect(evaluateCondition('node.register.tags[0] == a', ctx)).toBe(false);
  });

  it('does not render {{…}} inside a condition', () => {
    expect(evaluateCondition('{{status}} == ok', ctx)).toBe(false);
  });

  it('treats an unparsable condition as false', () => {
    expect(evaluateCondition('found', ctx)).toBe(false);
    expect(evaluateCondition('', ctx)).toBe(false);
  });

  it('never throws on arbitrary condition text', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (expr, other) => {
        const result = evaluateCondition(expr, { ...ctx, [other]: expr });
        return typeof result === 'boolean';
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on arbitrary JSON contexts', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('a == 1', 'a != x', 'a >= 2', 'a < 1', 'a contains b', 'a.b.c == null'),
        fc.jsonValue(),
        (expr, value) => typeof evaluateCondition(expr, { a: value as JsonObject[string] }) === 'boolean',
      ),
      { numRuns: 300 },
    );
  });
});
