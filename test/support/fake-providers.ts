// The outside world for the channel tests: provider APIs faked at the Worker's `fetch` (the
// channel objects run in the test's isolate), answering in each provider's real wire format and
// recording every request as the provider would receive it. Anything not routed to a fake goes
// out unchanged. Also: the tenant setup every channel test needs (secrets through the admin API,
// an active echo pack) and signing helpers.
import { SELF } from 'cloudflare:test';
import { expect, vi } from 'vitest';
import type { DeadLetterMessage } from '../../src/bus/delivery.js';
import { type IngressMessage, ingressMessage } from '../../src/bus/messages.js';
import { type ReplyContent, replyContent } from '../../src/channels/card-model.js';
import { providerEnvelope } from '../../src/channels/ingress-request.js';
import { channelObjectFor } from '../../src/objects.js';
import { type InjectedSession, injectedSession } from './channel-session.js';
import { activate, ECHO_FLOW, seedPack, testEnv } from './runtime-fixtures.js';

export interface ProviderRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
}

type Responder = (req: ProviderRequest) => Response | Promise<Response>;

export class FakeProviders {
  readonly requests: ProviderRequest[] = [];
  private readonly routes: { prefix: string; respond: Responder }[] = [];
  private readonly scripted = new Map<string, Responder[]>();

  /** Starts intercepting `fetch`; returns this for chaining. */
  install(): this {
    const original = globalThis.fetch.bind(globalThis);
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      const route = this.routes.find((r) => request.url.startsWith(r.prefix));
      if (route === undefined) return original(input, init);
      const recorded: ProviderRequest = {
        url: request.url,
        method: request.method,
        headers: Object.fromEntries(request.headers),
        body: await request.text(),
      };
      this.requests.push(recorded);
      const next = this.scripted.get(route.prefix)?.shift();
      return (next ?? route.respond)(recorded);
    });
    return this;
  }

  /** Answers every request under `prefix` with `respond` (unless a scripted answer is queued). */
  on(prefix: string, respond: Responder): this {
    this.routes.push({ prefix, respond });
    return this;
  }

  /** The next requests under the route `prefix` get these answers, in order, before the default. */
  script(prefix: string, ...answers: Responder[]): void {
    const list = this.scripted.get(prefix) ?? [];
    list.push(...answers);
    this.scripted.set(prefix, list);
  }

  to(urlPrefix: string): ProviderRequest[] {
    return this.requests.filter((r) => r.url.startsWith(urlPrefix));
  }
}

export const json = (body: unknown, status = 200, headers: Record<string, string> = {}): Response =>
  Response.json(body, { status, headers });

/** Sets a tenant secret through the admin API. */
export async function setSecret(tenant: string, key: string, value: string): Promise<void> {
  const res = await SELF.fetch(`https://runner.test/admin/v1/tenants/${tenant}/secrets/${key}`, {
    method: 'PUT',
    headers: { authorization: 'Bearer test-admin-token' },
    body: value,
  });
  if (res.status !== 200 && res.status !== 201) throw new Error(`secret ${key}: ${res.status} ${await res.text()}`);
}

/** A tenant with an active pack whose flow answers every message with "echo: {text}". */
export async function echoTenant(tenant: string, secrets: Record<string, string>): Promise<void> {
  for (const [key, value] of Object.entries(secrets)) await setSecret(tenant, key, value);
  const digest = await seedPack(`echo.${tenant}`, '1.0.0', [ECHO_FLOW('echo')]);
  await activate(tenant, `echo.${tenant}`, digest);
}

export async function hmacHex(secret: string, data: string | Uint8Array): Promise<string> {
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = await crypto.subtle.sign('HMAC', key, typeof data === 'string' ? enc.encode(data) : data);
  return [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export function ingressUrl(provider: string, tenant: string, team?: string): string {
  return `https://runner.test/v1/messaging/ingress/${provider}/${tenant}${team === undefined ? '' : `/${team}`}`;
}

/** A recorded dead letter (the production sink would put it on the dead-letter queue). */
export type RecordedLetter = DeadLetterMessage & { reason: string };

/**
 * The channel object of `message` with its production senders (which call the fakes) and its
 * dead letters recorded in `letters`; `deliver` runs the turn and the first delivery attempt.
 */
export function providerSession(message: IngressMessage, letters: RecordedLetter[] = []): InjectedSession {
  return injectedSession(channelObjectFor(testEnv, message.envelope), {
    deadLetter: async (letter, reason) => {
      letters.push({ ...letter, reason });
    },
  });
}

/** When the oldest unsent reply is next due (ms since the epoch). */
export function nextAttemptAt(session: InjectedSession): Promise<number> {
  return session.sql((db) => db.exec<{ t: number }>('SELECT MIN(next_attempt_at) AS t FROM outbox WHERE sent_at IS NULL').one().t);
}

/** Runs the object's alarm (retries due) until a dead letter is recorded or nothing is scheduled. */
export async function retryUntilDeadLettered(session: InjectedSession, letters: RecordedLetter[]): Promise<void> {
  while (letters.length === 0 && (await session.runAlarm()));
}

/** A message as a provider ingress hands it over, for the egress tests. */
export function providerMessage(channel: string, tenant: string, id: string, conversation: string, text: string): IngressMessage {
  const envelope = providerEnvelope(
    { env: testEnv, tenant, team: undefined },
    { channel, id, user: 'u-1', anchor: conversation, scope: { conversation }, text },
  );
  return ingressMessage(envelope, { idempotencyKey: `${channel}:${id}` });
}

/** What a reply carrying this Adaptive Card shows (the renderers' input). */
export function cardReply(channel: string, tenant: string, card: unknown): ReplyContent {
  return replyContent({
    id: 'r',
    tenant: { env: testEnv.GREENTIC_ENV, tenant, tenant_id: tenant, attempt: 0 },
    channel,
    session_id: 's',
    to: [],
    attachments: [{ mime_type: 'application/vnd.microsoft.card.adaptive', content: card }],
    metadata: {},
    extensions: {},
  });
}

/** A refusal with this status and `{error}` code. */
export async function expectRefused(res: Response, status: number, error: string): Promise<void> {
  expect(res.status, error).toBe(status);
  expect(await res.json(), error).toMatchObject({ error });
}
