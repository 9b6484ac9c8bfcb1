/**
 * Routing conditions (`routing[].condition`), the tiny grammar of greentic-runner's
 * `evaluate_simple_condition`: `<dotted.path> <op> <literal>`. Its quirks are kept on purpose
 * because flows are written against them:
 * - the operator is the first of `==`, `!=`, `>=`, `<=`, `>`, `<`, ` contains ` that occurs
 *   anywhere in the text (so `a >= 1` is `>=`, and `x == "a>b"` is `==`);
 * - the literal is trimmed and then loses every leading/trailing `"` (not just one pair);
 * - `==`/`!=` compare ASCII-case-insensitively against the value's text (`null`, `true`, `42`,
 *   compact JSON for objects/arrays); an unresolved path never equals, so `!=` is then true;
 * - ordering operators parse both sides as Rust `f64` (the path side trimmed first) and are false
 *   when either side is not a number;
 * - `contains` is a Unicode-lowercased substring test;
 * - paths are dot-separated object keys only (no `[n]`), resolved from the context root.
 * No `&&`, `||`, parentheses or functions; `{{…}}` is not rendered.
 */

import type { JsonObject, JsonValue } from './model.js';
import { parseRustFloat, rustJsonText, rustNumberText, rustTrim } from './rust-json-text.js';
import { textUnits, WorkBudgetExceeded, type WorkMeter } from './work-meter.js';

export type ConditionOperator = '==' | '!=' | '>=' | '<=' | '>' | '<' | 'contains';

export interface ParsedCondition {
  path: string;
  op: ConditionOperator;
  /** The comparison text after trimming and quote stripping. */
  literal: string;
}

/** Detection order matters: it is the upstream order, and it is what makes `>=` win over `>`. */
const OPERATORS: readonly (readonly [string, ConditionOperator])[] = [
  ['==', '=='],
  ['!=', '!='],
  ['>=', '>='],
  ['<=', '<='],
  ['>', '>'],
  ['<', '<'],
  [' contains ', 'contains'],
];

const CACHE_LIMIT = 1024;

/** A parsed condition plus what evaluation needs, computed once per distinct condition text. */
interface CompiledCondition {
  parsed: ParsedCondition | { error: string };
  parts: string[];
  asciiLiteral: string;
  lowerLiteral: string;
  numericLiteral: number | undefined;
}

const compiledCache = new Map<string, CompiledCondition>();

function stripQuotes(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && text.charCodeAt(start) === 34) start++;
  while (end > start && text.charCodeAt(end - 1) === 34) end--;
  return text.slice(start, end);
}

function parseUncached(expr: string): ParsedCondition | { error: string } {
  for (const [token, op] of OPERATORS) {
    const at = expr.indexOf(token);
    if (at < 0) continue;
    return {
      path: rustTrim(expr.slice(0, at)),
      op,
      literal: stripQuotes(rustTrim(expr.slice(at + token.length))),
    };
  }
  return {
    error: `condition "${expr}" has no operator (expected one of ==, !=, >=, <=, >, <, contains)`,
  };
}

function compile(parsed: ParsedCondition | { error: string }): CompiledCondition {
  if ('error' in parsed) return { parsed, parts: [], asciiLiteral: '', lowerLiteral: '', numericLiteral: undefined };
  return {
    parsed,
    parts: parsed.path.split('.'),
    asciiLiteral: asciiLower(parsed.literal),
    lowerLiteral: parsed.literal.toLowerCase(),
    numericLiteral: parseRustFloat(parsed.literal),
  };
}

function compiled(expr: string): CompiledCondition {
  const cached = compiledCache.get(expr);
  if (cached !== undefined) return cached;
  const result = compile(parseUncached(expr));
  if (compiledCache.size >= CACHE_LIMIT) {
    const oldest = compiledCache.keys().next().value;
    if (oldest !== undefined) compiledCache.delete(oldest);
  }
  compiledCache.set(expr, result);
  return result;
}

/** Splits a condition; `{error}` only when no operator occurs (such a condition is false). */
export function parseCondition(expr: string): ParsedCondition | { error: string } {
  return compiled(expr).parsed;
}

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * `resolve_dotted_path`: split on `.`, object keys only, value rendered as serde_json text.
 * `printed` counts the values an object or array value printed.
 */
function resolveConditionText(ctx: JsonObject, parts: readonly string[], printed: { values: number }): string | undefined {
  let current: JsonValue = ctx;
  for (const part of parts) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    if (!hasOwn.call(current, part)) return undefined;
    current = current[part] as JsonValue;
  }
  if (typeof current === 'string') return current;
  if (typeof current === 'number') return rustNumberText(current);
  return rustJsonText(current, printed);
}

const ASCII_UPPER = /[A-Z]/;

function asciiLower(text: string): string {
  return ASCII_UPPER.test(text) ? text.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : text;
}

function compareNumbers(op: ConditionOperator, a: number, b: number): boolean {
  switch (op) {
    case '>=':
      return a >= b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    default:
      return a < b;
  }
}

function evaluateCompiled(c: CompiledCondition, condition: ParsedCondition, ctx: JsonObject, meter?: WorkMeter): boolean {
  const printed = { values: 0 };
  const actual = resolveConditionText(ctx, c.parts, printed);
  // The value is printed, lowercased and searched: a condition on a large value costs by its text and values.
  meter?.charge(1 + printed.values + textUnits(actual?.length ?? 0), 'evaluating a route condition');
  switch (condition.op) {
    case '==':
    case '!=': {
      const equal = actual !== undefined && asciiLower(actual) === c.asciiLiteral;
      return condition.op === '==' ? equal : !equal;
    }
    case 'contains':
      return actual?.toLowerCase().includes(c.lowerLiteral) ?? false;
    default: {
      if (actual === undefined || c.numericLiteral === undefined) return false;
      const left = parseRustFloat(rustTrim(actual));
      if (left === undefined) return false;
      return compareNumbers(condition.op, left, c.numericLiteral);
    }
  }
}

/** Evaluates an already parsed condition against a routing context. */
export function evaluateParsedCondition(condition: ParsedCondition, ctx: JsonObject): boolean {
  return evaluateCompiled(compile(condition), condition, ctx);
}

/**
 * True when the condition holds. Throws only `WorkBudgetExceeded`, when `meter` (the turn's work
 * budget) runs out: an unparsable condition is false (callers that want to log it use
 * `parseCondition` first).
 */
export function evaluateCondition(expr: string, ctx: JsonObject, meter?: WorkMeter): boolean {
  try {
    const c = compiled(expr);
    if ('error' in c.parsed) return false;
    return evaluateCompiled(c, c.parsed, ctx, meter);
  } catch (err) {
    if (err instanceof WorkBudgetExceeded) throw err;
    // Only reachable through pathological values (e.g. nesting deep enough to exhaust the stack
    // while printing them); upstream cannot receive those, so false is the safe answer.
    return false;
  }
}
