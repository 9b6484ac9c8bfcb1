// The whole first-run path, as a new user meets it: `scripts/dev.ts` (what `npm run dev` runs) starts
// wrangler dev on a free port with fresh local state and publishes greentic.demo.yaml; headless
// Chromium opens the WebChat page (Microsoft's botframework-webchat bundle, unpatched) and holds
// the demo conversation: greeting, a question answered, an Adaptive Card submitted, a reload that
// resumes the conversation, and the bot remembering the user; "tools" is answered by the pack's
// TypeScript component (built by scripts/dev.ts), which reads the tenant secret publish set.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main as packCli } from '../../src/cli/greentic-pack.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const IN_CI = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

if (!HAVE_CHROMIUM && !IN_CI) {
  console.warn(
    `[browser] skipping the WebChat browser test: no Chromium at ${CHROMIUM} (install Debian's "chromium" or set CHROMIUM_PATH)`,
  );
}

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? ok(address.port) : fail(new Error('no port'))));
    });
  });
}

/** Starts scripts/dev.ts in its own process group and resolves once it printed the page URL. */
async function startDev(port: number, persistTo: string): Promise<{ child: ChildProcess; url: string; log: () => string }> {
  let output = '';
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'scripts', 'dev.ts'), '--port', String(port), '--persist-to', persistTo],
    {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    },
  );
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 150_000;
  while (!output.includes('WebChat demo:')) {
    if (child.exitCode !== null) throw new Error(`scripts/dev.ts exited with ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) throw new Error(`scripts/dev.ts did not become ready:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, url: `http://127.0.0.1:${port}/`, log: () => output };
}

function stopDev(child: ChildProcess | undefined): void {
  if (child?.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    // already gone
  }
}

async function send(page: Page, text: string): Promise<void> {
  const box = page.locator('[data-id="webchat-sendbox-input"]');
  await box.waitFor({ state: 'visible', timeout: 30_000 });
  await box.fill(text);
  await box.press('Enter');
  // WebChat ignores Enter until its Direct Line connection is online; the box empties once the
  // message is on its way, so press again while the text is still there.
  const deadline = Date.now() + 30_000;
  while ((await box.inputValue()) !== '') {
    if (Date.now() > deadline) throw new Error(`WebChat did not send "${text}" within 30 s`);
    await page.waitForTimeout(1_000);
    if ((await box.inputValue()) !== '') await box.press('Enter');
  }
}

async function seeBotSay(page: Page, text: string, timeout = 30_000): Promise<void> {
  await page.getByText(text, { exact: false }).last().waitFor({ state: 'visible', timeout });
}

let dev: Awaited<ReturnType<typeof startDev>> | undefined;

/**
 * Runs a test's browser steps on `page`: a failure carries the end of the dev server's output, and
 * the page is saved as `test-artifacts/<screenshot>` whatever happened, before `close` runs.
 */
async function onPage(page: Page, screenshot: string, close: () => Promise<void>, steps: () => Promise<void>): Promise<void> {
  try {
    await steps();
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- dev server output ---\n${dev!.log().slice(-4000)}`);
  } finally {
    await mkdir(join(ROOT, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'test-artifacts', screenshot), fullPage: true });
    await close();
  }
}
let persistTo = '';
let trackedBeforeDev = '';

/** `git status` of the tracked files (empty on a clean clone). */
function trackedChanges(): string {
  return execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' });
}

beforeAll(async () => {
  trackedBeforeDev = trackedChanges();
  persistTo = await mkdtemp(join(tmpdir(), 'greentic-dev-'));
  dev = await startDev(await freePort(), persistTo);
}, 200_000);

afterAll(async () => {
  stopDev(dev?.child);
  if (persistTo !== '') await rm(persistTo, { recursive: true, force: true });
});

async function adminToken(): Promise<string> {
  const vars = await readFile(join(ROOT, '.dev.vars'), 'utf8');
  const m = /^ADMIN_TOKEN="?([^"\n]+)"?$/m.exec(vars);
  if (m === null) throw new Error('.dev.vars has no ADMIN_TOKEN');
  return m[1]!;
}

async function publish(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await packCli(['publish', ...args], { out: (t) => (out += t), err: (t) => (err += t), env: {} });
  return { code, out, err };
}

describe('a fresh run of npm run dev', () => {
  it('leaves every tracked file as it was (the demo component build rewrites no committed manifest)', () => {
    expect(trackedChanges()).toBe(trackedBeforeDev);
  });
});

describe('greentic-pack publish against the running dev server', () => {
  it('re-applying greentic.demo.yaml changes nothing: the pack, its secret and its activation are reported unchanged', async () => {
    const url = dev!.url.replace(/\/$/, '');
    const token = await adminToken();
    const key = join(ROOT, '.greentic', 'dev', 'pack.key.pem');
    const secrets = join(ROOT, '.greentic', 'dev', 'secrets.json');
    const first = await publish([
      '--bundle',
      join(ROOT, 'greentic.demo.yaml'),
      '--url',
      url,
      '--token',
      token,
      '--key',
      key,
      '--secrets',
      secrets,
      '--json',
    ]);
    expect(first.code, first.err).toBe(0);
    const result = JSON.parse(first.out) as {
      packs: { pack_id: string; status: string }[];
      secrets: { key: string; status: string }[];
      activations: { tenant: string; status: string }[];
    };
    expect(result.packs).toEqual([expect.objectContaining({ pack_id: 'greentic.demo', status: 'unchanged' })]);
    expect(result.secrets).toEqual([{ tenant: 'demo', key: 'DEMO_API_KEY', status: 'unchanged' }]);
    const listed = await (await fetch(`${url}/admin/v1/tenants/demo/secrets`, { headers: { Authorization: `Bearer ${token}` } })).text();
    const value = (JSON.parse(await readFile(secrets, 'utf8')) as Record<string, string>).DEMO_API_KEY!;
    expect(listed).toContain('DEMO_API_KEY');
    expect(listed).not.toContain(value);
    expect(result.activations).toEqual([expect.objectContaining({ tenant: 'demo', pack_id: 'greentic.demo', status: 'unchanged' })]);
    const active = await fetch(`${url}/admin/v1/tenants/demo/packs`, { headers: { Authorization: `Bearer ${token}` } });
    expect(((await active.json()) as { packs: unknown[] }).packs).toHaveLength(1);
  });

  it('a wrong admin token fails with exit code 1 and names the admin API answer', async () => {
    const r = await publish([
      '--bundle',
      join(ROOT, 'greentic.demo.yaml'),
      '--url',
      dev!.url,
      '--token',
      'wrong',
      '--secrets',
      join(ROOT, '.greentic', 'dev', 'secrets.json'),
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('answered 403');
  });
});

describe.skipIf(!HAVE_CHROMIUM && !IN_CI)('WebChat in a real browser against npm run dev', () => {
  let browser: Browser | undefined;

  beforeAll(async () => {
    if (!HAVE_CHROMIUM) throw new Error(`CI must provide Chromium at ${CHROMIUM} (.ci/run installs Debian's "chromium")`);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('holds the demo conversation, survives a reload and remembers the user, under a strict CSP that blocks nothing it needs', async () => {
    const page = await browser!.newPage({ viewport: { width: 900, height: 900 } });
    const consoleErrors: string[] = [];
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    // Anything the page's Content-Security-Policy blocks is reported on the console.
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) consoleErrors.push(m.text());
    });
    await onPage(
      page,
      'webchat-demo.png',
      () => page.close(),
      async () => {
        const loaded = await page.goto(dev!.url);
        // Tokens live in this origin's localStorage: the page runs only this origin's scripts.
        const csp = loaded?.headers()['content-security-policy'] ?? '';
        expect(csp).toContain("script-src 'self'");
        expect(csp).toContain("connect-src 'self'");
        expect(csp).not.toContain('unsafe-eval');
        expect(loaded?.headers()['x-content-type-options']).toBe('nosniff');
        // The bot greets as the conversation opens (its autoStart welcome), before anything is typed.
        // WebChat renders bot text as markdown, which turns ' into a typographic apostrophe.
        await seeBotSay(page, 'your name?');

        await send(page, 'Ada');
        await seeBotSay(page, 'Nice to meet you, Ada!');
        const coffee = page.getByRole('button', { name: 'Coffee' }).last();
        await coffee.waitFor({ state: 'visible', timeout: 30_000 });
        await coffee.click();
        await seeBotSay(page, 'One coffee coming up');
        await page.getByRole('button', { name: 'Order again' }).first().waitFor({ state: 'visible', timeout: 30_000 });

        const conversationId = await page.getAttribute('body', 'data-conversation-id');
        await page.reload();
        // The resumed conversation replays its history, then continues where it was.
        await seeBotSay(page, 'One coffee coming up');
        expect(await page.getAttribute('body', 'data-conversation-id')).toBe(conversationId);
        await send(page, 'hi again');
        await seeBotSay(page, 'Welcome back, Ada!');
        expect(await page.getByText('Nice to meet you, Ada!').count()).toBeGreaterThan(0);
        expect(consoleErrors).toEqual([]);
      },
    );
  }, 180_000);

  it('an upstream pack published beside the demo pack greets with its card, and a button click shows the next card', async () => {
    // telco-x as greentic-demo built it (../shared/fixtures/upstream-packs), unchanged, for its own tenant.
    const url = dev!.url.replace(/\/$/, '');
    const auth = { Authorization: `Bearer ${await adminToken()}` };
    const fixtures = process.env.UPSTREAM_PACKS_DIR ?? join(ROOT, '..', 'shared', 'fixtures', 'upstream-packs');
    const up = await fetch(`${url}/admin/v1/packs`, {
      method: 'POST',
      headers: auth,
      body: await readFile(join(fixtures, 'telco-x.gtpack')),
    });
    expect(up.status).toBe(201);
    const { pack_id, digest } = (await up.json()) as { pack_id: string; digest: string };
    const activated = await fetch(`${url}/admin/v1/tenants/telco/packs/${pack_id}`, {
      method: 'PUT',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ digest }),
    });
    expect(activated.status).toBe(200);

    const context = await browser!.newContext({ viewport: { width: 900, height: 1200 } });
    const page = await context.newPage();
    await onPage(
      page,
      'webchat-upstream-telco.png',
      () => context.close(),
      async () => {
        await page.goto(`${dev!.url}?tenant=telco`);
        // The pack's welcome card, before anything is typed.
        await seeBotSay(page, 'What would you like to explore?', 60_000);
        const capacity = page.getByRole('button', { name: 'Capacity & Port Management' }).last();
        await capacity.waitFor({ state: 'visible', timeout: 30_000 });
        await capacity.click();
        // The sub-menu card the click leads to.
        await seeBotSay(page, 'Overutilised ACI ports', 60_000);
      },
    );
  }, 180_000);

  it('"tools" is answered by the demo pack\'s TypeScript component, which reads the secret publish set', async () => {
    // A fresh browser context is a fresh conversation: the bot has just greeted it, and "tools" answers its question.
    const context = await browser!.newContext({ viewport: { width: 900, height: 900 } });
    const page = await context.newPage();
    await onPage(
      page,
      'webchat-demo-tools.png',
      () => context.close(),
      async () => {
        await page.goto(dev!.url);
        await send(page, 'tools');
        await seeBotSay(page, 'one espresso for the tools demo. The demo API key is configured.', 60_000);
      },
    );
  }, 120_000);
});
