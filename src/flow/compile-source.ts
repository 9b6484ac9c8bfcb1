/** Load + compile in one step, the way the CLI and the pack builder use it. */
import { type CompileOptions, compileFlow } from './compile.js';
import type { Diagnostic } from './errors.js';
import { type FlowDoc, type LoadOptions, loadFlow } from './loader.js';
import type { Flow } from './model.js';

export interface CompileSourceResult {
  flow?: Flow;
  doc?: FlowDoc;
  diagnostics: Diagnostic[];
}

export function compileFlowSource(source: string, opts: LoadOptions & CompileOptions = {}): CompileSourceResult {
  const loaded = loadFlow(source, opts);
  if (!loaded.doc) return { diagnostics: loaded.diagnostics };
  const compiled = compileFlow(loaded.doc, opts);
  return {
    ...(compiled.flow ? { flow: compiled.flow } : {}),
    doc: loaded.doc,
    diagnostics: [...loaded.diagnostics, ...compiled.diagnostics],
  };
}
