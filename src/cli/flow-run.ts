/**
 * `greentic-flow run`: executes a flow of built-in nodes locally with the same executor the edge
 * uses. Component nodes need a component host (greentic-component invoke or the runtime), so here
 * they fail with a message saying so. Pause snapshots go to stdout (and `--snapshot-out`), and a
 * later `--resume <file>` continues the run with the next input — a two-turn conversation from
 * the shell.
 */
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { errorMessage } from '../core/coded-error.js';
import { isObject } from '../core/is-object.js';
import { FlowRunError, type FlowSnapshot } from '../flow/execution-state.js';
import { FlowExecutor, type FlowRunResult } from '../flow/executor.js';
import { compileFlowSource, formatDiagnostic, hasErrors } from '../flow/index.js';
import type { Flow, JsonObject, JsonValue } from '../flow/model.js';
import type { ComponentInvoker, FlowResolver, StateStore } from '../flow/ports.js';
import { mcpFailure } from '../mcp/mcp-client.js';
import { type McpResolver, mcpInvoker } from '../mcp/mcp-invoker.js';

const HELP = `greentic-flow run <file.ygtc> --input <json> [--resume <snapshot-file>] [--state <dir>] [--mcp <server>=<url>]… [--json]

Runs a flow locally. Built-in nodes (emit.*, session.wait, state.get/set, var.set, flow.call,
flow.goto) run here; component nodes need greentic-component invoke or the runtime.
flow.call / flow.goto find other flows by id among the .ygtc files next to <file>.

Options:
  --input <json>          the inbound activity (JSON text, or @path to read it from a file); default {}
  --resume <file>         continue the paused run saved in this snapshot file with --input
  --state <dir>           keep state.get/state.set values in <dir>/state.json across runs
                          (default: in memory, gone when the command ends)
  --snapshot-out <file>   also write the pause snapshot to <file> when the run waits
  --entry <name>          start at this entrypoint instead of "default"
  --mcp <server>=<url>    run mcp nodes naming <server> against the MCP server at <url> (Streamable
                          HTTP); repeatable, one per server
  --json                  print exactly {status, output, snapshot?} as JSON on stdout
  -h, --help

Exit codes: 0 the run finished or paused, 1 the flow is invalid or the run failed, 2 usage error.
`;

export interface RunIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const defaultIo: RunIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

const COMPONENT_HINT = 'component nodes need greentic-component invoke or the runtime';

/** Fails every component-like node with an actionable message instead of a generic "no invoker". */
const localInvoker: ComponentInvoker = {
  invoke(target, operation, _input, ctx) {
    return {
      ok: false,
      error: {
        code: 'unsupported_node_kind',
        message: `node "${ctx.nodeId}" calls ${target.kind} "${target.id}" operation "${operation}": ${COMPONENT_HINT}`,
        retryable: false,
      },
    };
  },
};

/** `--mcp <server>=<url>` options: each server once, each URL http(s). */
export function parseMcpOptions(values: readonly string[]): { ok: true; servers: Map<string, string> } | { ok: false; message: string } {
  const servers = new Map<string, string>();
  for (const value of values) {
    const eq = value.indexOf('=');
    const name = eq > 0 ? value.slice(0, eq) : '';
    const url = eq > 0 ? value.slice(eq + 1) : '';
    if (name === '' || !/^https?:\/\/./.test(url) || !URL.canParse(url))
      return { ok: false, message: `--mcp "${value}" must be <server>=<http(s) URL>, e.g. --mcp weather=http://127.0.0.1:8000/mcp` };
    if (servers.has(name)) return { ok: false, message: `--mcp names server "${name}" twice` };
    servers.set(name, url);
  }
  return { ok: true, servers };
}

/** Locally the author names every server on the command line; any host is reachable. */
function cliMcpResolver(servers: ReadonlyMap<string, string>): McpResolver {
  return async (server, tool) => {
    const url = servers.get(server);
    if (url === undefined)
      return mcpFailure('mcp_server_unknown', tool, `no MCP server "${server}": pass --mcp ${server}=<url> to run this node locally`);
    return { server, url };
  };
}

/**
 * All keys in one JSON file, rewritten (via a temp file and rename) on every change so a crash
 * never leaves half a file behind.
 */
export class FileStateStore implements StateStore {
  private constructor(
    private readonly file: string,
    private readonly values: JsonObject,
  ) {}

  static async open(dir: string): Promise<FileStateStore> {
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'state.json');
    let values: JsonObject = {};
    try {
      const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
      if (!isObject(parsed)) {
        throw new Error(`${file} must hold a JSON object`);
      }
      values = parsed as JsonObject;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    return new FileStateStore(file, values);
  }

  get(key: string): JsonValue | undefined {
    return Object.hasOwn(this.values, key) ? this.values[key] : undefined;
  }

  async set(key: string, value: JsonValue): Promise<void> {
    this.values[key] = value;
    await this.flush();
  }

  async delete(key: string): Promise<void> {
    delete this.values[key];
    await this.flush();
  }

  private async flush(): Promise<void> {
    const tmp = `${this.file}.tmp`;
    await writeFile(tmp, `${JSON.stringify(this.values, null, 2)}\n`);
    await rename(tmp, this.file);
  }
}

/** Other flows of the "pack": the .ygtc files beside the main one, compiled on first use. */
class DirectoryFlowResolver implements FlowResolver {
  private byId: Map<string, Flow> | undefined;

  constructor(
    private readonly dir: string,
    private readonly main: Flow,
    private readonly io: RunIo,
  ) {}

  async getFlow(flowId: string): Promise<Flow | undefined> {
    if (flowId === this.main.id) return this.main;
    this.byId ??= await this.scan();
    return this.byId.get(flowId);
  }

  private async scan(): Promise<Map<string, Flow>> {
    const flows = new Map<string, Flow>();
    for (const name of (await readdir(this.dir)).sort()) {
      if (!name.endsWith('.ygtc')) continue;
      const file = join(this.dir, name);
      const result = compileFlowSource(await readFile(file, 'utf8'), { file });
      if (result.flow === undefined || hasErrors(result.diagnostics)) {
        this.io.err(`run: skipping ${file}: it does not compile\n`);
        continue;
      }
      if (!flows.has(result.flow.id)) flows.set(result.flow.id, result.flow);
    }
    return flows;
  }
}

async function readInput(text: string | undefined): Promise<JsonValue> {
  if (text === undefined) return {};
  const source = text.startsWith('@') ? await readFile(text.slice(1), 'utf8') : text;
  return JSON.parse(source) as JsonValue;
}

function summary(result: FlowRunResult, snapshotFile: string | undefined): string {
  const lines: string[] = [];
  if (result.status === 'done') {
    lines.push('status: done');
  } else {
    lines.push(
      `status: waiting (${result.reason}) — next node "${result.snapshot.next_node}"${result.snapshot.next_flow ? ` of flow "${result.snapshot.next_flow}"` : ''}`,
    );
  }
  lines.push('output:', JSON.stringify(result.output, null, 2));
  if (result.status === 'waiting') {
    if (snapshotFile !== undefined) {
      lines.push(`snapshot written to ${snapshotFile}; continue with: greentic-flow run <file> --resume ${snapshotFile} --input '<json>'`);
    } else {
      lines.push('snapshot (save it to a file and pass --resume <file> to continue):', JSON.stringify(result.snapshot, null, 2));
    }
  }
  return `${lines.join('\n')}\n`;
}

export async function runFlowCommand(argv: string[], io: RunIo = defaultIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        input: { type: 'string' },
        resume: { type: 'string' },
        state: { type: 'string' },
        'snapshot-out': { type: 'string' },
        entry: { type: 'string' },
        mcp: { type: 'string', multiple: true },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    io.err(`run: ${errorMessage(e)}\n\n${HELP}`);
    return 2;
  }
  const opts = parsed.values;
  if (opts.help) {
    io.out(HELP);
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    io.err(`run: expected exactly one flow file\n\n${HELP}`);
    return 2;
  }
  if (opts.resume !== undefined && opts.entry !== undefined) {
    io.err(`run: --entry cannot be combined with --resume (a resumed run continues where it paused)\n`);
    return 2;
  }
  const file = parsed.positionals[0] as string;

  let input: JsonValue;
  try {
    input = await readInput(opts.input);
  } catch (e) {
    io.err(`run: --input is not valid JSON: ${errorMessage(e)}\n`);
    return 2;
  }

  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (e) {
    io.err(`run: cannot read ${file}: ${errorMessage(e)}\n`);
    return 1;
  }
  const compiled = compileFlowSource(source, { file });
  for (const d of compiled.diagnostics) io.err(`${formatDiagnostic(d)}\n`);
  if (compiled.flow === undefined || hasErrors(compiled.diagnostics)) {
    io.err(`run: ${file} does not compile\n`);
    return 1;
  }
  const flow = compiled.flow;

  const servers = parseMcpOptions(opts.mcp ?? []);
  if (!servers.ok) {
    io.err(`run: ${servers.message}\n`);
    return 2;
  }

  let snapshot: unknown;
  if (opts.resume !== undefined) {
    try {
      snapshot = JSON.parse(await readFile(opts.resume, 'utf8'));
    } catch (e) {
      io.err(`run: cannot read snapshot ${opts.resume}: ${errorMessage(e)}\n`);
      return 1;
    }
  }

  let stateStore: StateStore | undefined;
  if (opts.state !== undefined) {
    try {
      stateStore = await FileStateStore.open(opts.state);
    } catch (e) {
      io.err(`run: cannot open state directory ${opts.state}: ${errorMessage(e)}\n`);
      return 1;
    }
  }

  const executor = new FlowExecutor({
    invoker: mcpInvoker(localInvoker, cliMcpResolver(servers.servers)),
    resolver: new DirectoryFlowResolver(dirname(resolve(file)), flow, io),
    ...(stateStore !== undefined ? { stateStore } : {}),
    // Locally there is nothing to retry against, and errors should be seen rather than replaced by
    // the generic chat failure text.
    retry: { maxAttempts: 1 },
    failureMode: 'throw',
  });

  let result: FlowRunResult;
  try {
    result =
      snapshot === undefined
        ? await executor.run(flow, input, opts.entry !== undefined ? { entrypoint: opts.entry } : {})
        : await executor.resume(snapshot, input, { flow });
  } catch (e) {
    if (e instanceof FlowRunError) {
      io.err(`run: ${e.code}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  for (const w of result.warnings) io.err(`warning: ${w}\n`);

  if (result.status === 'waiting' && opts['snapshot-out'] !== undefined) {
    await writeFile(opts['snapshot-out'], `${JSON.stringify(result.snapshot, null, 2)}\n`);
  }
  if (opts.json) {
    const body: { status: string; output: JsonValue; snapshot?: FlowSnapshot } = { status: result.status, output: result.output };
    if (result.status === 'waiting') body.snapshot = result.snapshot;
    io.out(`${JSON.stringify(body, null, 2)}\n`);
  } else {
    io.out(summary(result, opts['snapshot-out']));
  }
  return 0;
}
