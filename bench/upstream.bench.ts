/**
 * Upstream packs benchmark (`npm run bench:upstream`): the first reply of each upstream demo pack
 * (`../shared/fixtures/upstream-packs/`, or UPSTREAM_PACKS_DIR), uploaded unchanged under the `dev`
 * policy and activated for a tenant of its own on a server started as `npm run dev` starts it.
 * Measured: a fresh WebChat conversation, its welcome awaited, then the user's first typed message
 * → the bot's first reply frame on the conversation's WebSocket; warm (each pack's components were
 * transpiled at upload and its Dynamic Worker loaded by the warm-up turns). Baseline, same run and
 * interleaved: the same first turn against the benchmark pack's flow that answers with a static text.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Conversation, nowMs } from './directline-client.js';
import { BENCH_TENANT, type CheckedRow, figure, p50, pause, printFigures, startDevServer } from './e2e-harness.js';

const BENCH = 'upstream';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FIXTURES = process.env.UPSTREAM_PACKS_DIR ?? join(ROOT, '..', 'shared', 'fixtures', 'upstream-packs');
const PACKS = ['telco-x', 'quickstart', 'quickstart-app', 'hr-onboarding', 'helpdesk-itsm'] as const;
const WARMUP = 3;
const SAMPLES = Number(process.env.UPSTREAM_BENCH_SAMPLES ?? 12);
const REPLY_TIMEOUT_MS = 30_000;
/** The first message each pack is sent (what a user would type first). */
const FIRST_TEXT = 'hello';

async function adminToken(): Promise<string> {
  const m = /^ADMIN_TOKEN="?([^"\n]+)"?$/m.exec(await readFile(join(ROOT, '.dev.vars'), 'utf8'));
  if (m === null) throw new Error('.dev.vars has no ADMIN_TOKEN');
  return m[1]!;
}

async function install(url: string, token: string, name: string, tenant: string): Promise<void> {
  const auth = { authorization: `Bearer ${token}` };
  const bytes = await readFile(join(FIXTURES, `${name}.gtpack`));
  const up = await fetch(`${url}/admin/v1/packs`, { method: 'POST', headers: auth, body: bytes });
  const body = (await up.json()) as { pack_id: string; digest: string };
  if (!up.ok) throw new Error(`uploading ${name} answered ${up.status}: ${JSON.stringify(body)}`);
  const act = await fetch(`${url}/admin/v1/tenants/${tenant}/packs/${body.pack_id}`, {
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ digest: body.digest }),
  });
  if (!act.ok) throw new Error(`activating ${name} answered ${act.status}: ${await act.text()}`);
}

/** A fresh conversation, its welcome turn over, then the first typed message: ms to the first reply frame. */
async function firstReply(url: string, tenant: string, n: number): Promise<number> {
  const conversation = await Conversation.open(url, tenant, `u-bench-${n}`);
  try {
    // The welcome (autoStart) turn runs when the conversation is created; it answers no activity,
    // so it is waited out rather than measured.
    await pause(400);
    const post = await conversation.say(FIRST_TEXT);
    if (post.id === undefined) throw new Error(`${tenant}: the first message answered ${post.status}`);
    const at = await conversation.reply(post.id, REPLY_TIMEOUT_MS);
    if (at === undefined) throw new Error(`${tenant}: no reply within ${REPLY_TIMEOUT_MS / 1000} s`);
    return at - post.sentAt;
  } finally {
    conversation.close();
  }
}

/** One first turn over plain Direct Line polling: what the bot answered must not be the failure answer. */
async function checkAnswer(url: string, tenant: string): Promise<void> {
  const minted = (await (await fetch(`${url}/v1/messaging/webchat/${tenant}/token`, { method: 'POST' })).json()) as {
    token: string;
    domain: string;
  };
  const headers = { authorization: `Bearer ${minted.token}`, 'content-type': 'application/json' };
  const started = await fetch(`${minted.domain}/conversations`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ user: { id: 'u-check' } }),
  });
  const { conversationId } = (await started.json()) as { conversationId: string };
  const posted = await fetch(`${minted.domain}/conversations/${conversationId}/activities`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ type: 'message', from: { id: 'u-check' }, text: FIRST_TEXT }),
  });
  const { id } = (await posted.json()) as { id: string };
  for (const deadline = Date.now() + REPLY_TIMEOUT_MS; Date.now() < deadline; await pause(200)) {
    const log = (await (await fetch(`${minted.domain}/conversations/${conversationId}/activities`, { headers })).json()) as {
      activities: { replyToId?: string; text?: string; attachments?: unknown[] }[];
    };
    const reply = log.activities.find((a) => a.replyToId === id);
    if (reply === undefined) continue;
    if (reply.text?.startsWith('Sorry')) throw new Error(`${tenant} answered its first turn with a failure: ${reply.text}`);
    return;
  }
  throw new Error(`${tenant}: no reply within ${REPLY_TIMEOUT_MS / 1000} s`);
}

async function main(): Promise<void> {
  const server = await startDevServer();
  try {
    const token = await adminToken();
    for (const name of PACKS) await install(server.url, token, name, `up-${name}`);
    const tenants = [BENCH_TENANT, ...PACKS.map((p) => `up-${p}`)];
    for (const tenant of tenants) {
      await checkAnswer(server.url, tenant);
      for (let i = 0; i < WARMUP; i++) await firstReply(server.url, tenant, -1 - i);
    }
    const samples = new Map<string, number[]>(tenants.map((t) => [t, []]));
    const started = nowMs();
    for (let i = 0; i < SAMPLES; i++) {
      // Interleaved: every pack and the baseline see the same machine state.
      for (const tenant of tenants) samples.get(tenant)!.push(await firstReply(server.url, tenant, i));
    }
    process.stderr.write(`[upstream] ${SAMPLES} rounds in ${((nowMs() - started) / 1000).toFixed(1)} s\n`);
    const baseline = p50(samples.get(BENCH_TENANT)!);
    const rows: CheckedRow[] = PACKS.map((name) =>
      figure(
        BENCH,
        `${name} first reply p50`,
        p50(samples.get(`up-${name}`)!),
        'ms',
        baseline,
        'as low as the pack allows; ratio vs a static text reply',
      ),
    );
    printFigures(rows);
  } finally {
    await server.stop();
  }
}

await main();
