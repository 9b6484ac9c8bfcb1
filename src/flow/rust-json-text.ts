/**
 * How the upstream Rust runner turns JSON values into text. Routing conditions compare
 * `serde_json::Value::to_string()` output and Handlebars prints values through handlebars-rs, so
 * numbers must print the way Rust prints them (ryu) rather than the way JavaScript does.
 *
 * Known unavoidable gap: serde_json keeps `3.0` (a float) apart from `3` (an integer) and prints
 * `3.0`; JavaScript numbers cannot tell them apart, so integral values always print as integers.
 * Objects keep insertion order, as serde_json does with its `preserve_order` feature.
 */

import type { JsonValue } from './model.js';

/** serde_json `Number` display: integers in full, floats in ryu's shortest form (`1e-7`, `1e21`). */
export function rustNumberText(n: number): string {
  if (!Number.isFinite(n)) return 'null';
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return Object.is(n, -0) ? '0' : String(n);
  const abs = Math.abs(n);
  // ryu switches to exponent notation below 1e-5; JavaScript only below 1e-6.
  const text = abs < 1e-5 ? n.toExponential() : String(n);
  return text.replace('e+', 'e');
}

/** `serde_json::to_string` of a value: compact JSON, Rust number formatting; `printed` counts the values printed. */
export function rustJsonText(value: JsonValue, printed?: { values: number }): string {
  if (printed !== undefined) printed.values++;
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return rustNumberText(value);
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      break;
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += rustJsonText(value[i] as JsonValue, printed);
    }
    return `${out}]`;
  }
  let out = '{';
  let first = true;
  for (const key of Object.keys(value)) {
    if (!first) out += ',';
    first = false;
    out += `${JSON.stringify(key)}:${rustJsonText(value[key] as JsonValue, printed)}`;
  }
  return `${out}}`;
}

/**
 * `str::trim` in Rust strips Unicode White_Space, which differs from JavaScript's `trim` (JS also
 * strips U+FEFF, Rust also strips U+0085).
 */
const RUST_TRIM =
  /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

export function rustTrim(text: string): string {
  return text.replace(RUST_TRIM, '');
}

const RUST_FLOAT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)$/i;

/** Rust `str::parse::<f64>()`: no surrounding whitespace, no hex, `inf`/`nan` accepted. */
export function parseRustFloat(text: string): number | undefined {
  if (!RUST_FLOAT.test(text)) return undefined;
  const lower = text.toLowerCase();
  const body = lower.replace(/^[+-]/, '');
  if (body === 'nan') return Number.NaN;
  if (body === 'inf' || body === 'infinity') return lower.startsWith('-') ? -Infinity : Infinity;
  return Number(text);
}
