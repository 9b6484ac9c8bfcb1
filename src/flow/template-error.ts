/**
 * The one error templating throws: `TemplateSyntax` (the template does not parse),
 * `TemplateLimit` (it exceeds a bound of template-limits.ts, or the JS engine gave up on its size)
 * or `PointerNotFound` (a pointer-allowed string names a missing value).
 */
import { CodedError, errorMessage } from '../core/coded-error.js';

export type TemplateErrorCode = 'TemplateSyntax' | 'TemplateLimit' | 'PointerNotFound';

export class TemplateError extends CodedError<TemplateErrorCode> {
  /** The template text (shortened) the error is about. */
  readonly template: string;
  /** 1-based position inside the template, when the parser reported one. */
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(code: TemplateErrorCode, message: string, template: string, line?: number, column?: number) {
    super(code, message);
    this.name = 'TemplateError';
    this.template = template.length > 200 ? `${template.slice(0, 200)}…` : template;
    this.line = line;
    this.column = column;
  }
}

/** Anything thrown while rendering or parsing, as a `TemplateError`. */
export function asTemplateError(err: unknown, template: string): TemplateError {
  if (err instanceof TemplateError) return err;
  // Anything else escaping the interpreter is the JS engine giving up on sheer size (a stack
  // overflow on absurd nesting); report it as a limit so callers only ever see TemplateError.
  return new TemplateError('TemplateLimit', `template rendering exceeded engine limits: ${errorMessage(err)}`, template);
}
