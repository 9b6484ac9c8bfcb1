/**
 * Interprets a parsed template (template-parse.ts) the way handlebars-rs renders it: paths, `../`
 * and `@data` lookups, block params, the built-in helpers (`if`, `unless`, `each`, `with`,
 * `lookup`, `raw`, `log`, `eq`, `ne`, `gt`, `gte`, `lt`, `lte`, `and`, `or`, `not`, `len`) and
 * Mustache-style sections. Every statement counts against the step, nesting and output bounds of
 * template-limits.ts. Unknown helpers and missing partials render empty with a warning.
 */
import type { AST } from '@handlebars/parser';
import type { JsonObject, JsonValue } from './model.js';
import { TemplateError } from './template-error.js';
import { TEMPLATE_LIMITS, warn } from './template-limits.js';
import { compileTemplate } from './template-parse.js';
import { booleanHelper, displayText, lenHelper, lookupHelper, lookupKey, truthy, type Value } from './template-values.js';
import { textUnits, type WorkMeter } from './work-meter.js';

/** Loosely typed view of parser nodes: the published AST types omit a few runtime fields. */
type PathNode = AST.PathExpression & { this?: boolean };

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
  /** Steps allowed in this render: the per-template bound, or what is left of the turn's budget. */
  stepLimit: number;
  meter: WorkMeter | undefined;
  nesting: number;
  warnings: string[] | undefined;
  template: string;
}

/**
 * Renders template text against `ctx` as handlebars-rs does (non-strict, no HTML escaping); the
 * parse is cached. With a `meter`, the render's steps, the text it read and wrote, and helper work
 * over large values are charged to the turn, failed renders too (a failing template in a loop
 * with an error route must not be free).
 */
export function renderHandlebars(template: string, ctx: JsonObject, warnings: string[] | undefined, meter?: WorkMeter): string {
  const state: RenderState = {
    root: ctx,
    out: '',
    steps: 0,
    stepLimit: meter === undefined ? TEMPLATE_LIMITS.maxSteps : Math.min(TEMPLATE_LIMITS.maxSteps, meter.remaining),
    meter,
    nesting: 0,
    warnings,
    template,
  };
  try {
    const program = compileTemplate(template);
    const frame: Frame = { context: ctx, parent: null, data: {}, params: null };
    renderProgram(program, frame, state);
  } finally {
    meter?.charge(state.steps + textUnits(template.length + state.out.length), 'rendering a template');
  }
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
  checkSteps(state);
}

/** Helpers over large values add steps of their own (template-values.ts), so they count here too. */
function checkSteps(state: RenderState): void {
  // Below the template bound this is the turn running out: the charge in renderHandlebars then
  // replaces the limit error with the turn's budget error.
  if (state.steps > state.stepLimit) limit(state, `template needs more than ${TEMPLATE_LIMITS.maxSteps} evaluation steps`);
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
    case 'not': {
      const result = booleanHelper(name, args, state.warnings, state);
      checkSteps(state);
      return result;
    }
    case 'len': {
      const result = lenHelper(args[0], state);
      checkSteps(state);
      return result;
    }
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
      const condition = truthy(evalExpression(node.params[0] as AST.Expression, frame, state), includeZero, state);
      checkSteps(state);
      const chosen = condition === (name === 'if') ? node.program : node.inverse;
      renderProgram(chosen, frame, state);
      return;
    }
    case 'each':
      renderEach(node, evalExpression(node.params[0] ?? nullLiteral, frame, state), frame, state, blockParams);
      return;
    case 'with': {
      const value = evalExpression(node.params[0] ?? nullLiteral, frame, state);
      const present = truthy(value, false, state);
      checkSteps(state);
      if (present) {
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
      const chosen = booleanHelper(name, args, state.warnings, state) ? node.program : node.inverse;
      checkSteps(state);
      renderProgram(chosen, frame, state);
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
  } else if (truthy(value, false, state)) {
    renderProgram(node.program, childFrame(frame, value, frame.data, blockParams, [value ?? null]), state);
  } else {
    renderProgram(node.inverse, frame, state);
  }
}

const nullLiteral = { type: 'NullLiteral' } as AST.NullLiteral;

function renderEach(node: AST.BlockStatement, value: Value, frame: Frame, state: RenderState, blockParams: readonly string[]): void {
  const present = truthy(value, false, state);
  checkSteps(state);
  if (!present || value === null || typeof value !== 'object') {
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
