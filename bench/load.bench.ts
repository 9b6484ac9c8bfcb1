/**
 * Bounded load test (`npm run bench:load`) against a server started as a user starts it (the same
 * harness as e2e.bench.ts: `npm run dev` with bench/e2e.bundle.yaml on 127.0.0.1). Open loop: each
 * step sends WebChat messages (text turns) at a fixed arrival rate for a few seconds, spread over
 * many conversations, whatever the server's answers do; a message counts as
 * - answered 2xx, refused cleanly (429/503), or failed (any other status, network error, timeout);
 * - lost when it was answered 2xx but no reply reached its WebSocket within the grace period.
 * The knee is the highest rate whose reply p99 stays within 5× the unloaded reply p50 (one message
 * at a time, measured first) with every message answered 2xx and replied; it is reported against
 * the saturation throughput (replies/s of 32 conversations in a closed loop), measured in the same
 * run. Bounded: the first step that does not hold is the last one, a step stops sending when too
 * many messages are in flight, and the whole run has a time budget.
 */
import { Conversation, nowMs } from './directline-client.js';
import {
  BENCH_TENANT,
  type CheckedRow,
  closedLoop,
  type DevServer,
  figure,
  p50,
  p99,
  pause,
  printFigures,
  REPLY_PARTS,
  replyBreakdown,
  type ServerLog,
  startDevServer,
  type TimedMessage,
} from './e2e-harness.js';
import { cpuBetween, printCpu } from './process-cpu.js';

const BENCH = 'load';
/** Offered rates (messages/s), lowest first. */
const RATES = [2, 5, 10, 20, 40, 80, 160, 320] as const;
/**
 * A step lasts 5 s, or long enough for 100 messages: with fewer, p99 is the single worst sample and
 * one hiccup of a shared machine would decide the knee.
 */
const STEP_MIN_MS = 5_000;
const STEP_MIN_MESSAGES = 100;
const stepMs = (rate: number) => Math.max(STEP_MIN_MS, (STEP_MIN_MESSAGES * 1000) / rate);
/** After a step's last arrival, how long its replies may still come before they count as lost. */
const GRACE_MS = 15_000;
const POST_TIMEOUT_MS = 10_000;
const CONVERSATIONS = 64;
/** A step stops sending (and fails) when this many of its messages await their answer or reply. */
const MAX_IN_FLIGHT = 1_000;
/** The p99 bound, as a multiple of the unloaded reply p50. */
const BOUND_FACTOR = 5;
/** Whole run (after startup): no new step starts past it. */
const BUDGET_MS = 8 * 60_000;
/** Quiet time between steps, so one step's backlog does not land in the next. */
const SETTLE_MS = 2_000;
/** Sequential messages for the unloaded reference p50. */
const UNLOADED_MESSAGES = 40;
/** Closed-loop conversations and duration of the saturation round. */
const SATURATION_CONVERSATIONS = 32;
const SATURATION_MS = 8_000;

interface Step {
  rate: number;
  /** Arrivals the schedule asked for / messages actually sent. */
  offered: number;
  sent: number;
  ok: number;
  refused: number;
  failed: number;
  lost: number;
  latencies: number[];
  /** Reply latency of each message in sending order (undefined: no reply), for BENCH_RAW. */
  ordered: (number | undefined)[];
  /** Replied messages, for the breakdown from the server's spans. */
  replied: TimedMessage[];
  /** Failed answers by status (0: network error or timeout). */
  failures: Map<number, number>;
  /** Messages sent per second, over the sending window. */
  sendRate: number;
  /** Replies per second, from the first send to the last reply. */
  replyRate: number;
  /** The step stopped sending early (too many in flight). */
  overloaded: boolean;
  /** Server warnings/errors logged during the step (overflow to the queue, failed turns…). */
  problems: Map<string, number>;
}

async function runStep(server: DevServer, chats: readonly Conversation[], rate: number): Promise<Step> {
  const problemsBefore = new Map(server.log.problems);
  const step: Step = {
    rate,
    offered: Math.round((rate * stepMs(rate)) / 1000),
    sent: 0,
    ok: 0,
    refused: 0,
    failed: 0,
    lost: 0,
    latencies: [],
    ordered: [],
    replied: [],
    failures: new Map(),
    sendRate: 0,
    replyRate: 0,
    overloaded: false,
    problems: new Map(),
  };
  const start = nowMs();
  const replyDeadline = start + stepMs(rate) + GRACE_MS;
  let inFlight = 0;
  let lastReply = start;
  const messages: Promise<void>[] = [];
  const send = async (chat: Conversation, index: number): Promise<void> => {
    inFlight++;
    try {
      const post = await chat.say('hello', POST_TIMEOUT_MS);
      if (post.status === 429 || post.status === 503) step.refused++;
      else if (post.id === undefined) {
        step.failed++;
        step.failures.set(post.status, (step.failures.get(post.status) ?? 0) + 1);
      } else {
        step.ok++;
        const at = await chat.reply(post.id, Math.max(0, replyDeadline - nowMs()));
        if (at === undefined) step.lost++;
        else {
          step.latencies.push(at - post.sentAt);
          step.ordered[index] = at - post.sentAt;
          step.replied.push({ post, replyAt: at });
          lastReply = Math.max(lastReply, at);
        }
      }
    } finally {
      inFlight--;
    }
  };
  // Arrival i is due at start + i/rate; a late timer sends every arrival that is due at once, so
  // the offered rate holds (open loop) even when this process falls behind for a moment.
  for (let i = 0; i < step.offered; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - nowMs();
    if (wait > 1) await pause(wait);
    if (inFlight >= MAX_IN_FLIGHT) {
      step.overloaded = true;
      break;
    }
    messages.push(send(chats[i % chats.length]!, i));
    step.sent++;
  }
  const sendSeconds = (nowMs() - start) / 1000;
  await Promise.all(messages);
  step.sendRate = step.sent / Math.max(sendSeconds, 1 / rate);
  step.replyRate = step.latencies.length / ((lastReply - start) / 1000);
  for (const [name, count] of server.log.problems) {
    const delta = count - (problemsBefore.get(name) ?? 0);
    if (delta > 0) step.problems.set(name, delta);
  }
  return step;
}

/** Every message answered 2xx and replied, nothing cut short, and p99 within the bound. */
function holds(step: Step, bound: number): boolean {
  return !step.overloaded && step.ok === step.sent && step.sent === step.offered && step.lost === 0 && p99(step.latencies) <= bound;
}

const fmt = (x: number) => (Number.isNaN(x) ? '-' : x.toFixed(1));

function printSteps(steps: readonly Step[], bound: number): void {
  console.log(
    `\nopen-loop steps of ≥ ${STEP_MIN_MS / 1000} s and ≥ ${STEP_MIN_MESSAGES} messages on ${CONVERSATIONS} conversations; p99 bound ${fmt(bound)} ms (${BOUND_FACTOR}× the unloaded p50)`,
  );
  console.log(
    `${'rate/s'.padStart(7)}${'sent/s'.padStart(8)}${'replies/s'.padStart(10)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'2xx'.padStart(6)}${'refused'.padStart(8)}${'failed'.padStart(7)}${'lost'.padStart(6)}  holds  server warnings`,
  );
  for (const s of steps) {
    const failures = [...s.failures].map(
      ([status, n]) => `${n}× ${status === 0 ? 'no answer within 10 s or network error' : `HTTP ${status}`}`,
    );
    const notes = [...failures, ...[...s.problems].map(([k, v]) => `${k}×${v}`)].join(', ');
    console.log(
      `${String(s.rate).padStart(7)}${s.sendRate.toFixed(1).padStart(8)}${s.replyRate.toFixed(1).padStart(10)}${fmt(p50(s.latencies)).padStart(9)}${fmt(p99(s.latencies)).padStart(9)}` +
        `${String(s.ok).padStart(6)}${String(s.refused).padStart(8)}${String(s.failed).padStart(7)}${String(s.lost).padStart(6)}  ${(holds(s, bound) ? 'yes' : 'NO').padEnd(5)}  ${s.overloaded ? `stopped sending at ${MAX_IN_FLIGHT} in flight; ` : ''}${notes}`,
    );
  }
}

/** Per step, p50/p99 of each part of a reply's time (see REPLY_PARTS), from the server's spans. */
function printBreakdown(log: ServerLog, steps: readonly Step[]): void {
  const parts = REPLY_PARTS.filter(([p]) => p !== 'component');
  console.log("\nwhere a reply's time goes per step (ms, p50/p99; spans matched per step in brackets)");
  console.log(`${'rate/s'.padStart(7)}  ${parts.map(([p]) => p.padStart(16)).join('')}`);
  for (const s of steps) {
    const b = replyBreakdown(log, s.replied);
    const cells = parts.map(([p]) => `${fmt(p50(b.parts[p]))}/${fmt(p99(b.parts[p]))}`.padStart(16)).join('');
    console.log(`${String(s.rate).padStart(7)}  ${cells}  [${b.matched}]`);
  }
  for (const [p, what] of parts) console.log(`  ${p}: ${what}`);
}

async function main(): Promise<void> {
  const server = await startDevServer();
  try {
    const budgetEnd = Date.now() + BUDGET_MS;
    const chats = await Promise.all(
      Array.from({ length: CONVERSATIONS }, (_, i) => Conversation.open(server.url, BENCH_TENANT, `load-user-${i}`)),
    );
    try {
      const turn = async (chat: Conversation): Promise<number | undefined> => {
        const post = await chat.say('hello', POST_TIMEOUT_MS);
        const at = post.id === undefined ? undefined : await chat.reply(post.id, 30_000);
        return at === undefined ? undefined : at - post.sentAt;
      };
      // Warm-up: every conversation and the channel object have handled a turn.
      await closedLoop(CONVERSATIONS, 2_000, async (w) => (await turn(chats[w]!)) !== undefined);
      const unloaded: number[] = [];
      for (let i = 0; i < UNLOADED_MESSAGES; i++) {
        const ms = await turn(chats[i % CONVERSATIONS]!);
        if (ms === undefined) throw new Error('an unloaded message got no reply');
        unloaded.push(ms);
        await pause(25);
      }
      const bound = BOUND_FACTOR * p50(unloaded);
      await pause(SETTLE_MS);
      const saturation = await closedLoop(SATURATION_CONVERSATIONS, SATURATION_MS, async (w) => (await turn(chats[w]!)) !== undefined);
      console.error(
        `load: unloaded reply p50 ${fmt(p50(unloaded))} ms (bound ${fmt(bound)} ms); saturation ${saturation.perSecond.toFixed(1)} replies/s`,
      );
      const steps: Step[] = [];
      const cpuBefore = server.cpu();
      const t0 = performance.now();
      for (const rate of RATES) {
        if (Date.now() > budgetEnd) {
          console.error(`load: time budget of ${BUDGET_MS / 60_000} min used up before the ${rate}/s step`);
          break;
        }
        await pause(SETTLE_MS);
        const step = await runStep(server, chats, rate);
        steps.push(step);
        console.error(
          `load: ${rate}/s → ${step.ok}/${step.offered} answered 2xx, ${step.latencies.length} replied, p99 ${fmt(p99(step.latencies))} ms`,
        );
        // The first step that does not hold ends the run: beyond the knee the backlog only grows.
        if (!holds(step, bound)) break;
      }
      const cpu = cpuBetween(cpuBefore, server.cpu());
      const seconds = (performance.now() - t0) / 1000;

      await server.log.settle();
      printSteps(steps, bound);
      printBreakdown(server.log, steps);
      printCpu(
        'CPU over all steps (settling pauses and grace periods included)',
        cpu,
        seconds,
        steps.reduce((a, s) => a + s.latencies.length, 0),
      );
      let knee = 0;
      for (const s of steps) {
        if (!holds(s, bound)) break;
        knee = s.rate;
      }
      const lost = steps.reduce((a, s) => a + s.lost, 0);
      const answered = steps.reduce((a, s) => a + s.ok, 0);
      console.log(
        `\nunloaded reply p50 ${fmt(p50(unloaded))} ms (p99 ${fmt(p99(unloaded))}, ${UNLOADED_MESSAGES} messages one at a time); ` +
          `saturation: ${saturation.perSecond.toFixed(1)} replies/s with ${SATURATION_CONVERSATIONS} conversations in a closed loop\n`,
      );
      const rows: CheckedRow[] = [
        figure(
          BENCH,
          'knee_rate',
          knee,
          'msg/s',
          saturation.perSecond,
          `informational: highest offered rate with reply p99 ≤ ${BOUND_FACTOR}× the unloaded p50, every message answered 2xx and replied; baseline = replies/s of ${SATURATION_CONVERSATIONS} conversations in a closed loop`,
        ),
        figure(
          BENCH,
          'lost_messages',
          lost,
          'msg',
          answered,
          '0 (answered 2xx, no reply within the grace period); baseline = messages answered 2xx',
          {
            max: 0,
          },
        ),
        ...steps.flatMap((s) => [
          figure(BENCH, `reply_p99_at_${s.rate}`, p99(s.latencies), 'ms', bound / BOUND_FACTOR, `≤ ${BOUND_FACTOR} for the step to hold`, {
            max: BOUND_FACTOR,
          }),
          figure(BENCH, `replies_per_s_at_${s.rate}`, s.replyRate, 'msg/s', s.rate, 'informational: achieved vs offered rate'),
        ]),
      ];
      // BENCH_RAW=1 prints every step's reply latencies in sending order (ms; null: no reply).
      if (process.env.BENCH_RAW)
        console.error(
          JSON.stringify(steps.map((s) => ({ rate: s.rate, ms: s.ordered.map((x) => (x === undefined ? null : Math.round(x))) }))),
        );
      printFigures(rows);
    } finally {
      for (const chat of chats) chat.close();
    }
  } finally {
    await server.stop();
  }
}

await main();
