// Slack Events API and interactivity (channels.md §1): the v0 signature over the raw body within
// a 5-minute window, `url_verification` answered with its challenge, messages and mentions (our
// own and edited traffic dropped), block actions as card submits, slash commands as text. A retry
// (`X-Slack-Retry-Num`) carries the same `event_id`, the dedup key the channel object holds.

import { hexBytes, hmacVerifies } from '../../session/webhook-auth.js';
import { actionData } from '../action-tokens.js';
import { cardSubmit } from '../card-submit.js';
import type { IngressCall } from '../channel.js';
import { handOver, notConfigured, type ProviderMessage, parseJsonObject, providerSecret, readBody, refusal } from '../ingress-request.js';

export const SLACK_CHANNEL = 'slack';
/** Slack documents no request size; 1 MiB holds any event (a message's text is at most 40,000 characters). */
export const SLACK_MAX_BODY_BYTES = 1024 * 1024;
/** How long the webhook waits for the channel object before it queues the message (Slack retries after 3 s). */
const ACK_BUDGET_MS = 2_000;
const MAX_SKEW_SECONDS = 300;
const encoder = new TextEncoder();

type Obj = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const obj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined);
const ok = (): Response => new Response(null, { status: 200 });

/** 401 unless the headers carry a fresh (at `now`, ms), valid v0 signature of these bytes. */
export async function verifySlackRequest(headers: Headers, secret: string, body: Uint8Array, now: number): Promise<Response | undefined> {
  const ts = headers.get('x-slack-request-timestamp');
  const signature = headers.get('x-slack-signature');
  if (ts === null || signature === null) {
    return refusal(401, 'MissingSignature', 'the X-Slack-Request-Timestamp and X-Slack-Signature headers are required');
  }
  if (!/^\d{1,12}$/.test(ts)) return refusal(401, 'InvalidTimestamp', 'X-Slack-Request-Timestamp is not a Unix time in seconds');
  if (Math.abs(now / 1000 - Number(ts)) > MAX_SKEW_SECONDS) {
    return refusal(
      401,
      'StaleTimestamp',
      `X-Slack-Request-Timestamp is more than ${MAX_SKEW_SECONDS} s away from now (a replayed request)`,
    );
  }
  const mac = signature.startsWith('v0=') ? hexBytes(signature.slice(3)) : undefined;
  const base = new Uint8Array([...encoder.encode(`v0:${ts}:`), ...body]);
  if (mac === undefined || !(await hmacVerifies(encoder.encode(secret), mac, base))) {
    return refusal(401, 'InvalidSignature', 'X-Slack-Signature does not match the body signed with the signing secret');
  }
  return undefined;
}

/** A message or mention from a person, or undefined for traffic we do not act on (bots, edits, us). */
function eventMessage(envelope: Obj, event: Obj): ProviderMessage | undefined {
  if (event.type !== 'message' && event.type !== 'app_mention') return undefined;
  const self = str(obj((envelope.authorizations as unknown[] | undefined)?.[0])?.user_id);
  const user = str(event.user);
  const channel = str(event.channel);
  if (event.bot_id !== undefined || event.subtype !== undefined || user === undefined || channel === undefined || user === self)
    return undefined;
  const thread = str(event.thread_ts);
  const mention = self === undefined ? undefined : `<@${self}>`;
  const raw = typeof event.text === 'string' ? event.text : '';
  const text = mention === undefined ? raw : raw.split(mention).join('').trim();
  const files = Array.isArray(event.files) ? event.files.map(obj).filter((f): f is Obj => f !== undefined) : [];
  return {
    channel: SLACK_CHANNEL,
    id: str(envelope.event_id) ?? str(event.ts) ?? '',
    user,
    anchor: thread ?? channel,
    scope: { conversation: channel, thread },
    text,
    attachments: files.map((f) => ({
      mime_type: str(f.mimetype) ?? 'application/octet-stream',
      ...((str(f.url_private_download) ?? str(f.url_private)) ? { url: str(f.url_private_download) ?? str(f.url_private) } : {}),
      ...(str(f.name) === undefined ? {} : { name: str(f.name) }),
      ...(typeof f.size === 'number' && f.size >= 0 ? { size_bytes: Math.floor(f.size) } : {}),
    })),
    metadata: {
      slack_team_id: str(envelope.team_id) ?? '',
      channel_type: str(event.channel_type) ?? '',
      message_ts: str(event.ts) ?? '',
    },
  };
}

async function events(call: IngressCall, body: Obj): Promise<Response> {
  if (body.type === 'url_verification') {
    const challenge = str(body.challenge);
    if (challenge === undefined) return refusal(400, 'MalformedBody', 'url_verification has no challenge');
    return Response.json({ challenge });
  }
  if (body.type !== 'event_callback') return ok();
  const event = obj(body.event);
  const eventId = str(body.event_id);
  if (event === undefined || eventId === undefined)
    return refusal(400, 'MalformedBody', 'event_callback needs an event object and an event_id');
  const message = eventMessage(body, event);
  if (message === undefined) return ok();
  await handOver(call, message, `${SLACK_CHANNEL}:${eventId}`, call.receivedAt + ACK_BUDGET_MS);
  return ok();
}

/** Inputs of the message's blocks (`state.values`) as metadata by action id. */
function stateValues(state: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const block of Object.values(obj(obj(state)?.values) ?? {})) {
    for (const [id, input] of Object.entries(obj(block) ?? {})) {
      const i = obj(input);
      const value = str(i?.value) ?? str(obj(i?.selected_option)?.value);
      if (value !== undefined) out[id] = value;
    }
  }
  return out;
}

async function interaction(call: IngressCall, payload: Obj): Promise<Response> {
  if (payload.type !== 'block_actions') return ok();
  const user = str(obj(payload.user)?.id);
  const container = obj(payload.container);
  const channel = str(container?.channel_id) ?? str(obj(payload.channel)?.id);
  const trigger = str(payload.trigger_id);
  const action = obj((payload.actions as unknown[] | undefined)?.[0]);
  if (user === undefined || channel === undefined || trigger === undefined || action === undefined) {
    return refusal(400, 'MalformedBody', 'block_actions needs user.id, a channel, trigger_id and one action');
  }
  // A URL button's click needs nothing from the bot.
  if (action.value === undefined && action.selected_option === undefined) return ok();
  const raw = str(action.value) ?? str(obj(action.selected_option)?.value) ?? '';
  const data = await actionData(call.env, call.tenant, raw);
  const submit = cardSubmit(data);
  const thread = str(container?.thread_ts) ?? str(obj(payload.message)?.thread_ts);
  await handOver(
    call,
    {
      channel: SLACK_CHANNEL,
      id: trigger,
      user,
      anchor: thread ?? channel,
      scope: { conversation: channel, thread },
      text: submit.text,
      metadata: { ...stateValues(payload.state), ...submit.metadata, action_id: str(action.action_id) ?? '' },
      extensions: { value: data },
    },
    `${SLACK_CHANNEL}:${trigger}`,
    call.receivedAt + ACK_BUDGET_MS,
  );
  return ok();
}

async function slashCommand(call: IngressCall, form: URLSearchParams): Promise<Response> {
  const user = form.get('user_id');
  const channel = form.get('channel_id');
  const trigger = form.get('trigger_id');
  const command = form.get('command');
  if (!user || !channel || !trigger || !command)
    return refusal(400, 'MalformedBody', 'a slash command needs user_id, channel_id, trigger_id and command');
  const text = form.get('text') ?? '';
  await handOver(
    call,
    {
      channel: SLACK_CHANNEL,
      id: trigger,
      user,
      anchor: channel,
      scope: { conversation: channel },
      text: text === '' ? command : text,
      metadata: { command },
    },
    `${SLACK_CHANNEL}:${trigger}`,
    call.receivedAt + ACK_BUDGET_MS,
  );
  return ok();
}

export async function slackIngress(call: IngressCall): Promise<Response> {
  if (call.request.method !== 'POST') return refusal(405, 'MethodNotAllowed', 'Slack delivers events with POST');
  const body = await readBody(call, 'Slack', SLACK_MAX_BODY_BYTES);
  if (body instanceof Response) return body;
  const secret = await providerSecret(call, 'slack/signing_secret');
  if (secret === undefined) return notConfigured(call, 'slack/signing_secret');
  const refused = await verifySlackRequest(call.request.headers, secret, body, Date.now());
  if (refused !== undefined) return refused;
  const type = call.request.headers.get('content-type') ?? '';
  if (type.startsWith('application/x-www-form-urlencoded')) {
    let form: URLSearchParams;
    try {
      form = new URLSearchParams(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(body));
    } catch {
      return refusal(400, 'MalformedBody', 'the form body is not UTF-8');
    }
    const payload = form.get('payload');
    if (payload === null) return slashCommand(call, form);
    const parsed = parseJsonObject(payload, 'the interaction payload');
    return parsed instanceof Response ? parsed : interaction(call, parsed);
  }
  const parsed = parseJsonObject(body, 'the event body');
  return parsed instanceof Response ? parsed : events(call, parsed);
}
