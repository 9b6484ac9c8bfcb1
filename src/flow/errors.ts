/**
 * Diagnostics reported by the `.ygtc` loader and compiler. Codes are greentic-flow's `FlowError`
 * kinds so a user can search upstream docs for them; every diagnostic names a place (file, 1-based
 * line/column, JSON pointer) because a flow file usually has several problems at once and all of
 * them are reported.
 */

export type FlowErrorCode =
  | 'Yaml'
  | 'Schema'
  | 'UnknownFlowType'
  | 'InvalidIdentifier'
  | 'NodeComponentShape'
  | 'BadComponentKey'
  | 'Routing'
  | 'MissingNode'
  | 'McpConfig'
  | 'ResolveSummary'
  | 'Sidecar'
  | 'Internal';

export interface Diagnostic {
  code: string;
  severity: 'error' | 'warning';
  message: string;
  file: string;
  line: number;
  col: number;
  pointer: string;
}

export interface SourcePosition {
  line: number;
  col: number;
}

/** `file:line:col CODE message` — the one-line form the CLI prints. */
export function formatDiagnostic(d: Diagnostic): string {
  const severity = d.severity === 'warning' ? ' (warning)' : '';
  return `${d.file}:${d.line}:${d.col} ${d.code}${severity} ${d.message}`;
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** RFC 6901 encoding of one pointer segment. */
export function escapePointerSegment(segment: string | number): string {
  return String(segment).replace(/~/g, '~0').replace(/\//g, '~1');
}

export function pointerOf(segments: readonly (string | number)[]): string {
  return segments.map((s) => `/${escapePointerSegment(s)}`).join('');
}

export function pointerSegments(pointer: string): string[] {
  if (pointer === '' || pointer === '/') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * Human path used in messages, e.g. `/nodes/ask/routing/0/to` → `nodes.ask.routing[0].to`;
 * keys that are not plain words are quoted (`nodes["a.b"]`).
 */
export function dottedPath(pointer: string): string {
  const segments = pointerSegments(pointer);
  if (segments.length === 0) return '<document>';
  let out = '';
  segments.forEach((segment, index) => {
    if (/^(0|[1-9]\d*)$/.test(segment) && index > 0) {
      out += `[${segment}]`;
    } else if (/^[A-Za-z_][\w-]*$/.test(segment)) {
      out += index === 0 ? segment : `.${segment}`;
    } else {
      out += `[${JSON.stringify(segment)}]`;
    }
  });
  return out;
}
