import { describe, expect, it } from 'vitest';
import { loadFlow } from './index.js';
import { DEFAULT_YAML_LIMITS, parseYamlSource } from './yaml-source.js';

const FILE = 'hostile.ygtc';

function yamlErrors(source: string): { message: string; line: number; col: number }[] {
  return loadFlow(source, { file: FILE })
    .diagnostics.filter((d) => d.code === 'Yaml')
    .map(({ message, line, col }) => ({ message, line, col }));
}

describe('YAML source: positions', () => {
  it('records line and column of keys and values by JSON pointer', () => {
    const parsed = parseYamlSource('id: x\nnodes:\n  ask:\n    routing:\n      - to: confirm\n', FILE);
    expect(parsed.map.locate('/nodes/ask/routing/0/to')).toEqual({ line: 5, col: 13 });
    expect(parsed.map.locate('/nodes/ask', 'key')).toEqual({ line: 3, col: 3 });
  });

  it('a pointer to a missing key falls back to its nearest ancestor', () => {
    const parsed = parseYamlSource('id: x\nnodes:\n  ask: { run: {} }\n', FILE);
    expect(parsed.map.locate('/nodes/ask/routing/3')).toEqual(parsed.map.locate('/nodes/ask'));
  });

  it('a "__proto__" key becomes a plain key, never the prototype', () => {
    const parsed = parseYamlSource('__proto__: { polluted: true }\n', FILE);
    const value = parsed.value as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('numeric keys become strings and .inf is rejected as not JSON', () => {
    expect(parseYamlSource('200: ok\n', FILE).value).toEqual({ '200': 'ok' });
    expect(parseYamlSource('x: .inf\n', FILE).diagnostics.map((d) => d.pointer)).toEqual(['/x']);
  });

  it('a second document in the stream is a Yaml error', () => {
    expect(yamlErrors('id: a\n---\nid: b\n')).toHaveLength(1);
  });
});

describe('YAML source: hostile input', () => {
  it('a duplicate key is rejected at the duplicate', () => {
    const [d, ...rest] = yamlErrors('id: demo\ntype: messaging\nnodes:\n  a: { run: {} }\n  a: { run: {} }\n');
    expect(rest).toEqual([]);
    expect(d?.message).toMatch(/duplicate mapping key/);
    expect([d?.line, d?.col]).toEqual([5, 3]);
  });

  it('an alias bomb (billion laughs) is rejected without expanding it', () => {
    let bomb = 'a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
    for (let i = 1; i < 10; i++)
      bomb += `a${i}: &a${i} [${Array(9)
        .fill(`*a${i - 1}`)
        .join(', ')}]\n`;
    const [d] = yamlErrors(bomb);
    expect(d?.message).toMatch(/expands to more than \d+ values|more than \d+ aliases/);
  });

  it('too many alias references are rejected', () => {
    const many = `x: &x 1\nlist: [${Array(DEFAULT_YAML_LIMITS.maxAliases + 1)
      .fill('*x')
      .join(', ')}]\n`;
    expect(yamlErrors(many)[0]?.message).toMatch(/more than 1000 aliases/);
  });

  it('a few small aliases are expanded normally', () => {
    const parsed = parseYamlSource('base: &b { k: 1 }\nuse: *b\n', FILE);
    expect(parsed.value).toEqual({ base: { k: 1 }, use: { k: 1 } });
  });

  it('an alias to an undefined anchor is a Yaml error', () => {
    expect(yamlErrors('x: *nope\n')).toHaveLength(1);
  });

  it('100,000 nested flow brackets are rejected before the parser recurses', () => {
    const n = 100_000;
    const [d] = yamlErrors(`a: ${'['.repeat(n)}${']'.repeat(n)}\n`);
    expect(d?.message).toBe('nesting deeper than 64 levels');
  });

  it('100,000 compact sequence indicators on one line are rejected', () => {
    expect(yamlErrors(`${'- '.repeat(100_000)}x\n`)[0]?.message).toBe('nesting deeper than 64 levels');
  });

  it('block nesting deeper than 64 levels is rejected', () => {
    let src = '';
    for (let i = 0; i < 70; i++) src += `${' '.repeat(i)}k:\n`;
    src += `${' '.repeat(70)}v\n`;
    expect(yamlErrors(src)[0]?.message).toMatch(/nesting deeper than 64 levels/);
  });

  it('nesting within the limit is accepted', () => {
    const parsed = parseYamlSource(`a: ${'['.repeat(60)}1${']'.repeat(60)}\n`, FILE);
    expect(parsed.diagnostics).toEqual([]);
  });

  it('a long single-line flow mapping is not mistaken for deep nesting', () => {
    const keys = Array.from({ length: 500 }, (_, i) => `k${i}: ${i}`).join(', ');
    expect(parseYamlSource(`m: { ${keys} }\n`, FILE).diagnostics).toEqual([]);
  });

  it('a document larger than 1 MiB is rejected before parsing', () => {
    const big = `id: x\npad: "${'x'.repeat(1024 * 1024)}"\n`;
    const [d] = yamlErrors(big);
    expect(d?.message).toMatch(/larger than 1048576 bytes/);
    expect([d?.line, d?.col]).toEqual([1, 1]);
  });

  it('the size limit counts UTF-8 bytes, not characters', () => {
    const text = `x: "${'é'.repeat(600_000)}"\n`;
    expect(text.length).toBeLessThan(1024 * 1024);
    expect(yamlErrors(text)[0]?.message).toMatch(/larger than/);
  });
});
