import { describe, expect, it } from 'vitest';
import { parseRustFloat, rustJsonText, rustNumberText, rustTrim } from './rust-json-text.js';

describe('rustNumberText', () => {
  it('prints integers in full and floats in ryu shortest form', () => {
    expect(rustNumberText(42)).toBe('42');
    expect(rustNumberText(-7)).toBe('-7');
    expect(rustNumberText(0.1)).toBe('0.1');
    expect(rustNumberText(0.00001)).toBe('0.00001');
    expect(rustNumberText(0.000001)).toBe('1e-6');
    expect(rustNumberText(1.5e-7)).toBe('1.5e-7');
    expect(rustNumberText(1e21)).toBe('1e21');
    expect(rustNumberText(123456789012345680000)).toBe('123456789012345680000');
  });
});

describe('rustJsonText', () => {
  it('is compact JSON in insertion order with Rust numbers', () => {
    expect(rustJsonText({ b: [1, 'x', null, true], a: { c: 1e-7 } })).toBe('{"b":[1,"x",null,true],"a":{"c":1e-7}}');
    expect(rustJsonText('line\nbreak "q"')).toBe('"line\\nbreak \\"q\\""');
  });
});

describe('parseRustFloat', () => {
  it('accepts what Rust f64::from_str accepts and nothing else', () => {
    expect(parseRustFloat('1.')).toBe(1);
    expect(parseRustFloat('.5')).toBe(0.5);
    expect(parseRustFloat('+2e3')).toBe(2000);
    expect(parseRustFloat('-inf')).toBe(-Infinity);
    expect(parseRustFloat('NaN')).toBeNaN();
    for (const bad of ['', ' 1', '1 ', '0x10', '1_000', '.', 'e5', '1e', 'Infinit']) {
      expect(parseRustFloat(bad), bad).toBeUndefined();
    }
  });
});

describe('rustTrim', () => {
  it('trims Unicode White_Space but not the byte-order mark', () => {
    expect(rustTrim('\u00a0 x \u0085')).toBe('x');
    expect(rustTrim('\ufeffx')).toBe('\ufeffx');
  });
});
