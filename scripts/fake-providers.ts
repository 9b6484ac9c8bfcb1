/**
 * Local stand-ins for the Slack, Telegram, WhatsApp and Teams APIs, speaking their wire formats,
 * so `npm run dev` runs the four channels end to end without the internet:
 *
 *   - the server (started by `npm run dev`, or `tsx scripts/fake-providers.ts serve [--port N]`)
 *     answers the runner's sends (chat.postMessage, sendMessage/answerCallbackQuery, /messages,
 *     the Entra token endpoint, the Bot Connector) and prints each reply it receives; it also
 *     serves the Bot Framework OpenID metadata and a key set holding a local signing key;
 *   - `tsx scripts/fake-providers.ts say <slack|teams|telegram|whatsapp> <tenant> <text>` sets the
 *     tenant's provider secrets (local values, `.greentic/dev/channels.json`) through the admin API
 *     and posts a correctly signed delivery of `<text>` to the runner's webhook, as the provider
 *     would.
 *
 * `channelDevVars(url)` gives the vars that point the runner at the server (dev.ts writes them to
 * `.dev.vars`, where a developer can point them back at the real APIs).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const STATE_FILE = join(ROOT, '.greentic', 'dev', 'channels.json');
export const DEFAULT_FAKE_PROVIDERS_PORT = 8790;
const TEAMS_APP_ID = '00000000-0000-4000-8000-00000000de00';
const TEAMS_KID = 'greentic-dev';

interface DevChannelState {
  secrets: Record<string, string>;
  teams_key: JWK;
}

/** The local provider secrets and Teams signing key, made once and kept (gitignored). */
async function devState(): Promise<DevChannelState> {
  if (existsSync(STATE_FILE)) return JSON.parse(await readFile(STATE_FILE, 'utf8')) as DevChannelState;
  const secret = () => randomBytes(24).toString('hex');
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const state: DevChannelState = {
    secrets: {
      'slack/signing_secret': secret(),
      'slack/bot_token': `xoxb-dev-${secret()}`,
      'telegram/secret_token': secret(),
      'telegram/bot_token': `1000000001:dev${secret()}`,
      'whatsapp/app_secret': secret(),
      'whatsapp/verify_token': secret(),
      'whatsapp/access_token': `EAAdev${secret()}`,
      'teams/app_id': TEAMS_APP_ID,
      'teams/app_password': secret(),
      'teams/tenant_id': 'dev-tenant',
    },
    teams_key: { ...(await exportJWK(privateKey)), kid: TEAMS_KID, alg: 'RS256' },
  };
  await mkdir(dirname(STATE_FILE), { recursive: true });
  await writeFile(STATE_FILE, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  return state;
}

/** The runner vars that send every provider call to the server at `url`. */
export function channelDevVars(url: string): Record<string, string> {
  return {
    SLACK_API_BASE: `${url}/slack/api`,
    TELEGRAM_API_BASE: `${url}/telegram`,
    WHATSAPP_API_BASE: `${url}/whatsapp/v25.0`,
    TEAMS_OPENID_METADATA_URL: `${url}/teams/openid`,
    TEAMS_TOKEN_URL: `${url}/teams/{tenant}/token`,
  };
}

async function bodyOf(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function parsed(text: string): Record<string, unknown> {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return {};
  }
}

export async function startFakeProviders(port: number, log: (line: string) => void): Promise<{ url: string; server: Server }> {
  const state = await devState();
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicKey } = state.teams_key;
  const url = `http://127.0.0.1:${port}`;
  let messageId = 1000;
  const server = createServer((req, res) => {
    void (async () => {
      const path = new URL(req.url ?? '/', url).pathname;
      const text = await bodyOf(req);
      const body = parsed(text);
      if (req.method === 'GET' && path === '/teams/openid') {
        return send(res, 200, {
          issuer: 'https://api.botframework.com',
          jwks_uri: `${url}/teams/keys`,
          id_token_signing_alg_values_supported: ['RS256'],
        });
      }
      if (req.method === 'GET' && path === '/teams/keys')
        return send(res, 200, { keys: [{ ...publicKey, use: 'sig', endorsements: ['msteams'] }] });
      if (req.method !== 'POST') return send(res, 404, { error: 'not_found' });
      if (path === '/slack/api/chat.postMessage') {
        log(`[slack] chat.postMessage ${String(body.channel)}: ${String(body.text)}`);
        return send(res, 200, {
          ok: true,
          channel: body.channel,
          ts: `${Math.floor(Date.now() / 1000)}.${String(++messageId).padStart(6, '0')}`,
        });
      }
      const telegram = /^\/telegram\/bot[^/]+\/(\w+)$/.exec(path);
      if (telegram !== null) {
        if (telegram[1] === 'sendMessage') log(`[telegram] sendMessage ${String(body.chat_id)}: ${String(body.text)}`);
        return send(res, 200, {
          ok: true,
          result:
            telegram[1] === 'sendMessage'
              ? {
                  message_id: ++messageId,
                  chat: { id: body.chat_id, type: 'private' },
                  date: Math.floor(Date.now() / 1000),
                  text: body.text,
                }
              : true,
        });
      }
      if (/^\/whatsapp\/v25\.0\/[^/]+\/messages$/.test(path)) {
        const shown = body.type === 'text' ? (body.text as { body?: string } | undefined)?.body : JSON.stringify(body.interactive);
        log(`[whatsapp] /messages ${String(body.to ?? body.recipient)}: ${shown}`);
        return send(res, 200, {
          messaging_product: 'whatsapp',
          contacts: [{ input: body.to, wa_id: body.to }],
          messages: [{ id: `wamid.dev${++messageId}` }],
        });
      }
      if (/^\/teams\/[^/]+\/token$/.test(path))
        return send(res, 200, { token_type: 'Bearer', expires_in: 3599, access_token: `dev-bot-token-${++messageId}` });
      if (path.startsWith('/teams/connector/v3/conversations/')) {
        log(
          `[teams] ${decodeURIComponent(path.slice('/teams/connector'.length))}: ${String(body.text ?? '')}${Array.isArray(body.attachments) ? ` (+${body.attachments.length} card)` : ''}`,
        );
        return send(res, 201, { id: String(++messageId) });
      }
      return send(res, 404, { error: 'not_found', message: `the fake providers do not serve ${req.method} ${path}` });
    })().catch((err: unknown) => send(res, 500, { error: String(err) }));
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', ok);
  });
  return { url, server };
}

// ------------------------------------------------------------------ say: a signed delivery

async function delivery(
  provider: string,
  text: string,
  fakeUrl: string,
  state: DevChannelState,
): Promise<{ headers: Record<string, string>; body: string }> {
  const now = Math.floor(Date.now() / 1000);
  const id = `${now}${randomBytes(2).readUInt16BE()}`;
  const hmac = (secret: string, data: string) => createHmac('sha256', secret).update(data).digest('hex');
  switch (provider) {
    case 'slack': {
      const body = JSON.stringify({
        type: 'event_callback',
        event_id: `EvDEV${id}`,
        team_id: 'TDEV',
        event: { type: 'message', channel: 'DDEV', channel_type: 'im', user: 'UDEV', text, ts: `${now}.000100` },
        authorizations: [{ user_id: 'UBOT', is_bot: true }],
      });
      const ts = String(now);
      return {
        headers: {
          'x-slack-request-timestamp': ts,
          'x-slack-signature': `v0=${hmac(state.secrets['slack/signing_secret']!, `v0:${ts}:${body}`)}`,
        },
        body,
      };
    }
    case 'telegram': {
      const body = JSON.stringify({
        update_id: Number(id) % 2_000_000_000,
        message: {
          message_id: 1,
          from: { id: 4242, is_bot: false, first_name: 'Dev' },
          chat: { id: 4242, type: 'private' },
          date: now,
          text,
        },
      });
      return { headers: { 'x-telegram-bot-api-secret-token': state.secrets['telegram/secret_token']! }, body };
    }
    case 'whatsapp': {
      const body = JSON.stringify({
        object: 'whatsapp_business_account',
        entry: [
          {
            id: 'WABA',
            changes: [
              {
                field: 'messages',
                value: {
                  messaging_product: 'whatsapp',
                  metadata: { display_phone_number: '15550000000', phone_number_id: '100000000000001' },
                  messages: [{ from: '15551230000', id: `wamid.DEV${id}`, timestamp: String(now), type: 'text', text: { body: text } }],
                },
              },
            ],
          },
        ],
      });
      return { headers: { 'x-hub-signature-256': `sha256=${hmac(state.secrets['whatsapp/app_secret']!, body)}` }, body };
    }
    case 'teams': {
      const serviceUrl = `${fakeUrl}/teams/connector/`;
      const body = JSON.stringify({
        type: 'message',
        id,
        serviceUrl,
        channelId: 'msteams',
        from: { id: '29:dev-user', name: 'Dev' },
        recipient: { id: `28:${TEAMS_APP_ID}`, name: 'Greentic' },
        conversation: { id: 'a:dev-conversation', conversationType: 'personal', tenantId: 'dev-tenant' },
        text,
      });
      const key = await importJWK(state.teams_key, 'RS256');
      const jwt = await new SignJWT({ serviceurl: serviceUrl })
        .setProtectedHeader({ alg: 'RS256', kid: TEAMS_KID })
        .setIssuer('https://api.botframework.com')
        .setAudience(TEAMS_APP_ID)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(key);
      return { headers: { authorization: `Bearer ${jwt}` }, body };
    }
    default:
      throw new Error(`unknown provider "${provider}" (slack, teams, telegram, whatsapp)`);
  }
}

async function devVars(): Promise<Record<string, string>> {
  const vars: Record<string, string> = {};
  const file = join(ROOT, '.dev.vars');
  if (!existsSync(file)) return vars;
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    const m = /^\s*([A-Z0-9_]+)\s*=\s*"?([^"]*)"?\s*$/.exec(line);
    if (m !== null) vars[m[1]!] = m[2]!;
  }
  return vars;
}

async function say(provider: string, tenant: string, text: string, runner: string, fakeUrl: string): Promise<void> {
  const state = await devState();
  const token = (await devVars()).ADMIN_TOKEN;
  if (token === undefined) throw new Error('no ADMIN_TOKEN in .dev.vars: run `npm run dev` first');
  for (const [key, value] of Object.entries(state.secrets).filter(([k]) => k.startsWith(`${provider}/`))) {
    const res = await fetch(`${runner}/admin/v1/tenants/${tenant}/secrets/${key}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}` },
      body: value,
    });
    if (!res.ok) throw new Error(`setting ${key}: ${res.status} ${await res.text()}`);
  }
  const { headers, body } = await delivery(provider, text, fakeUrl, state);
  const res = await fetch(`${runner}/v1/messaging/ingress/${provider}/${tenant}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  process.stdout.write(`${provider} webhook answered ${res.status} ${await res.text()}\n`);
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { port: { type: 'string' }, runner: { type: 'string' } },
  });
  const port = Number.parseInt(values.port ?? String(DEFAULT_FAKE_PROVIDERS_PORT), 10);
  const [command, provider, tenant, ...words] = positionals;
  if (command === 'serve') {
    const { url } = await startFakeProviders(port, (line) => process.stderr.write(`${line}\n`));
    process.stderr.write(`fake providers on ${url}\n`);
    return;
  }
  if (command === 'say' && provider !== undefined && tenant !== undefined && words.length > 0) {
    await say(provider, tenant, words.join(' '), values.runner ?? 'http://127.0.0.1:8787', `http://127.0.0.1:${port}`);
    return;
  }
  process.stderr.write(
    'usage: tsx scripts/fake-providers.ts serve [--port N] | say <slack|teams|telegram|whatsapp> <tenant> <text> [--runner URL] [--port N]\n',
  );
  process.exitCode = 2;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
