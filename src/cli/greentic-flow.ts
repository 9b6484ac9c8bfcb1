/**
 * `greentic-flow` CLI: validate and compile `.ygtc` flows (same checks as the edge runtime, since
 * both use src/flow), and run them locally through `flow-run`.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { errorMessage } from '../core/coded-error.js';
import {
  compileFlowSource,
  type Diagnostic,
  formatDiagnostic,
  hasErrors,
  parseResolveSidecar,
  parseResolveSummary,
  type ResolveSummary,
  resolveSidecarPath,
  resolveSummaryPath,
} from '../flow/index.js';
import { runFlowCommand } from './flow-run.js';

const TOOL_HELP = `greentic-flow — validate, compile and run Greentic .ygtc flows

Usage:
  greentic-flow validate <file.ygtc>... [--json]
  greentic-flow compile <file.ygtc> [--json]
  greentic-flow run <file.ygtc> --input <json> [--resume <snapshot-file>] [--json]

Run "greentic-flow <verb> --help" for the options of a verb.
Exit codes: 0 ok, 1 invalid input or failed operation, 2 usage error.
`;

const VALIDATE_HELP = `greentic-flow validate <file.ygtc>... [--json]

Checks each flow (YAML, schema, node shape, identifiers, routing targets, MCP payloads, flow type)
and its sidecars (<file>.resolve.json, <file>.resolve.summary.json) when present.
Every problem is reported, one line each: file:line:col CODE message (to stderr).

Options:
  --json   print [{file, ok, diagnostics: [...]}] on stdout instead
  -h, --help
Exit code 1 when any file has an error.
`;

const COMPILE_HELP = `greentic-flow compile <file.ygtc> [--json]

Compiles a flow to the greentic.flow.v1 JSON model and prints it on stdout. When
<file>.resolve.summary.json exists, component.exec nodes take the summary's component ids
(as greentic-pack build does).

Options:
  --json   print {file, flow, diagnostics} instead of the bare flow
  -h, --help
Exit code 1 when the flow does not compile.
`;

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

const defaultIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      (verb === undefined ? io.err : io.out)(TOOL_HELP);
      return verb === undefined ? 2 : 0;
    case 'validate':
      return validateCommand(rest, io);
    case 'compile':
      return compileCommand(rest, io);
    case 'run':
      return runFlowCommand(rest);
    default:
      io.err(`greentic-flow: unknown verb "${verb}"\n\n${TOOL_HELP}`);
      return 2;
  }
}

function parseVerbArgs(args: string[], help: string, io: Io): { files: string[]; json: boolean } | number {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (e) {
    io.err(`${errorMessage(e)}\n\n${help}`);
    return 2;
  }
  if (parsed.values.help) {
    io.out(help);
    return 0;
  }
  return { files: parsed.positionals, json: parsed.values.json === true };
}

interface FileReport {
  file: string;
  ok: boolean;
  diagnostics: Diagnostic[];
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

function ioDiagnostic(file: string, message: string): Diagnostic {
  return { code: 'Internal', severity: 'error', message, file, line: 1, col: 1, pointer: '' };
}

/** Loads the flow and its sidecars; returns the summary so `compile` can apply it. */
async function checkFile(file: string, applySummary: boolean): Promise<{ report: FileReport; flow?: unknown }> {
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (e) {
    const d = ioDiagnostic(file, `cannot read file: ${errorMessage(e)}`);
    return { report: { file, ok: false, diagnostics: [d] } };
  }
  const diagnostics: Diagnostic[] = [];
  let summary: ResolveSummary | undefined;
  const sidecarFile = resolveSidecarPath(file);
  const sidecarText = await readOptional(sidecarFile);
  if (sidecarText !== undefined) diagnostics.push(...parseResolveSidecar(sidecarText, sidecarFile).diagnostics);
  const summaryFile = resolveSummaryPath(file);
  const summaryText = await readOptional(summaryFile);
  if (summaryText !== undefined) {
    const parsed = parseResolveSummary(summaryText, summaryFile);
    diagnostics.push(...parsed.diagnostics);
    summary = parsed.value;
  }
  const result = compileFlowSource(source, {
    file,
    ...(applySummary && summary ? { resolveSummary: summary } : {}),
  });
  diagnostics.unshift(...result.diagnostics);
  const ok = !hasErrors(diagnostics) && result.flow !== undefined;
  return { report: { file, ok, diagnostics }, ...(ok ? { flow: result.flow } : {}) };
}

async function validateCommand(args: string[], io: Io): Promise<number> {
  const parsed = parseVerbArgs(args, VALIDATE_HELP, io);
  if (typeof parsed === 'number') return parsed;
  if (parsed.files.length === 0) {
    io.err(`validate: no flow file given\n\n${VALIDATE_HELP}`);
    return 2;
  }
  const reports: FileReport[] = [];
  for (const file of parsed.files) reports.push((await checkFile(file, false)).report);
  if (parsed.json) {
    io.out(`${JSON.stringify(reports, null, 2)}\n`);
  } else {
    for (const report of reports) {
      for (const d of report.diagnostics) io.err(`${formatDiagnostic(d)}\n`);
      if (report.ok) io.out(`${report.file}: ok\n`);
    }
  }
  return reports.every((r) => r.ok) ? 0 : 1;
}

async function compileCommand(args: string[], io: Io): Promise<number> {
  const parsed = parseVerbArgs(args, COMPILE_HELP, io);
  if (typeof parsed === 'number') return parsed;
  if (parsed.files.length !== 1) {
    io.err(`compile: expected exactly one flow file\n\n${COMPILE_HELP}`);
    return 2;
  }
  const file = parsed.files[0] as string;
  const { report, flow } = await checkFile(file, true);
  if (parsed.json) {
    io.out(`${JSON.stringify({ file, ...(flow ? { flow } : {}), diagnostics: report.diagnostics }, null, 2)}\n`);
  } else {
    for (const d of report.diagnostics) io.err(`${formatDiagnostic(d)}\n`);
    if (flow) io.out(`${JSON.stringify(flow, null, 2)}\n`);
  }
  return report.ok ? 0 : 1;
}
