/**
 * Node side of the end-to-end benchmarks (e2e.bench.ts, load.bench.ts): starts the server the way
 * a user does (`npm run dev` = scripts/dev.ts, on a free port, with a throwaway `--persist-to`
 * directory and the benchmark bundle), reads what it logs on stdout (the JSON spans of
 * src/edge/telemetry.ts and wrangler's one-line request log), and stops it with its whole process
 * group so no workerd is left behind. Also the small statistics and the output format the two
 * benchmarks share.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type CpuSample, sampleGroup } from './process-cpu.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BENCH_BUNDLE = fileURLToPath(new URL('./e2e.bundle.yaml', import.meta.url));
/** The tenant bench/e2e.bundle.yaml activates the benchmark pack for. */
export const BENCH_TENANT = 'bench';
/** The first run builds the component (about a minute) and every run uploads and transpiles it. */
const STARTUP_TIMEOUT_MS = 15 * 60_000;

// ------------------------------------------------------------------ what the server logs

/** One span line of src/edge/telemetry.ts. */
export interface SpanRecord {
  span: string;
  trace_id: string;
  span_id: string;
  parent_span_id?: string;
  /** Unix ms (the Worker's clock, which only moves at I/O: a figure is good to a few ms). */
  start: number;
  duration_ms: number;
  status: string;
  attributes: Record<string, string | number | boolean>;
}

/** One line of wrangler's request log (`[wrangler:info] POST /path 200 OK (12ms)`). */
export interface RequestRecord {
  /** When the line reached this process (Unix ms). */
  at: number;
  method: string;
  path: string;
  status: number;
  ms: number;
}

/** Spans kept for the breakdowns (per-node spans are not needed and would pile up under load). */
const KEPT_SPANS = new Set(['session.turn', 'flow.execute', 'component.invoke', 'webhook.run']);
const REQUEST_LINE = /^\[wrangler:info\] ([A-Z]+) (\S+) (\d{3}) .*\((\d+)ms\)\s*$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: terminal colour codes are control characters
const ANSI = /\u001b\[[0-9;]*m/g;

export class ServerLog {
  /** Spans by trace id. */
  private readonly traces = new Map<string, SpanRecord[]>();
  /** Trace id of each message's turn, by the ingress idempotency key (`webchat:{activity id}`). */
  private readonly turnTrace = new Map<string, string>();
  readonly requests: RequestRecord[] = [];
  /** Count of each warning/error event the server logged (`session.turn_failed`, `ingress.overflow`, …). */
  readonly problems = new Map<string, number>();
  /** The last lines that were neither spans nor request lines (shown when startup fails). */
  readonly tail: string[] = [];
  private lastLineAt = 0;

  line(raw: string): void {
    this.lastLineAt = Date.now();
    const text = raw.replace(ANSI, '');
    if (text.startsWith('{')) {
      try {
        this.json(JSON.parse(text) as Record<string, unknown>);
        return;
      } catch {
        // not one of ours
      }
    }
    const m = REQUEST_LINE.exec(text);
    if (m !== null) {
      this.requests.push({ at: Date.now(), method: m[1]!, path: m[2]!, status: Number(m[3]), ms: Number(m[4]) });
      return;
    }
    this.tail.push(text);
    if (this.tail.length > 40) this.tail.shift();
  }

  private json(record: Record<string, unknown>): void {
    // A trace is one line: the root span carries its children in `spans`.
    // Its `resource` holds the attributes every span shares.
    const resource = (record.resource ?? {}) as Record<string, unknown>;
    if (Array.isArray(record.spans))
      for (const child of record.spans as Record<string, unknown>[])
        this.json({ ...child, attributes: { ...resource, ...((child.attributes ?? {}) as Record<string, unknown>) } });
    if (record.resource !== undefined)
      record = {
        ...record,
        resource: undefined,
        spans: undefined,
        attributes: { ...resource, ...((record.attributes ?? {}) as Record<string, unknown>) },
      };
    if (typeof record.span === 'string') {
      if (record.status === 'error') this.count(`span error: ${record.span}`);
      if (!KEPT_SPANS.has(record.span)) return;
      const span: SpanRecord = {
        span: record.span,
        trace_id: String(record.trace_id),
        span_id: String(record.span_id),
        parent_span_id: typeof record.parent_span_id === 'string' ? record.parent_span_id : undefined,
        start: Date.parse(String(record.start_time)),
        duration_ms: Number(record.duration_ms),
        status: String(record.status),
        attributes: (record.attributes ?? {}) as SpanRecord['attributes'],
      };
      const list = this.traces.get(span.trace_id) ?? [];
      list.push(span);
      this.traces.set(span.trace_id, list);
      const key = span.attributes['messaging.message.id'];
      if (span.span === 'session.turn' && typeof key === 'string') this.turnTrace.set(key, span.trace_id);
      return;
    }
    if (typeof record.event === 'string' && (record.level === 'warn' || record.level === 'error')) this.count(record.event);
  }

  private count(name: string): void {
    this.problems.set(name, (this.problems.get(name) ?? 0) + 1);
  }

  /** The spans of the turn that handled the WebChat activity `activityId` (its first attempt's trace). */
  turnOf(activityId: string): SpanRecord[] | undefined {
    const trace = this.turnTrace.get(`webchat:${activityId}`);
    return trace === undefined ? undefined : this.traces.get(trace);
  }

  spansNamed(name: string): SpanRecord[] {
    return [...this.traces.values()].flat().filter((s) => s.span === name);
  }

  /** Resolves once the server has been quiet for `quietMs` (its log lines trail the responses), at most `maxMs`. */
  async settle(quietMs = 300, maxMs = 5_000): Promise<void> {
    const deadline = Date.now() + maxMs;
    while (Date.now() < deadline && Date.now() - this.lastLineAt < quietMs) await pause(50);
  }
}

// ------------------------------------------------------------------ the server

export interface DevServer {
  url: string;
  log: ServerLog;
  /** CPU and run-queue time so far of each kind of process of the server, and of this benchmark process. */
  cpu(): CpuSample;
  stop(): Promise<void>;
}

/** What a process of the server's group is, from its command line. */
function processLabel(cmdline: string, port: number): string {
  if (cmdline.includes('workerd'))
    return cmdline.includes(`entry=127.0.0.1:${port} `) ? "workerd: wrangler's proxy" : 'workerd: the Worker';
  if (cmdline.includes('wrangler-dist/cli.js')) return 'wrangler (node)';
  if (cmdline.includes('esbuild')) return 'esbuild';
  return 'npm run dev (node)';
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Is any process of the group `pgid` still alive? */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * `npm run dev -- --bundle <bundle> --port <free> --persist-to <temp>`, resolved once the bundle is
 * published. The server runs in its own process group (dev.ts, wrangler, workerd, esbuild), which
 * `stop()` (and this process's exit) signals as a whole.
 */
export async function startDevServer(bundle = BENCH_BUNDLE): Promise<DevServer> {
  const port = await freePort();
  const persistTo = mkdtempSync(join(tmpdir(), 'greentic-bench-e2e-'));
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'scripts', 'dev.ts'), '--port', String(port), '--persist-to', persistTo, '--bundle', bundle],
    { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } },
  );
  const pgid = child.pid!;
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pgid, signal);
    } catch {
      // already gone
    }
  };
  const onExit = () => killGroup('SIGKILL');
  const onSignal = () => {
    killGroup('SIGKILL');
    process.exit(130);
  };
  process.on('exit', onExit);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const log = new ServerLog();
  createInterface({ input: child.stdout! }).on('line', (line) => log.line(line));
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    killGroup('SIGTERM');
    const deadline = Date.now() + 10_000;
    while (groupAlive(pgid) && Date.now() < deadline) await pause(100);
    if (groupAlive(pgid)) killGroup('SIGKILL');
    while (groupAlive(pgid)) await pause(100);
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    rmSync(persistTo, { recursive: true, force: true });
  };

  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the server was not ready within ${STARTUP_TIMEOUT_MS / 60_000} min`)),
      STARTUP_TIMEOUT_MS,
    );
    createInterface({ input: child.stderr! }).on('line', (line) => {
      // dev.ts reports its steps on stderr; they show where a slow start spends its time.
      process.stderr.write(`${line}\n`);
      if (/\bready in\b/.test(line)) {
        clearTimeout(timer);
        resolve();
      } else if (/publishing failed|\berror: /.test(line)) {
        clearTimeout(timer);
        reject(new Error(`npm run dev: ${line}`));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm run dev exited with ${code} before it was ready`));
    });
  });
  try {
    await ready;
  } catch (err) {
    process.stderr.write(`${log.tail.join('\n')}\n`);
    await stop();
    throw err;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    cpu: () => sampleGroup(pgid, (cmdline) => processLabel(cmdline, port), 'benchmark client (node)'),
    stop,
  };
}

// ------------------------------------------------------------------ measuring

export const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Nearest-rank percentile (`p` in 0..1) of `xs`; NaN for no samples. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export const p50 = (xs: readonly number[]) => percentile(xs, 0.5);
export const p99 = (xs: readonly number[]) => percentile(xs, 0.99);

export interface LoopResult {
  /** Operations that succeeded per second, over the whole run (until the last one finished). */
  perSecond: number;
  ok: number;
  failed: number;
  /** From the start until the last operation finished. */
  seconds: number;
}

/**
 * `workers` loops, each running `op` back to back until `durationMs` has passed (closed loop:
 * a worker starts its next operation when the previous one finished). `op` resolves false on failure.
 */
export async function closedLoop(workers: number, durationMs: number, op: (worker: number) => Promise<boolean>): Promise<LoopResult> {
  let ok = 0;
  let failed = 0;
  const start = performance.now();
  const deadline = start + durationMs;
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      while (performance.now() < deadline) {
        if (await op(worker)) ok++;
        else failed++;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  return { perSecond: ok / seconds, ok, failed, seconds };
}

// ------------------------------------------------------------------ where a reply's time goes

/** The parts of a reply's time, from the client's clock and the turn's spans (same machine, same clock). */
export const REPLY_PARTS = [
  ['ingress', 'POST sent → turn starts (Worker, token, echo stored, accept: inbox write)'],
  ['routing', 'turn start → flow starts (wait lookup, D1 active packs, pack model)'],
  ['flow', 'flow.execute'],
  ['component', '  of which component.invoke'],
  ['commit', 'flow end → turn end (one transaction)'],
  ['delivery', 'turn end → reply frame (conversation object, WebSocket)'],
  ['post_after_turn', 'turn end → POST response (negative: answered before)'],
  ['reply', 'POST sent → reply frame (total)'],
] as const;
export type ReplyPart = (typeof REPLY_PARTS)[number][0];

export interface Breakdown {
  parts: Record<ReplyPart, number[]>;
  /** Messages whose turn spans were found. */
  matched: number;
}

/** One message the client timed: its POST (with the echo id it answered) and when the reply frame came. */
export interface TimedMessage {
  post: { id?: string; sentAt: number; answeredAt: number };
  replyAt: number;
}

export function replyBreakdown(log: ServerLog, messages: readonly TimedMessage[]): Breakdown {
  const parts = Object.fromEntries(REPLY_PARTS.map(([p]) => [p, [] as number[]])) as Record<ReplyPart, number[]>;
  let matched = 0;
  for (const m of messages) {
    if (m.post.id === undefined) continue;
    const spans = log.turnOf(m.post.id);
    const turn = spans?.find((s) => s.span === 'session.turn');
    const flow = spans?.find((s) => s.span === 'flow.execute');
    if (turn === undefined || flow === undefined) continue;
    matched++;
    const turnEnd = turn.start + turn.duration_ms;
    parts.ingress.push(turn.start - m.post.sentAt);
    parts.routing.push(flow.start - turn.start);
    parts.flow.push(flow.duration_ms);
    const component = spans?.find((s) => s.span === 'component.invoke');
    if (component !== undefined) parts.component.push(component.duration_ms);
    parts.commit.push(turnEnd - (flow.start + flow.duration_ms));
    parts.delivery.push(m.replyAt - turnEnd);
    parts.post_after_turn.push(m.post.answeredAt - turnEnd);
    parts.reply.push(m.replyAt - m.post.sentAt);
  }
  return { parts, matched };
}

// ------------------------------------------------------------------ output

/** One figure in the JSON line every benchmark prints last (DESIGN.md, Benchmarks). */
export interface Row {
  bench: string;
  metric: string;
  value: number;
  unit: string;
  baseline: number;
  ratio: number;
  target: string;
}

/** The human table also says whether a target is met: the ratio's bound, when the row has one. */
export interface CheckedRow extends Row {
  max?: number;
  min?: number;
}

const round = (x: number): number => Math.round(x * 1000) / 1000;

export function figure(
  bench: string,
  metric: string,
  value: number,
  unit: string,
  baseline: number,
  target: string,
  bound: { max?: number; min?: number } = {},
): CheckedRow {
  return { bench, metric, value: round(value), unit, baseline: round(baseline), ratio: round(value / baseline), target, ...bound };
}

function verdict(r: CheckedRow): string {
  if (r.max !== undefined) return r.ratio <= r.max ? 'yes' : 'NO';
  if (r.min !== undefined) return r.ratio >= r.min ? 'yes' : 'NO';
  return '';
}

/** The table, then the JSON array as the very last line. */
export function printFigures(rows: readonly CheckedRow[]): void {
  console.log(
    `${'metric'.padEnd(34)}${'value'.padStart(10)} ${'unit'.padEnd(9)}${'baseline'.padStart(10)}${'ratio'.padStart(8)}  met  target`,
  );
  for (const r of rows) {
    console.log(
      `${r.metric.padEnd(34)}${r.value.toFixed(1).padStart(10)} ${r.unit.padEnd(9)}${r.baseline.toFixed(1).padStart(10)}${r.ratio.toFixed(2).padStart(8)}  ${verdict(r).padEnd(4)} ${r.target}`,
    );
  }
  console.log(
    JSON.stringify(
      rows.map(({ bench, metric, value, unit, baseline, ratio, target }) => ({ bench, metric, value, unit, baseline, ratio, target })),
    ),
  );
}
