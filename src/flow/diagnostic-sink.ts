import type { Diagnostic } from './errors.js';
import type { SourceMap } from './yaml-source.js';

/** Where a diagnostic points; documents built in code have no source map and report 1:1. */
export class DiagnosticSink {
  readonly diagnostics: Diagnostic[] = [];

  constructor(
    readonly file: string,
    readonly map?: SourceMap,
  ) {}

  error(code: string, pointer: string, message: string, prefer: 'key' | 'value' = 'value'): void {
    this.push('error', code, pointer, message, prefer);
  }

  warning(code: string, pointer: string, message: string, prefer: 'key' | 'value' = 'value'): void {
    this.push('warning', code, pointer, message, prefer);
  }

  private push(severity: Diagnostic['severity'], code: string, pointer: string, message: string, prefer: 'key' | 'value'): void {
    const pos = this.map ? this.map.locate(pointer, prefer) : { line: 1, col: 1 };
    this.diagnostics.push({ code, severity, message, file: this.file, line: pos.line, col: pos.col, pointer });
  }
}
