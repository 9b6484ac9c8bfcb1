/**
 * Value lookups used by runtime templating: the runner's typed path grammar (`a.b[0]["k"]`) and
 * RFC 6901 JSON pointers. Both follow greentic-runner's `templating.rs` (path) and serde_json's
 * `Value::pointer` (pointer) character for character, including their leniencies.
 */

import type { JsonValue } from './model.js';
import { rustTrim } from './rust-json-text.js';

export type PathSegment = { readonly key: string } | { readonly index: number };

export interface LookupResult {
  found: boolean;
  value: JsonValue;
}

const NOT_FOUND: LookupResult = Object.freeze({ found: false, value: null }) as LookupResult;

const hasOwn = Object.prototype.hasOwnProperty;

/** The largest `usize` on the 64-bit hosts the runner ships for; longer indexes fail to parse. */
const USIZE_MAX = '18446744073709551615';

function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '9';
}

function isRustWhitespace(ch: string): boolean {
  return rustTrim(ch) === '';
}

/**
 * Parses the runner's path grammar: dot-separated identifiers, `[n]` indexes, `["k"]`/`['k']`
 * quoted keys, `[k]` bare keys; a leading `this` segment is dropped. Identifiers run until `.`,
 * `[` or `]` and are trimmed, so they may contain spaces or other punctuation (upstream quirk).
 * Returns `null` when the text is not a path (then the runner hands it to Handlebars).
 */
export function parsePath(expr: string): PathSegment[] | null {
  const text = rustTrim(expr);
  const segments: PathSegment[] = [];
  let i = 0;

  const readIdentifier = (): string | null => {
    const start = i;
    while (i < text.length) {
      const ch = text[i];
      if (ch === '.' || ch === '[' || ch === ']') break;
      i++;
    }
    const ident = rustTrim(text.slice(start, i));
    return ident === '' ? null : ident;
  };

  const consumeBracketEnd = (): boolean => {
    while (i < text.length) {
      const ch = text[i] as string;
      i++;
      if (ch === ']') return true;
      if (!isRustWhitespace(ch)) return false;
    }
    return false;
  };

  while (i < text.length) {
    const ch = text[i];
    if (ch === '.') {
      i++;
      continue;
    }
    if (ch === '[') {
      i++;
      const next = text[i];
      if (next === undefined) return null;
      if (next === '"' || next === "'") {
        i++;
        const close = text.indexOf(next, i);
        // An unterminated quote swallows the rest, leaving no closing bracket.
        if (close < 0) return null;
        const key = text.slice(i, close);
        i = close + 1;
        if (!consumeBracketEnd()) return null;
        segments.push({ key });
      } else if (isDigit(next)) {
        const start = i;
        while (isDigit(text[i])) i++;
        const digits = text.slice(start, i);
        if (!consumeBracketEnd()) return null;
        const trimmed = digits.replace(/^0+(?=\d)/, '');
        if (trimmed.length > USIZE_MAX.length || (trimmed.length === USIZE_MAX.length && trimmed > USIZE_MAX)) {
          return null;
        }
        segments.push({ index: Number(trimmed) });
      } else {
        const ident = readIdentifier();
        if (ident === null || !consumeBracketEnd()) return null;
        segments.push({ key: ident });
      }
      continue;
    }
    const ident = readIdentifier();
    if (ident === null) return null;
    segments.push({ key: ident });
  }
  if (segments.length === 0) return null;
  const head = segments[0];
  if (head !== undefined && 'key' in head && head.key === 'this') segments.shift();
  return segments;
}

/** Walks parsed segments; keys only match objects and indexes only match arrays, as upstream. */
export function resolveSegments(root: JsonValue | undefined, segments: readonly PathSegment[]): LookupResult {
  if (root === undefined) return NOT_FOUND;
  let current: JsonValue = root;
  for (const segment of segments) {
    if ('key' in segment) {
      if (current === null || typeof current !== 'object' || Array.isArray(current)) return NOT_FOUND;
      if (!hasOwn.call(current, segment.key)) return NOT_FOUND;
      current = current[segment.key] as JsonValue;
    } else {
      if (!Array.isArray(current) || segment.index >= current.length) return NOT_FOUND;
      current = current[segment.index] as JsonValue;
    }
  }
  return { found: true, value: current };
}

/** Typed lookup of `path` in `root`; `{found: false, value: null}` when missing or unparsable. */
export function lookupPath(root: JsonValue | undefined, path: string): LookupResult {
  const segments = parsePath(path);
  if (segments === null) return NOT_FOUND;
  return resolveSegments(root, segments);
}

/** serde_json rejects `+1` and leading zeros in array indexes. */
function pointerIndex(token: string): number | undefined {
  if (!/^\d+$/.test(token) || (token.length > 1 && token.startsWith('0'))) return undefined;
  return Number(token);
}

/** RFC 6901 lookup with serde_json's `Value::pointer` rules (`""` is the root). */
export function resolvePointer(root: JsonValue, pointer: string): LookupResult {
  if (pointer === '') return { found: true, value: root };
  if (!pointer.startsWith('/')) return NOT_FOUND;
  let current: JsonValue = root;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(current)) {
      const index = pointerIndex(token);
      if (index === undefined || index >= current.length) return NOT_FOUND;
      current = current[index] as JsonValue;
    } else if (current !== null && typeof current === 'object') {
      if (!hasOwn.call(current, token)) return NOT_FOUND;
      current = current[token] as JsonValue;
    } else {
      return NOT_FOUND;
    }
  }
  return { found: true, value: current };
}
