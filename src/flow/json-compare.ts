/**
 * Equality and ordering of JSON values: deep equality (output assembly and the `eq`/`ne` helpers)
 * and handlebars-rs's `compare_json` ordering (`gt`, `gte`, `lt`, `lte`).
 */
import type { JsonValue } from './model.js';

/** Deep equality of JSON values (key order does not matter); `visited` counts the pairs compared. */
export function jsonEqual(a: JsonValue, b: JsonValue, visited?: { values: number }): boolean {
  if (visited !== undefined) visited.values++;
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i] as JsonValue, b[i] as JsonValue, visited)) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (!Object.hasOwn(b, k) || !jsonEqual(a[k] as JsonValue, b[k] as JsonValue, visited)) return false;
  }
  return true;
}

const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

function sign(n: number): -1 | 0 | 1 | undefined {
  if (Number.isNaN(n)) return undefined;
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/** handlebars-rs `compare_json`: numbers, strings (by code point), booleans, number vs numeric string. */
export function compareJson(a: JsonValue, b: JsonValue): -1 | 0 | 1 | undefined {
  if (typeof a === 'number' && typeof b === 'number') return sign(a - b);
  if (typeof a === 'string' && typeof b === 'string') return compareCodePoints(a, b);
  if (typeof a === 'boolean' && typeof b === 'boolean') return a === b ? 0 : a ? 1 : -1;
  if (typeof a === 'number' && typeof b === 'string') {
    return JSON_NUMBER.test(b) ? sign(a - Number(b)) : undefined;
  }
  if (typeof a === 'string' && typeof b === 'number') {
    return JSON_NUMBER.test(a) ? sign(Number(a) - b) : undefined;
  }
  return undefined;
}

function compareCodePoints(a: string, b: string): -1 | 0 | 1 {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done === true) return y.done === true ? 0 : -1;
    if (y.done === true) return 1;
    const cx = x.value.codePointAt(0) ?? 0;
    const cy = y.value.codePointAt(0) ?? 0;
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
}
