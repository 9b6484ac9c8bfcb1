/**
 * Template text → Handlebars AST with `@handlebars/parser` (workerd forbids `eval`/`new Function`,
 * so the AST is interpreted by template-eval.ts rather than compiled). Parses are cached, failed
 * ones too, and a parse error becomes `TemplateError` `TemplateSyntax` with its position.
 */
import { type AST, parse } from '@handlebars/parser';
import { asTemplateError, TemplateError } from './template-error.js';
import { BoundedCache, TEMPLATE_LIMITS } from './template-limits.js';

const programCache = new BoundedCache<AST.Program | TemplateError>(TEMPLATE_LIMITS.cacheEntries);

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
