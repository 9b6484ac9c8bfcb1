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

/**
 * Where tests and helpers whose cost grows with their arguments (truthiness or `len` of an object
 * with many keys, `eq` of two large trees, `len` or `gt` of long strings) add evaluation steps:
 * one per key or value they list or compare, one per 16 characters they scan. Small arguments add
 * none.
 */
export interface StepCounter {
  steps: number;
}

const CHARS_PER_STEP = 16;
/** Below this many keys or values the work is part of the step that asked for it. */
const FREE_VALUES = 8;

function addValues(counter: StepCounter | undefined, values: number): void {
  if (counter !== undefined && values > FREE_VALUES) counter.steps += values;
}

function addChars(counter: StepCounter | undefined, chars: number): void {
  if (counter !== undefined && chars >= CHARS_PER_STEP) counter.steps += Math.floor(chars / CHARS_PER_STEP);
}

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
export function truthy(value: Value, includeZero = false, counter?: StepCounter): boolean {
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
  // JavaScript has no constant-time emptiness test for an object: every key is listed.
  const keys = Object.keys(value).length;
  addValues(counter, keys);
  return keys > 0;
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

export function lenHelper(value: Value, counter?: StepCounter): JsonValue {
  if (Array.isArray(value)) return value.length;
  if (typeof value === 'string') {
    addChars(counter, value.length);
    return utf8Length(value);
  }
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).length;
    addValues(counter, keys);
    return keys;
  }
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
export function booleanHelper(name: string, args: Value[], warnings: string[] | undefined, counter?: StepCounter): boolean {
  const need = name === 'not' ? 1 : name === 'and' || name === 'or' ? 0 : 2;
  if (args.length < need) {
    warn(warnings, `template helper "${name}" needs ${need} parameter(s)`);
    return false;
  }
  const a = args[0] ?? null;
  const b = args[1] ?? null;
  if (typeof a === 'string' && typeof b === 'string') addChars(counter, Math.min(a.length, b.length));
  switch (name) {
    case 'eq':
    case 'ne': {
      const visited = { values: 0 };
      const equal = jsonEqual(a, b, visited);
      addValues(counter, visited.values);
      return name === 'eq' ? equal : !equal;
    }
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
      return args.every((v) => truthy(v, false, counter));
    case 'or':
      return args.some((v) => truthy(v, false, counter));
    default:
      return !truthy(a, false, counter);
  }
}
