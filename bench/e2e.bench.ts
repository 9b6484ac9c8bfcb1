/**
 * End-to-end benchmark (`npm run bench:e2e`) against a server started as a user starts it
 * (`npm run dev` with bench/e2e.bundle.yaml on a free port, fresh local state), over loopback
 * HTTP and WebSockets as WebChat talks to it. Every figure has its floor measured in the same run:
 * - WebChat reply latency, one conversation, one message at a time: POST activity → the bot's
 *   reply frame on the conversation's WebSocket, for a turn of built-in nodes ("text") and a turn
 *   that calls the pack's Wasm component ("component"), against the round trip of the same POSTs
 *   (their HTTP response). Kinds are interleaved so both see the same machine.
 * - Replies/s with 32 conversations, each sending its next message when the previous reply came,
 *   against message POSTs/s at 32 connections (not waiting for replies); rounds alternate.
 * - The generic webhook (`http` flow): req/s at 8 connections and p50 at 1 connection, against
 *   `GET /healthz` the same way (interleaved).
 * - Where a reply's time goes, from the spans the server logs (session.turn, flow.execute,
 *   component.invoke) matched to each message, and wrangler's own request log.
 */
import { Conversation, nowMs, type PostResult } from './directline-client.js';
import {
  BENCH_TENANT,
  type Breakdown,
  type CheckedRow,
  closedLoop,
  type DevServer,
  figure,
  type LoopResult,
  p50,
  p99,
  pause,
  percentile,
  printFigures,
  REPLY_PARTS,
  replyBreakdown,
  startDevServer,
} from './e2e-harness.js';
import { addInto, type CpuSample, cpuBetween, printCpu } from './process-cpu.js';

const BENCH = 'e2e';
/** Warm-up turns of each kind (the first component call loads the pack's Dynamic Worker). */
const WARMUP = 10;
/** Measured turns of each kind. */
const SEQUENTIAL = 80;
/** Gap between sequential messages, so one turn's trailing work (outbox bookkeeping, log lines) does not land in the next. */
const GAP_MS = 25;
const CONVERSATIONS = 32;
const THROUGHPUT_ROUND_MS = 8_000;
const WEBHOOK_CONNECTIONS = 8;
const WEBHOOK_ROUND_MS = 6_000;
const WEBHOOK_SEQUENTIAL = 200;
const REPLY_TIMEOUT_MS = 30_000;

type Kind = 'text' | 'component';
const MESSAGE: Record<Kind, string> = { text: 'hello', component: 'component' };

interface Turn {
  kind: Kind;
  post: PostResult;
  replyAt: number;
}

const rtt = (p: PostResult) => p.answeredAt - p.sentAt;

/** One message and its reply; throws when either fails (the sequential figures need every turn). */
async function turn(chat: Conversation, kind: Kind): Promise<Turn> {
  const post = await chat.say(MESSAGE[kind], REPLY_TIMEOUT_MS);
  if (post.id === undefined) throw new Error(`POST ${kind} answered ${post.status}`);
  const replyAt = await chat.reply(post.id, REPLY_TIMEOUT_MS);
  if (replyAt === undefined) throw new Error(`no reply to the ${kind} message ${post.id} within ${REPLY_TIMEOUT_MS / 1000} s`);
  return { kind, post, replyAt };
}

/** Sequential turns, kinds interleaved with an echo-only POST (an `event` activity: stored, not handed to the bot). */
async function sequential(server: DevServer): Promise<{ turns: Turn[]; eventPosts: PostResult[]; from: number; to: number }> {
  const chat = await Conversation.open(server.url, BENCH_TENANT, 'seq-user');
  try {
    for (let i = 0; i < WARMUP; i++) {
      await turn(chat, 'text');
      await turn(chat, 'component');
    }
    const turns: Turn[] = [];
    const eventPosts: PostResult[] = [];
    const from = nowMs();
    for (let i = 0; i < SEQUENTIAL; i++) {
      // The order alternates, so neither kind always follows the other.
      for (const kind of i % 2 === 0 ? (['text', 'component'] as const) : (['component', 'text'] as const)) {
        turns.push(await turn(chat, kind));
        await pause(GAP_MS);
      }
      const event = await chat.post({ type: 'event', name: 'bench.floor' });
      if (event.id === undefined) throw new Error(`POST event answered ${event.status}`);
      eventPosts.push(event);
      await pause(GAP_MS);
    }
    return { turns, eventPosts, from, to: nowMs() };
  } finally {
    chat.close();
  }
}

interface Throughput {
  posts: LoopResult[];
  replies: LoopResult[];
  events: LoopResult;
  /** CPU used during the full-turn rounds and their wall time. */
  turnCpu: CpuSample;
  turnSeconds: number;
}

/** Closed-loop rounds at 32 conversations: message POSTs alone (the floor), then full turns, twice; then echo-only POSTs. */
async function throughput(server: DevServer): Promise<Throughput> {
  const chats = await Promise.all(
    Array.from({ length: CONVERSATIONS }, (_, i) => Conversation.open(server.url, BENCH_TENANT, `load-user-${i}`)),
  );
  try {
    const postsOnly = async (): Promise<LoopResult> => {
      const pending: Promise<number | undefined>[] = [];
      const result = await closedLoop(CONVERSATIONS, THROUGHPUT_ROUND_MS, async (w) => {
        const post = await chats[w]!.say(MESSAGE.text, REPLY_TIMEOUT_MS);
        if (post.id !== undefined) pending.push(chats[w]!.reply(post.id, 120_000));
        return post.id !== undefined;
      });
      // The turns those POSTs started finish before the next round measures anything.
      await Promise.all(pending);
      return result;
    };
    const fullTurns = () =>
      closedLoop(CONVERSATIONS, THROUGHPUT_ROUND_MS, async (w) => {
        const post = await chats[w]!.say(MESSAGE.text, REPLY_TIMEOUT_MS);
        return post.id !== undefined && (await chats[w]!.reply(post.id, REPLY_TIMEOUT_MS)) !== undefined;
      });
    // Warm-up: every conversation's object exists and the channel object has seen them.
    await closedLoop(CONVERSATIONS, 2_000, async (w) => {
      const post = await chats[w]!.say(MESSAGE.text, REPLY_TIMEOUT_MS);
      return post.id !== undefined && (await chats[w]!.reply(post.id, REPLY_TIMEOUT_MS)) !== undefined;
    });
    const posts: LoopResult[] = [];
    const replies: LoopResult[] = [];
    const turnCpu: CpuSample = new Map();
    let turnSeconds = 0;
    for (let round = 0; round < 2; round++) {
      posts.push(await postsOnly());
      const before = server.cpu();
      const t0 = performance.now();
      replies.push(await fullTurns());
      turnSeconds += (performance.now() - t0) / 1000;
      addInto(turnCpu, cpuBetween(before, server.cpu()));
    }
    const events = await closedLoop(CONVERSATIONS, THROUGHPUT_ROUND_MS, async (w) => {
      return (await chats[w]!.post({ type: 'event', name: 'bench.floor' })).id !== undefined;
    });
    return { posts, replies, events, turnCpu, turnSeconds };
  } finally {
    for (const chat of chats) chat.close();
  }
}

async function timedGet(url: string): Promise<number | undefined> {
  const t0 = performance.now();
  try {
    const res = await fetch(url);
    await res.arrayBuffer();
    return res.ok ? performance.now() - t0 : undefined;
  } catch {
    return undefined;
  }
}

async function webhook(server: DevServer) {
  let n = 0;
  const hook = () => timedGet(`${server.url}/v1/webhook/${BENCH_TENANT}/hook?n=${n++}`);
  const healthz = () => timedGet(`${server.url}/healthz`);
  for (let i = 0; i < 30; i++) {
    await hook();
    await healthz();
  }
  const hookLoops: LoopResult[] = [];
  const healthLoops: LoopResult[] = [];
  const hookCpu: CpuSample = new Map();
  const healthCpu: CpuSample = new Map();
  const measured = async (cpu: CpuSample, call: () => Promise<number | undefined>): Promise<LoopResult> => {
    const before = server.cpu();
    const result = await closedLoop(WEBHOOK_CONNECTIONS, WEBHOOK_ROUND_MS, async () => (await call()) !== undefined);
    addInto(cpu, cpuBetween(before, server.cpu()));
    return result;
  };
  for (let round = 0; round < 2; round++) {
    healthLoops.push(await measured(healthCpu, healthz));
    hookLoops.push(await measured(hookCpu, hook));
  }
  const hookMs: number[] = [];
  const healthMs: number[] = [];
  const from = nowMs();
  for (let i = 0; i < WEBHOOK_SEQUENTIAL; i++) {
    const pair = i % 2 === 0 ? [hook, healthz] : [healthz, hook];
    for (const call of pair) {
      const ms = await call();
      if (ms === undefined) throw new Error(`${call === hook ? 'the webhook' : 'healthz'} failed`);
      (call === hook ? hookMs : healthMs).push(ms);
    }
  }
  return { hookLoops, healthLoops, hookCpu, healthCpu, hookMs, healthMs, from, to: nowMs() };
}

/** Sum of successes over the sum of the rounds' durations. */
function combined(rounds: readonly LoopResult[]): number {
  return rounds.reduce((a, r) => a + r.ok, 0) / rounds.reduce((a, r) => a + r.seconds, 0);
}

// ------------------------------------------------------------------ breakdown

const fmt = (x: number) => (Number.isNaN(x) ? '-' : x.toFixed(1));

function printBreakdown(server: DevServer, turns: readonly Turn[]): CheckedRow[] {
  const of = (kind: Kind): Breakdown =>
    replyBreakdown(
      server.log,
      turns.filter((t) => t.kind === kind),
    );
  const text = of('text');
  const component = of('component');
  console.log(
    `\nwhere a reply's time goes (ms, p50 over the sequential turns; spans matched: text ${text.matched}, component ${component.matched})`,
  );
  console.log(`${'part'.padEnd(17)}${'text'.padStart(8)}${'comp'.padStart(8)}   ${'(p90 text/comp)'.padEnd(17)} what`);
  const rows: CheckedRow[] = [];
  for (const [part, what] of REPLY_PARTS) {
    const t = p50(text.parts[part]);
    const c = p50(component.parts[part]);
    const spread = `${fmt(percentile(text.parts[part], 0.9))}/${fmt(percentile(component.parts[part], 0.9))}`;
    console.log(`${part.padEnd(17)}${fmt(t).padStart(8)}${fmt(c).padStart(8)}   ${spread.padEnd(17)} ${what}`);
    if (part === 'reply') continue;
    const info = `informational: ${what.trim()}; baseline = the reply p50`;
    if (!Number.isNaN(t)) rows.push(figure(BENCH, `breakdown_text_${part}_p50`, t, 'ms', p50(text.parts.reply), info));
    if (!Number.isNaN(c)) rows.push(figure(BENCH, `breakdown_component_${part}_p50`, c, 'ms', p50(component.parts.reply), info));
  }
  console.log('(per-part p50s do not add up to the total p50; span times come from the Worker clock, good to a few ms)');
  return rows;
}

/** Wrangler's request log for a phase: server-side ms (inside workerd) per kind of request. */
function printRequestLog(
  server: DevServer,
  phases: { name: string; from: number; to: number }[],
  clientMs: Record<string, number[]>,
): void {
  console.log("\nwrangler's request log (ms inside the local runtime) vs the client's round trip, p50");
  const kinds: [string, RegExp][] = [
    ['POST activities (message/event)', /\/activities$/],
    ['GET /v1/webhook/…', /^\/v1\/webhook\//],
    ['GET /healthz', /^\/healthz$/],
  ];
  for (const { name, from, to } of phases) {
    // A line reaches this process shortly after its response; a second of slack catches the last ones.
    const requests = server.log.requests.filter((r) => r.at >= from && r.at <= to + 1_000);
    for (const [label, pattern] of kinds) {
      const ms = requests.filter((r) => pattern.test(r.path.split('?')[0]!)).map((r) => r.ms);
      if (ms.length === 0) continue;
      const client = clientMs[`${name}:${label}`];
      const clientText = client === undefined ? '' : `   client ${fmt(p50(client))}`;
      console.log(`  ${name.padEnd(12)} ${label.padEnd(32)} server ${fmt(p50(ms)).padStart(7)} (n=${ms.length})${clientText}`);
    }
  }
}

async function main(): Promise<void> {
  const server = await startDevServer();
  try {
    const started = nowMs();
    const seq = await sequential(server);
    const { turns, eventPosts } = seq;
    const tp = await throughput(server);
    const wh = await webhook(server);
    await server.log.settle();
    const seconds = ((nowMs() - started) / 1000).toFixed(0);

    const of = (kind: Kind) => turns.filter((t) => t.kind === kind);
    const replyMs = (kind: Kind) => of(kind).map((t) => t.replyAt - t.post.sentAt);
    const postMs = (kind: Kind) => of(kind).map((t) => rtt(t.post));
    const eventMs = eventPosts.map(rtt);

    const breakdownRows = printBreakdown(server, turns);
    printRequestLog(
      server,
      [
        { name: 'sequential', from: seq.from, to: seq.to },
        { name: 'webhook@1', from: wh.from, to: wh.to },
      ],
      {
        'sequential:POST activities (message/event)': [...postMs('text'), ...postMs('component'), ...eventMs],
        'webhook@1:GET /v1/webhook/…': wh.hookMs,
        'webhook@1:GET /healthz': wh.healthMs,
      },
    );
    const runs = server.log.spansNamed('webhook.run').filter((x) => x.start >= wh.from && x.start <= wh.to);
    console.log(
      `  webhook@1    inside the channel object: webhook.run span ${fmt(p50(runs.map((x) => x.duration_ms)))} ms p50 (n=${runs.length}; ` +
        'it starts after the D1 read of the active packs)',
    );
    console.log(
      `\nPOST round trip p50: text message ${fmt(p50(postMs('text')))} ms, component message ${fmt(p50(postMs('component')))} ms, ` +
        `event (echo stored, not handed to the bot) ${fmt(p50(eventMs))} ms`,
    );
    console.log(
      `32 conversations: message POSTs/s ${tp.posts.map((r) => r.perSecond.toFixed(1)).join(', ')}; replies/s ${tp.replies.map((r) => r.perSecond.toFixed(1)).join(', ')}; ` +
        `event POSTs/s ${tp.events.perSecond.toFixed(1)}; failures ${[...tp.posts, ...tp.replies, tp.events].reduce((a, r) => a + r.failed, 0)}`,
    );
    console.log(
      `webhook at ${WEBHOOK_CONNECTIONS}: ${wh.hookLoops.map((r) => r.perSecond.toFixed(1)).join(', ')} req/s; healthz ${wh.healthLoops.map((r) => r.perSecond.toFixed(1)).join(', ')} req/s`,
    );
    printCpu(
      `CPU while ${CONVERSATIONS} conversations ran full turns (replies/s rounds)`,
      tp.turnCpu,
      tp.turnSeconds,
      tp.replies.reduce((a, r) => a + r.ok, 0),
    );
    const sum = (rounds: readonly LoopResult[], f: (r: LoopResult) => number) => rounds.reduce((a, r) => a + f(r), 0);
    printCpu(
      `CPU while ${WEBHOOK_CONNECTIONS} connections called the webhook`,
      wh.hookCpu,
      sum(wh.hookLoops, (r) => r.seconds),
      sum(wh.hookLoops, (r) => r.ok),
    );
    printCpu(
      `CPU while ${WEBHOOK_CONNECTIONS} connections called GET /healthz`,
      wh.healthCpu,
      sum(wh.healthLoops, (r) => r.seconds),
      sum(wh.healthLoops, (r) => r.ok),
    );
    if (server.log.problems.size > 0) console.log(`server warnings/errors: ${JSON.stringify(Object.fromEntries(server.log.problems))}`);
    console.log(`measured in ${seconds} s\n`);

    const rows: CheckedRow[] = [
      figure(BENCH, 'webchat_reply_text_p50', p50(replyMs('text')), 'ms', p50(postMs('text')), "p50 ≤ 3× the same POSTs' round trip p50", {
        max: 3,
      }),
      figure(BENCH, 'webchat_reply_text_p99', p99(replyMs('text')), 'ms', p50(postMs('text')), "p99 ≤ 5× the same POSTs' round trip p50", {
        max: 5,
      }),
      figure(
        BENCH,
        'webchat_reply_component_p50',
        p50(replyMs('component')),
        'ms',
        p50(postMs('component')),
        "p50 ≤ 4× the same POSTs' round trip p50",
        { max: 4 },
      ),
      figure(
        BENCH,
        'webchat_reply_component_p99',
        p99(replyMs('component')),
        'ms',
        p50(postMs('component')),
        "p99 ≤ 5× the same POSTs' round trip p50",
        { max: 5 },
      ),
      figure(
        BENCH,
        'webchat_post_text_p50',
        p50(postMs('text')),
        'ms',
        p50(eventMs),
        'informational: the text floor vs a POST that only stores the echo (event activity)',
      ),
      figure(
        BENCH,
        'webchat_post_component_p50',
        p50(postMs('component')),
        'ms',
        p50(eventMs),
        'informational: the component floor vs a POST that only stores the echo (event activity)',
      ),
      figure(
        BENCH,
        'webchat_replies_per_s_32',
        combined(tp.replies),
        'msg/s',
        combined(tp.posts),
        '≥ 0.5× message POSTs/s at 32 connections',
        { min: 0.5 },
      ),
      figure(
        BENCH,
        'webchat_event_posts_per_s_32',
        tp.events.perSecond,
        'req/s',
        combined(tp.posts),
        'informational: echo-only POSTs/s at 32 vs message POSTs/s',
      ),
      figure(
        BENCH,
        'webhook_rps_8',
        combined(wh.hookLoops),
        'req/s',
        combined(wh.healthLoops),
        `≥ 0.5× GET /healthz req/s at ${WEBHOOK_CONNECTIONS} connections`,
        { min: 0.5 },
      ),
      figure(BENCH, 'webhook_p50_1', p50(wh.hookMs), 'ms', p50(wh.healthMs), 'p50 ≤ 2× GET /healthz p50 at 1 connection', { max: 2 }),
      figure(BENCH, 'webhook_p99_1', p99(wh.hookMs), 'ms', p99(wh.healthMs), 'informational: p99 vs GET /healthz p99 at 1 connection'),
      ...breakdownRows,
    ];
    printFigures(rows);
  } finally {
    await server.stop();
  }
}

await main();
