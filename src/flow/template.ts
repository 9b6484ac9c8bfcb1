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
 * workerd forbids `eval`/`new Function`, so templates are parsed with `@handlebars/parser`
 * (template-parse.ts) and the AST is interpreted (template-eval.ts). Output follows handlebars-rs (the runner's engine), not
 * Handlebars.js: objects print as `[object]`, arrays as `[a, b]`, null as empty, numbers the way
 * Rust prints them; empty objects are falsy; the built-in helpers are handlebars-rs's (`if`,
 * `unless`, `each`, `with`, `lookup`, `raw`, `log`, `eq`, `ne`, `gt`, `gte`, `lt`, `lte`, `and`,
 * `or`, `not`, `len`). No partials are registered, as in the runner.
 *
 * Errors: `renderValue`/`renderString` throw only `TemplateError` — `TemplateSyntax` for a
 * template that does not parse (handlebars-rs fails the node then, and so should the executor),
 * `TemplateLimit` when a template exceeds the output/step/nesting bounds of template-limits.ts,
 * and `PointerNotFound` as described above. Unknown helpers and missing partials render empty with a
 * warning where handlebars-rs would fail the render (see docs/compat.md).
 */
import type { JsonObject, JsonValue } from './model.js';
import { type PathSegment, parsePath, resolvePointer, resolveSegments } from './path.js';
import { rustTrim } from './rust-json-text.js';
import { asTemplateError, TemplateError } from './template-error.js';
import { renderHandlebars } from './template-eval.js';
import { BoundedCache, TEMPLATE_LIMITS, warn } from './template-limits.js';
import { textUnits, WorkBudgetExceeded, type WorkMeter } from './work-meter.js';

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
  /**
   * The turn's work budget: every mapping value visited, value copied and template step is
   * charged to it, and running out throws `WorkBudgetExceeded` (never a `TemplateError`).
   */
  meter?: WorkMeter;
}

/** One renderValue call: its options and the mapping values and copies it has not charged yet. */
interface MappingRender {
  ctx: JsonObject;
  warnings: string[] | undefined;
  allowPointer: boolean;
  meter: WorkMeter | undefined;
  units: number;
  /** Uncharged units allowed before they are charged mid-walk (what the turn had left at the last charge). */
  cap: number;
}

/** Charges what `run` has counted; throws `WorkBudgetExceeded` when the turn has no budget left for it. */
function chargeRun(run: MappingRender): void {
  if (run.meter === undefined || run.units === 0) return;
  const units = run.units;
  run.units = 0;
  run.meter.charge(units, 'rendering a node input');
  run.cap = run.meter.remaining;
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
  const meter = options?.meter;
  const run: MappingRender = {
    ctx,
    warnings,
    allowPointer: options?.allowPointer === true,
    meter,
    units: 0,
    cap: meter === undefined ? Number.POSITIVE_INFINITY : meter.remaining,
  };
  try {
    return renderValueAt(run, value, 0);
  } catch (err) {
    if (err instanceof WorkBudgetExceeded) throw err;
    throw asTemplateError(err, typeof value === 'string' ? value : '');
  } finally {
    // A failed render is charged too; running out here replaces the template error.
    chargeRun(run);
  }
}

/** Renders one string with Handlebars (no typed lookup); strings without `{{` come back as is. */
export function renderString(template: string, ctx: JsonObject, warnings?: string[], meter?: WorkMeter): string {
  if (!template.includes('{{')) return template;
  try {
    return renderHandlebars(template, ctx, warnings, meter);
  } catch (err) {
    if (err instanceof WorkBudgetExceeded) throw err;
    throw asTemplateError(err, template);
  }
}

function renderValueAt(run: MappingRender, value: JsonValue, depth: number): JsonValue {
  if (typeof value === 'string') {
    // Every string is scanned for `{{`, so a long one costs by its length.
    run.units += textUnits(value.length);
    return renderTemplateString(run, value);
  }
  run.units++;
  if (value === null || typeof value !== 'object') return value;
  if (depth >= TEMPLATE_LIMITS.maxValueDepth) {
    throw new TemplateError('TemplateLimit', `input mapping nests deeper than ${TEMPLATE_LIMITS.maxValueDepth} levels`, '');
  }
  if (Array.isArray(value)) {
    const out: JsonValue[] = new Array<JsonValue>(value.length);
    for (let i = 0; i < value.length; i++) {
      out[i] = renderValueAt(run, value[i] as JsonValue, depth + 1);
    }
    return out;
  }
  const out: JsonObject = {};
  for (const key of Object.keys(value)) {
    setKey(out, key, renderValueAt(run, value[key] as JsonValue, depth + 1));
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

/** A deep copy; each value copied is a work unit of `run` (a typed lookup of a large input is not free). */
function cloneJson(run: MappingRender, value: JsonValue, depth = 0): JsonValue {
  if (++run.units > run.cap) chargeRun(run);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= TEMPLATE_LIMITS.maxValueDepth) {
    throw new TemplateError('TemplateLimit', `value nests deeper than ${TEMPLATE_LIMITS.maxValueDepth} levels`, '');
  }
  if (Array.isArray(value)) return value.map((item) => cloneJson(run, item, depth + 1));
  const out: JsonObject = {};
  for (const key of Object.keys(value)) setKey(out, key, cloneJson(run, value[key] as JsonValue, depth + 1));
  return out;
}

function renderTemplateString(run: MappingRender, raw: string): JsonValue {
  const hasMustache = raw.includes('{{');
  if (run.allowPointer && !hasMustache && raw.startsWith('/')) {
    const hit = resolvePointer(run.ctx, raw);
    if (!hit.found) throw new TemplateError('PointerNotFound', `mapping path \`${raw}\` not found`, raw);
    return cloneJson(run, hit.value);
  }
  if (!hasMustache) return raw;
  const exact = exactExpression(raw);
  if (exact !== null) {
    const hit = resolveSegments(run.ctx, exact.segments);
    if (hit.found) return cloneJson(run, hit.value);
    if (!HELPER_CALL.test(exact.expr)) {
      warn(run.warnings, `template expression resolved to empty (path not found): ${exact.expr}`);
      return '';
    }
  }
  // Charged before rendering, so the render sees what the turn has left.
  chargeRun(run);
  return renderHandlebars(raw, run.ctx, run.warnings, run.meter);
}
