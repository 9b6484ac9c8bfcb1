/**
 * The contract between the transpile pipeline (upload/transpile.ts) and jco's js-component-bindgen,
 * wherever it runs: in its own Dynamic Worker at the edge (transpiler-main.ts, reached through
 * edge/edge-transpiler.ts) or in the CLI's process (node/node-host.ts).
 */

export interface GenerateReply {
  ok: boolean;
  files?: [string, Uint8Array][];
  imports?: string[];
  exports?: [string, string][];
  /** Versioned `iface#fn` names of every imported function, read from the glue before minifying (the regex fallback needs jco's layout). */
  importFunctions?: string[];
  error?: string;
  /** The bindgen instance trapped and must not be entered again: the parent loads a fresh isolate. */
  poisoned?: boolean;
}

/** jco's js-component-bindgen `generate(bytes, options)`, wherever it runs. */
export interface BindgenGenerator {
  generate(component: Uint8Array, options: Record<string, unknown>): Promise<GenerateReply>;
}

/** Versioned `iface#fn` names of every function the (unminified) jco glue imports, in order. */
export function importFunctionsOf(glue: string): string[] {
  const names = new Set<string>();
  // jco 1.15: `[iface="…", function="…"] [Instruction::CallInterface]`; later jco: `fnName = '…#…'`.
  for (const m of glue.matchAll(/\[iface="([^"]+)", function="([^"]+)"\] \[Instruction::CallInterface\]/g)) names.add(`${m[1]}#${m[2]}`);
  for (const m of glue.matchAll(/fnName = '([^']+#[^']+)'/g)) names.add(m[1]!);
  return [...names];
}
