/**
 * Runtime node-input templating, as greentic-runner's `templating.rs` does it (reference §1.4a):
 * every string in a node's input mapping is rendered against the template context.
 *
 * - A string that is exactly one `{{ path }}` is a typed lookup: the value keeps its JSON type;
 *   a missing path gives `""` and a warning, never null and never an error.
 * - Any other string containing `{{` is rendered by Handlebars (non-strict, no HTML escaping)
 *   and yields a string.
 * - Other strings pass through verbatim; with `allowPointer`, a string starting with `/` is an
 *   RFC 6901 pointer instead (missing pointer → `TemplateError` `PointerNotFound`).
 *
 * workerd forbids `eval`/`new Function`, so templates are parsed with `@handlebars/parser` and
 * the AST is interpreted here. Output follows handlebars-rs (the runner's engine), not
 * Handlebars.js: objects print as `[object]`, arrays as `[a, b]`, null as empty, numbers the way
 * Rust prints them; empty objects are falsy; the built-in helpers are handlebars-rs's (`if`,
 * `unless`, `each`, `with`, `lookup`, `raw`, `log`, `eq`, `ne`, `gt`, `gte`, `lt`, `lte`, `and`,
 * `or`, `not`, `len`). No partials are registered, as in the runner.
 *
 * Errors: `renderValue`/`renderString` throw only `TemplateError` — `TemplateSyntax` for a
 * template that does not parse (handlebars-rs fails the node then, and so should the executor),
 * `TemplateLimit` when a template exceeds the output/step/nesting bounds below, and
 * `PointerNotFound` as described above. Unknown helpers and missing partials render empty with a
 * warning where handlebars-rs would fail the render (see docs/compat.md).
 */

import { type AST, parse } from '@handlebars/parser';
import type { JsonObject, JsonValue } from './model.js';
import { type PathSegment, parsePath, resolvePointer, resolveSegments } from './path.js';
import { rustNumberText, rustTrim } from './rust-json-text.js';

export type TemplateErrorCode = 'TemplateSyntax' | 'TemplateLimit' | 'PointerNotFound';

export class TemplateError extends Error {
  readonly code: TemplateErrorCode;
  /** The template text (shortened) the error is about. */
  readonly template: string;
  /** 1-based position inside the template, when the parser reported one. */
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(code: TemplateErrorCode, message: string, template: string, line?: number, column?: number) {
    super(message);
    this.name = 'TemplateError';
    this.code = code;
    this.template = template.length > 200 ? `${template.slice(0, 200)}…` : template;
    this.line = line;
    this.column = column;
  }
}

export interface TemplateContext {
  entry: JsonValue;
  in: JsonValue;
  prev: JsonValue;
  node: JsonObject;
  state: JsonValue;
  vars: JsonObject;
  now: JsonObject;
  [extra: string]: JsonValue;
}

export interface RenderOptions {
  /** Pointer-allowed spots (`vars_out`, `var.set` values, `provider.invoke` maps). */
  allowPointer?: boolean;
}

/** Bounds that keep a hostile template from exhausting a Worker's CPU or memory. */
export const TEMPLATE_LIMITS = Object.freeze({
  maxOutputChars: 1024 * 1024,
  maxSteps: 1_000_000,
  maxNesting: 64,
  maxValueDepth: 256,
  maxWarnings: 100,
  cacheEntries: 512,
  cacheMaxTemplateChars: 64 * 1024,
});

// ---------------------------------------------------------------------------------------------
// Warnings

function warn(warnings: string[] | undefined, message: string): void {
  if (warnings === undefined) return;
  if (warnings.length < TEMPLATE_LIMITS.maxWarnings) warnings.push(message);
  else if (warnings.length === TEMPLATE_LIMITS.maxWarnings) warnings.push('further template warnings suppressed');
}

// ---------------------------------------------------------------------------------------------
// Bounded caches (templates repeat across every run of a flow, so parse once)

class BoundedCache<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly limit: number) {}

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  set(key: string, value: V): void {
    if (key.length > TEMPLATE_LIMITS.cacheMaxTemplateChars) return;
    if (this.map.size >= this.limit) {
      const oldest = this.map.keys().next().value;
      if (oldest !== undefined) this.map.delete(oldest);
    }
    this.map.set(key, value);
  }
}

interface ExactExpression {
  expr: string;
  segments: PathSegment[];
}

/**
 * `{{lookup obj key}}` alone in a string parses as a (missing) path upstream and so always gives
 * `""`; when the "path" is really a call of a built-in helper it is rendered instead (deviation,
 * see docs/compat.md). Keys containing spaces still resolve first, as upstream.
 */
const HELPER_CALL = /^(?:lookup|eq|ne|gt|gte|lt|lte|and|or|not|len)\s/;

const exactCache = new BoundedCache<ExactExpression | null>(TEMPLATE_LIMITS.cacheEntries);
const programCache = new BoundedCache<AST.Program | TemplateError>(TEMPLATE_LIMITS.cacheEntries);

/**
 * Upstream's `extract_exact_expression` + `parse_path_expression`: the trimmed string starts with
 * `{{` and ends with `}}`, all surrounding braces are dropped and the rest must parse as a path.
 * Deliberate deviation: when the inner text still contains `{{` or `}}` (several expressions, or
 * a block like `{{#each xs}}…{{/each}}`) it is rendered by Handlebars instead of being looked up
 * as one nonsense key, which upstream always resolves to `""`.
 */
function exactExpression(raw: string): ExactExpression | null {
  const cached = exactCache.get(raw);
  if (cached !== undefined) return cached;
  let result: ExactExpression | null = null;
  const trimmed = rustTrim(raw);
  if (trimmed.startsWith('{{') && trimmed.endsWith('}}')) {
    let start = 0;
    let end = trimmed.length;
    while (start < end && trimmed.charCodeAt(start) === 123) start++;
    while (end > start && trimmed.charCodeAt(end - 1) === 125) end--;
    const inner = rustTrim(trimmed.slice(start, end));
    if (inner !== '' && !inner.includes('{{') && !inner.includes('}}')) {
      const segments = parsePath(inner);
      if (segments !== null) result = { expr: inner, segments };
    }
  }
  exactCache.set(raw, result);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Public API

/** `now` as the runner exposes it: sampled once per node. */
export function nowView(date: Date): JsonObject {
  const iso = date.toISOString();
  return { iso, epoch_ms: date.getTime(), date: iso.slice(0, 10) };
}

/**
 * Renders a node input mapping. Objects and arrays are rebuilt (the input is never mutated and
 * typed inserts are copies), non-string scalars are returned as they are.
 */
export function renderValue(value: JsonValue, ctx: TemplateContext | JsonObject, warnings?: string[], options?: RenderOptions): JsonValue {
  try {
    return renderValueAt(value, ctx, warnings, options?.allowPointer === true, 0);
  } catch (err) {
    throw asTemplateError(err, typeof value === 'string' ? value : '');
  }
}

/** Renders one string with Handlebars (no typed lookup); strings without `{{` come back as is. */
export function renderString(template: string, ctx: JsonObject, warnings?: string[]): string {
  if (!template.includes('{{')) return template;
  try {
    return renderHandlebars(template, ctx, warnings);
  } catch (err) {
    throw asTemplateError(err, template);
  }
}

/** Parses (and caches) a template; throws `TemplateError` `TemplateSyntax` when it is invalid. */
export function compileTemplate(template: string): AST.Program {
  const cached = programCache.get(template);
  if (cached !== undefined) {
    if (cached instanceof TemplateError) throw cached;
    return cached;
  }
  let result: AST.Program | TemplateError;
  try {
    result = parseTemplate(template);
  } catch (err) {
    result = asTemplateError(err, template);
  }
  programCache.set(template, result);
  if (result instanceof TemplateError) throw result;
  return result;
}

// ---------------------------------------------------------------------------------------------
// Value walking

function renderValueAt(value: JsonValue, ctx: JsonObject, warnings: string[] | undefined, allowPointer: boolean, depth: number): JsonValue {
  if (typeof value === 'string') return renderTemplateString(value, ctx, warnings, allowPointer);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= TEMPLATE_LIMITS.maxValueDepth) {
    throw new TemplateError('TemplateLimit', `input mapping nests deeper than ${TEMPLATE_LIMITS.maxValueDepth} levels`, '');
  }
  if (Array.isArray(value)) {
    const out: JsonValue[] = new Array<JsonValue>(value.length);
    for (let i = 0; i < value.length; i++) {
      out[i] = renderValueAt(value[i] as JsonValue, ctx, warnings, allowPointer, depth + 1);
    }
    return out;
  }
  const out: JsonObject = {};
  for (const key of Object.keys(value)) {
    setKey(out, key, renderValueAt(value[key] as JsonValue, ctx, warnings, allowPointer, depth + 1));
  }
  return out;
}

/** A plain assignment of `__proto__` would change the prototype instead of adding the key. */
function setKey(target: JsonObject, key: string, value: JsonValue): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

function cloneJson(value: JsonValue, depth = 0): JsonValue {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= TEMPLATE_LIMITS.maxValueDepth) {
    throw new TemplateError('TemplateLimit', `value nests deeper than ${TEMPLATE_LIMITS.maxValueDepth} levels`, '');
  }
  if (Array.isArray(value)) return value.map((item) => cloneJson(item, depth + 1));
  const out: JsonObject = {};
  for (const key of Object.keys(value)) setKey(out, key, cloneJson(value[key] as JsonValue, depth + 1));
  return out;
}

function renderTemplateString(raw: string, ctx: JsonObject, warnings: string[] | undefined, allowPointer: boolean): JsonValue {
  const hasMustache = raw.includes('{{');
  if (allowPointer && !hasMustache && raw.startsWith('/')) {
    const hit = resolvePointer(ctx, raw);
    if (!hit.found) throw new TemplateError('PointerNotFound', `mapping path \`${raw}\` not found`, raw);
    return cloneJson(hit.value);
  }
  if (!hasMustache) return raw;
  const exact = exactExpression(raw);
  if (exact !== null) {
    const hit = resolveSegments(ctx, exact.segments);
    if (hit.found) return cloneJson(hit.value);
    if (!HELPER_CALL.test(exact.expr)) {
      warn(warnings, `template expression resolved to empty (path not found): ${exact.expr}`);
      return '';
    }
  }
  return renderHandlebars(raw, ctx, warnings);
}

function asTemplateError(err: unknown, template: string): TemplateError {
  if (err instanceof TemplateError) return err;
  // Anything else escaping the interpreter is the JS engine giving up on sheer size (a stack
  // overflow on absurd nesting); report it as a limit so callers only ever see TemplateError.
  const message = err instanceof Error ? err.message : String(err);
  return new TemplateError('TemplateLimit', `template rendering exceeded engine limits: ${message}`, template);
}

// ---------------------------------------------------------------------------------------------
// Parsing

interface ParserError {
  message: string;
  lineNumber?: number;
  column?: number;
  hash?: { loc?: { first_line?: number; first_column?: number } };
}

function syntaxError(err: unknown, template: string): TemplateError {
  if (err instanceof RangeError) {
    return new TemplateError('TemplateLimit', `template nests too deeply to parse`, template);
  }
  const e = (err ?? {}) as ParserError;
  const line = e.lineNumber ?? e.hash?.loc?.first_line;
  const column = e.column ?? e.hash?.loc?.first_column;
  const message = typeof e.message === 'string' ? e.message : String(err);
  return new TemplateError(
    'TemplateSyntax',
    `template syntax error: ${message}`,
    template,
    line,
    column === undefined ? undefined : column + 1,
  );
}

/**
 * handlebars-rs accepts numeric path segments (`{{items.0.name}}`) that the Handlebars.js
 * grammar rejects; when a template fails to parse, retry once with such segments bracketed
 * (`items.[0].name`), which means the same thing to both.
 */
function bracketNumericSegments(template: string): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{{', i);
    if (open < 0) {
      out += template.slice(i);
      break;
    }
    const close = template.indexOf('}}', open + 2);
    if (close < 0 || template[open + 2] === '!') {
      const end = close < 0 ? template.length : close + 2;
      out += template.slice(i, end);
      i = end;
      continue;
    }
    out += template.slice(i, open);
    out += rewriteTag(template.slice(open, close + 2));
    i = close + 2;
  }
  return out;
}

function rewriteTag(tag: string): string {
  let out = '';
  let quote: string | null = null;
  let tokenStart = 0;
  for (let i = 0; i < tag.length; i++) {
    const ch = tag[i] as string;
    if (quote !== null) {
      out += ch;
      if (ch === quote) quote = null;
      continue;
    }
    if (ch === '"' || ch === "'") {
      quote = ch;
      out += ch;
      continue;
    }
    if (/[\s(=|{}~#/^>&]/.test(ch) && !(ch === '/' && i > tokenStart)) {
      out += ch;
      tokenStart = i + 1;
      continue;
    }
    const firstOfToken = tag[tokenStart] ?? '';
    const numericToken = /[-\d]/.test(firstOfToken);
    if (ch === '.' && !numericToken && i > tokenStart && /\d/.test(tag[i + 1] ?? '')) {
      let j = i + 1;
      while (j < tag.length && /\d/.test(tag[j] as string)) j++;
      const next = tag[j] ?? '';
      if (next === '' || /[\s.)}~]/.test(next)) {
        out += `.[${tag.slice(i + 1, j)}]`;
        i = j - 1;
        continue;
      }
    }
    out += ch;
  }
  return out;
}

function parseTemplate(template: string): AST.Program {
  try {
    return parse(template);
  } catch (first) {
    if (first instanceof RangeError) throw syntaxError(first, template);
    const rewritten = bracketNumericSegments(template);
    if (rewritten !== template) {
      try {
        return parse(rewritten);
      } catch {
        // Report the error for the text the author wrote.
      }
    }
    throw syntaxError(first, template);
  }
}

// ---------------------------------------------------------------------------------------------
// Interpretation

/** Loosely typed view of parser nodes: the published AST types omit a few runtime fields. */
type PathNode = AST.PathExpression & { this?: boolean };
type Value = JsonValue | undefined;

interface DataVars {
  index?: number;
  key?: string | number;
  first?: boolean;
  last?: boolean;
}

interface Frame {
  context: Value;
  /** The enclosing context-changing frame (`../`). */
  parent: Frame | null;
  data: DataVars;
  params: Map<string, JsonValue> | null;
}

interface RenderState {
  root: JsonObject;
  out: string;
  steps: number;
  nesting: number;
  warnings: string[] | undefined;
  template: string;
}

function renderHandlebars(template: string, ctx: JsonObject, warnings: string[] | undefined): string {
  const program = compileTemplate(template);
  const state: RenderState = { root: ctx, out: '', steps: 0, nesting: 0, warnings, template };
  const frame: Frame = { context: ctx, parent: null, data: {}, params: null };
  renderProgram(program, frame, state);
  return state.out;
}

function limit(state: RenderState, message: string): never {
  throw new TemplateError('TemplateLimit', message, state.template);
}

function emit(state: RenderState, text: string): void {
  if (text === '') return;
  state.out += text;
  if (state.out.length > TEMPLATE_LIMITS.maxOutputChars) {
    limit(state, `template output exceeds ${TEMPLATE_LIMITS.maxOutputChars} characters`);
  }
}

function step(state: RenderState): void {
  state.steps++;
  if (state.steps > TEMPLATE_LIMITS.maxSteps) {
    limit(state, `template needs more than ${TEMPLATE_LIMITS.maxSteps} evaluation steps`);
  }
}

function renderProgram(program: AST.Program | undefined, frame: Frame, state: RenderState): void {
  if (program === undefined) return;
  state.nesting++;
  if (state.nesting > TEMPLATE_LIMITS.maxNesting) {
    limit(state, `template blocks nest deeper than ${TEMPLATE_LIMITS.maxNesting} levels`);
  }
  for (const statement of program.body) {
    step(state);
    renderStatement(statement, frame, state);
  }
  state.nesting--;
}

function renderStatement(statement: AST.Statement, frame: Frame, state: RenderState): void {
  switch (statement.type) {
    case 'ContentStatement':
      emit(state, (statement as AST.ContentStatement).value);
      return;
    case 'CommentStatement':
      return;
    case 'MustacheStatement':
      renderMustache(statement as AST.MustacheStatement, frame, state);
      return;
    case 'BlockStatement':
      renderBlock(statement as AST.BlockStatement, frame, state);
      return;
    case 'PartialStatement':
      warn(state.warnings, `partial ${describe((statement as AST.PartialStatement).name)} is not registered; rendered empty`);
      return;
    case 'PartialBlockStatement':
      // A missing partial falls back to the block's own content, as in Handlebars.
      renderProgram((statement as AST.PartialBlockStatement).program, frame, state);
      return;
    default:
      warn(state.warnings, `template ${statement.type} is not supported; rendered empty`);
  }
}

function describe(node: AST.Expression | AST.PathExpression | AST.SubExpression): string {
  if (node.type === 'PathExpression') return (node as AST.PathExpression).original;
  if (node.type === 'SubExpression') return `(${describe((node as AST.SubExpression).path)} …)`;
  const literal = node as AST.StringLiteral;
  return String(literal.original ?? node.type);
}

/** A helper name is a bare identifier: no `this.`, `../`, `@` or dots. */
function simpleName(path: AST.Expression): string | null {
  if (path.type !== 'PathExpression') return null;
  const p = path as PathNode;
  if (p.data || p.depth !== 0 || p.this === true || p.parts.length !== 1) return null;
  const head = p.parts[0];
  return typeof head === 'string' ? head : null;
}

function hasArguments(node: { params: AST.Expression[]; hash?: AST.Hash }): boolean {
  return node.params.length > 0 || (node.hash !== undefined && node.hash.pairs.length > 0);
}

function renderMustache(node: AST.MustacheStatement, frame: Frame, state: RenderState): void {
  let value: Value;
  if (node.path.type === 'PathExpression' && !hasArguments(node)) {
    value = lookup(node.path as PathNode, frame, state);
  } else if (node.path.type === 'PathExpression' || node.path.type === 'SubExpression') {
    value = callExpression(node.path as AST.PathExpression | AST.SubExpression, node.params, node.hash, frame, state);
    if (value === undefined) return;
  } else {
    // `{{"some key"}}` names a context key, as in Handlebars.
    const literal = node.path as AST.Literal & { value?: unknown };
    value = literal.type === 'UndefinedLiteral' ? undefined : lookupKey(frame.context, String(literal.value));
  }
  if (value === undefined) {
    warn(state.warnings, `template value not found: ${describe(node.path)}`);
    return;
  }
  emit(state, displayText(value));
}

/** handlebars-rs `JsonRender`: how a value prints inside a rendered string. */
function displayText(value: JsonValue): string {
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
function truthy(value: Value, includeZero = false): boolean {
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

const hasOwn = Object.prototype.hasOwnProperty;

function lookupKey(base: Value, key: string): Value {
  if (base === undefined || base === null || typeof base !== 'object') return undefined;
  if (Array.isArray(base)) {
    if (!/^\d+$/.test(key)) return undefined;
    return base[Number(key)];
  }
  return hasOwn.call(base, key) ? base[key] : undefined;
}

function walk(base: Value, parts: readonly (string | AST.SubExpression)[], from: number): Value {
  let current = base;
  for (let i = from; i < parts.length && current !== undefined; i++) {
    const part = parts[i];
    current = typeof part === 'string' ? lookupKey(current, part) : undefined;
  }
  return current;
}

function frameAt(frame: Frame, depth: number): Frame | null {
  let current: Frame | null = frame;
  for (let i = 0; i < depth && current !== null; i++) current = current.parent;
  return current;
}

function lookup(path: PathNode, frame: Frame, state: RenderState): Value {
  if (typeof path.head === 'object' && path.head !== null) {
    return walk(evalExpression(path.head, frame, state), path.tail, 0);
  }
  const parts = path.parts;
  if (path.data) {
    const head = parts[0];
    if (head === 'root') return walk(state.root, parts, 1);
    const target = frameAt(frame, path.depth);
    if (target === null || typeof head !== 'string') return undefined;
    const data = dataValue(target.data, head);
    return walk(data, parts, 1);
  }
  if (path.depth === 0 && path.this !== true && parts.length > 0) {
    const head = parts[0];
    if (typeof head === 'string') {
      for (let f: Frame | null = frame; f !== null; f = f.parent) {
        if (f.params?.has(head)) return walk(f.params.get(head), parts, 1);
      }
    }
  }
  const target = frameAt(frame, path.depth);
  if (target === null) return undefined;
  return walk(target.context, parts, 0);
}

function dataValue(data: DataVars, name: string): Value {
  switch (name) {
    case 'index':
      return data.index;
    case 'key':
      return data.key;
    case 'first':
      return data.first;
    case 'last':
      return data.last;
    default:
      return undefined;
  }
}

function evalExpression(expr: AST.Expression, frame: Frame, state: RenderState): Value {
  switch (expr.type) {
    case 'PathExpression':
      return lookup(expr as PathNode, frame, state);
    case 'SubExpression': {
      const sub = expr as AST.SubExpression;
      state.nesting++;
      if (state.nesting > TEMPLATE_LIMITS.maxNesting) {
        limit(state, `template subexpressions nest deeper than ${TEMPLATE_LIMITS.maxNesting} levels`);
      }
      step(state);
      const value = callExpression(sub.path, sub.params, sub.hash, frame, state);
      state.nesting--;
      return value;
    }
    case 'StringLiteral':
      return (expr as AST.StringLiteral).value;
    case 'NumberLiteral':
      return (expr as AST.NumberLiteral).value;
    case 'BooleanLiteral':
      return (expr as AST.BooleanLiteral).value;
    case 'NullLiteral':
      return null;
    default:
      return undefined;
  }
}

function hashValue(hash: AST.Hash | undefined, key: string, frame: Frame, state: RenderState): Value {
  if (hash === undefined) return undefined;
  for (const pair of hash.pairs) if (pair.key === key) return evalExpression(pair.value, frame, state);
  return undefined;
}

/** Inline helper call (`{{helper a b}}` or `(helper a b)`); `undefined` renders nothing. */
function callExpression(
  path: AST.PathExpression | AST.SubExpression,
  params: AST.Expression[],
  hash: AST.Hash | undefined,
  frame: Frame,
  state: RenderState,
): Value {
  if (path.type === 'SubExpression') {
    // `{{(helper) arg}}`: handlebars-rs does not call computed helpers either.
    warn(state.warnings, `template helper ${describe(path)} is not callable; rendered empty`);
    return undefined;
  }
  const name = simpleName(path);
  const args = params.map((p) => evalExpression(p, frame, state));
  switch (name) {
    case 'lookup':
      return lookupHelper(args[0], args[1]);
    case 'eq':
    case 'ne':
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
    case 'and':
    case 'or':
    case 'not':
      return booleanHelper(name, args, state);
    case 'len':
      return lenHelper(args[0]);
    case 'log':
      return '';
    default:
      break;
  }
  if (name === 'if' || name === 'unless' || name === 'each' || name === 'with' || name === 'raw') {
    warn(state.warnings, `template helper "${name}" needs a block ({{#${name} …}}); rendered empty`);
  } else {
    warn(state.warnings, `template helper "${path.original}" is not defined; rendered empty`);
  }
  void hash;
  return undefined;
}

function lookupHelper(base: Value, key: Value): Value {
  if (base === undefined || base === null || typeof base !== 'object') return undefined;
  if (Array.isArray(base)) {
    if (typeof key === 'number' && Number.isInteger(key) && key >= 0) return base[key];
    if (typeof key === 'string' && /^\d+$/.test(key)) return base[Number(key)];
    return undefined;
  }
  if (typeof key === 'string') return hasOwn.call(base, key) ? base[key] : undefined;
  return undefined;
}

function lenHelper(value: Value): JsonValue {
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

function booleanHelper(name: string, args: Value[], state: RenderState): boolean {
  const need = name === 'not' ? 1 : name === 'and' || name === 'or' ? 0 : 2;
  if (args.length < need) {
    warn(state.warnings, `template helper "${name}" needs ${need} parameter(s)`);
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

function jsonEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i] as JsonValue));
  }
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => hasOwn.call(b, k) && jsonEqual(a[k] as JsonValue, b[k] as JsonValue));
}

const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

function sign(n: number): -1 | 0 | 1 | undefined {
  if (Number.isNaN(n)) return undefined;
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/** handlebars-rs `compare_json`: numbers, strings (by code point), booleans, number vs numeric string. */
function compareJson(a: JsonValue, b: JsonValue): -1 | 0 | 1 | undefined {
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

function childFrame(frame: Frame, context: Value, data: DataVars, names: readonly string[], values: JsonValue[]): Frame {
  let params: Map<string, JsonValue> | null = null;
  for (let i = 0; i < names.length && i < values.length; i++) {
    params ??= new Map();
    params.set(names[i] as string, values[i] as JsonValue);
  }
  return { context, parent: frame, data, params };
}

function renderBlock(node: AST.BlockStatement, frame: Frame, state: RenderState): void {
  const name = simpleName(node.path);
  const blockParams = node.program?.blockParams ?? [];
  switch (name) {
    case 'if':
    case 'unless': {
      if (node.params.length === 0) {
        warn(state.warnings, `template helper "${name}" needs a parameter; rendered empty`);
        return;
      }
      const includeZero = hashValue(node.hash, 'includeZero', frame, state) === true;
      const condition = truthy(evalExpression(node.params[0] as AST.Expression, frame, state), includeZero);
      const chosen = condition === (name === 'if') ? node.program : node.inverse;
      renderProgram(chosen, frame, state);
      return;
    }
    case 'each':
      renderEach(node, evalExpression(node.params[0] ?? nullLiteral, frame, state), frame, state, blockParams);
      return;
    case 'with': {
      const value = evalExpression(node.params[0] ?? nullLiteral, frame, state);
      if (truthy(value)) {
        renderProgram(node.program, childFrame(frame, value, frame.data, blockParams, [value ?? null]), state);
      } else {
        renderProgram(node.inverse, frame, state);
      }
      return;
    }
    case 'raw':
      renderProgram(node.program, frame, state);
      return;
    case 'eq':
    case 'ne':
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
    case 'and':
    case 'or':
    case 'not': {
      const args = node.params.map((p) => evalExpression(p, frame, state));
      renderProgram(booleanHelper(name, args, state) ? node.program : node.inverse, frame, state);
      return;
    }
    default:
      break;
  }
  if (name !== null && hasArguments(node)) {
    warn(state.warnings, `template block helper "${name}" is not defined; rendered empty`);
    return;
  }
  if (name === null && hasArguments(node)) {
    warn(state.warnings, `template block helper "${node.path.original}" is not defined; rendered empty`);
    return;
  }
  // `{{#section}}…{{/section}}` without a helper of that name: a Mustache-style section.
  const value = lookup(node.path as PathNode, frame, state);
  if (Array.isArray(value)) {
    renderEach(node, value, frame, state, blockParams);
  } else if (value === true) {
    renderProgram(node.program, frame, state);
  } else if (truthy(value)) {
    renderProgram(node.program, childFrame(frame, value, frame.data, blockParams, [value ?? null]), state);
  } else {
    renderProgram(node.inverse, frame, state);
  }
}

const nullLiteral = { type: 'NullLiteral' } as AST.NullLiteral;

function renderEach(node: AST.BlockStatement, value: Value, frame: Frame, state: RenderState, blockParams: readonly string[]): void {
  if (!truthy(value) || value === null || typeof value !== 'object') {
    renderProgram(node.inverse, frame, state);
    return;
  }
  if (Array.isArray(value)) {
    const last = value.length - 1;
    for (let i = 0; i <= last; i++) {
      step(state);
      const item = value[i] as JsonValue;
      const data: DataVars = { index: i, key: i, first: i === 0, last: i === last };
      renderProgram(node.program, childFrame(frame, item, data, blockParams, [item, i]), state);
    }
    return;
  }
  const keys = Object.keys(value);
  const last = keys.length - 1;
  for (let i = 0; i <= last; i++) {
    step(state);
    const key = keys[i] as string;
    const item = value[key] as JsonValue;
    const data: DataVars = { index: i, key, first: i === 0, last: i === last };
    renderProgram(node.program, childFrame(frame, item, data, blockParams, [item, key]), state);
  }
}
