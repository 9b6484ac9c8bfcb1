/**
 * How handlebars-rs sees a JSON value: how it prints inside a rendered string, whether it is
 * truthy, how a key is looked up in it, and the helpers that only look at values (`lookup`, `len`,
 * the comparisons and the logic operators).
 */
import { compareJson, jsonEqual } from './json-compare.js';
import type { JsonValue } from './model.js';
import { rustNumberText } from './rust-json-text.js';
import { warn } from './template-limits.js';

/** A looked-up value; `undefined` is "not found", which renders empty (unlike `null`). */
export type Value = JsonValue | undefined;

const hasOwn = Object.prototype.hasOwnProperty;

/** handlebars-rs `JsonRender`: how a value prints inside a rendered string. */
export function displayText(value: JsonValue): string {
  if (value === null) return '';
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
      return rustNumberText(value);
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      break;
  }
  if (Array.isArray(value)) return `[${value.map((item) => displayText(item)).join(', ')}]`;
  return '[object]';
}

/** handlebars-rs `is_truthy`: empty arrays and objects are falsy; 0 only with `includeZero`. */
export function truthy(value: Value, includeZero = false): boolean {
  if (value === undefined || value === null) return false;
  switch (typeof value) {
    case 'boolean':
      return value;
    case 'number':
      return includeZero ? !Number.isNaN(value) : value !== 0 && Number.isFinite(value);
    case 'string':
      return value !== '';
    default:
      break;
  }
  if (Array.isArray(value)) return value.length > 0;
  return Object.keys(value).length > 0;
}

export function lookupKey(base: Value, key: string): Value {
  if (base === undefined || base === null || typeof base !== 'object') return undefined;
  if (Array.isArray(base)) {
    if (!/^\d+$/.test(key)) return undefined;
    return base[Number(key)];
  }
  return hasOwn.call(base, key) ? base[key] : undefined;
}

export function lookupHelper(base: Value, key: Value): Value {
  if (base === undefined || base === null || typeof base !== 'object') return undefined;
  if (Array.isArray(base)) {
    if (typeof key === 'number' && Number.isInteger(key) && key >= 0) return base[key];
    if (typeof key === 'string' && /^\d+$/.test(key)) return base[Number(key)];
    return undefined;
  }
  if (typeof key === 'string') return hasOwn.call(base, key) ? base[key] : undefined;
  return undefined;
}

export function lenHelper(value: Value): JsonValue {
  if (Array.isArray(value)) return value.length;
  if (typeof value === 'string') return utf8Length(value);
  if (value !== null && typeof value === 'object') return Object.keys(value).length;
  return 0;
}

/** Rust `str::len` counts UTF-8 bytes. */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** The comparison and logic helpers (`eq`, `ne`, `gt`, `gte`, `lt`, `lte`, `and`, `or`, `not`). */
export function booleanHelper(name: string, args: Value[], warnings: string[] | undefined): boolean {
  const need = name === 'not' ? 1 : name === 'and' || name === 'or' ? 0 : 2;
  if (args.length < need) {
    warn(warnings, `template helper "${name}" needs ${need} parameter(s)`);
    return false;
  }
  const a = args[0] ?? null;
  const b = args[1] ?? null;
  switch (name) {
    case 'eq':
      return jsonEqual(a, b);
    case 'ne':
      return !jsonEqual(a, b);
    case 'gt':
      return compareJson(a, b) === 1;
    case 'gte': {
      const c = compareJson(a, b);
      return c !== undefined && c !== -1;
    }
    case 'lt':
      return compareJson(a, b) === -1;
    case 'lte': {
      const c = compareJson(a, b);
      return c !== undefined && c !== 1;
    }
    case 'and':
      return args.every((v) => truthy(v));
    case 'or':
      return args.some((v) => truthy(v));
    default:
      return !truthy(a);
  }
}
