// Microsoft Teams (Bot Framework) messaging endpoint (channels.md §2): one Activity per POST,
// authenticated by the Bot Connector JWT. `message` activities (an Action.Submit arrives as one,
// with `value`) and `invoke` activities named `adaptiveCard/action` (Action.Execute) reach the
// flow; an invoke is acknowledged in the HTTP response, as Teams requires, and the flow's reply
// follows as an activity. Every verified activity refreshes the conversation's serviceUrl.
import { z } from 'zod';
import { cardSubmit } from '../card-submit.js';
import type { IngressCall } from '../channel.js';
import { handOver, notConfigured, type ProviderMessage, parseJsonObject, providerSecret, readBody, refusal } from '../ingress-request.js';
import { DEFAULT_OPENID_METADATA_URL, verifyConnectorToken } from './connector-auth.js';
import { saveConversationRef } from './conversation-ref.js';

export const TEAMS_CHANNEL = 'teams';
/**
 * Teams caps a message at about 100 KB; an activity also carries an HTML copy of the text and,
 * for a card submit, the card's input values, all of which reach the bot (as WebChat's 256 KiB).
 */
export const TEAMS_MAX_BODY_BYTES = 256 * 1024;
/** How long the webhook waits for the channel object before it queues the message (the Bot Connector gives up after 15 s). */
const ACK_BUDGET_MS = 10_000;
/** The answer to an Action.Execute invoke; the flow's reply follows as its own activity. */
export const INVOKE_ACK = { statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: 'Received' };

const account = z.looseObject({ id: z.string().min(1), name: z.string().optional() });
const activitySchema = z.looseObject({
  type: z.string().min(1),
  id: z.string().min(1).max(512),
  // HTTPS, except a loopback connector (the local fake `npm run dev` starts).
  serviceUrl: z
    .url()
    .refine((u) => u.startsWith('https://') || /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\//.test(u), 'serviceUrl must be https'),
  channelId: z.string().min(1),
  from: account,
  recipient: account,
  conversation: z.looseObject({ id: z.string().min(1).max(1024), tenantId: z.string().optional() }),
  text: z.string().optional(),
  locale: z.string().max(64).optional(),
  name: z.string().optional(),
  value: z.unknown().optional(),
  attachments: z
    .array(z.looseObject({ contentType: z.string(), contentUrl: z.string().optional(), name: z.string().optional() }))
    .optional(),
  entities: z.array(z.looseObject({ type: z.string().optional(), text: z.string().optional(), mentioned: account.optional() })).optional(),
});
type Activity = z.infer<typeof activitySchema>;

/** The ingress key of an activity; the sender takes the activity id back out of it (`replyToId`). */
export function teamsIdempotencyKey(conversationId: string, activityId: string): string {
  return `${TEAMS_CHANNEL}:${JSON.stringify([conversationId, activityId])}`;
}

/** The activity id a reply answers, from its `in_reply_to` key. */
export function repliedActivityId(inReplyTo: string): string | undefined {
  if (!inReplyTo.startsWith(`${TEAMS_CHANNEL}:[`)) return undefined;
  try {
    const parsed: unknown = JSON.parse(inReplyTo.slice(TEAMS_CHANNEL.length + 1));
    return Array.isArray(parsed) && typeof parsed[1] === 'string' ? parsed[1] : undefined;
  } catch {
    return undefined;
  }
}

/** The text without the bot's own @mention (channels and group chats deliver only mentions). */
function textOf(activity: Activity): string | undefined {
  let text = activity.text;
  if (text === undefined) return undefined;
  for (const e of activity.entities ?? []) {
    if (e.type === 'mention' && e.mentioned?.id === activity.recipient.id && e.text !== undefined) text = text.split(e.text).join('');
  }
  return text.trim();
}

function message(activity: Activity, value: unknown): ProviderMessage {
  const conversation = activity.conversation.id;
  const text = textOf(activity);
  const submit = value === undefined ? undefined : cardSubmit(value, text);
  return {
    channel: TEAMS_CHANNEL,
    id: activity.id,
    user: activity.from.id,
    anchor: conversation,
    scope: { conversation },
    text: submit?.text ?? text,
    // The HTML copy of the text is dropped; files and images keep their URLs.
    attachments: (activity.attachments ?? [])
      .filter((a) => a.contentType !== 'text/html')
      .map((a) => ({
        mime_type: a.contentType,
        ...(a.contentUrl === undefined ? {} : { url: a.contentUrl }),
        ...(a.name === undefined ? {} : { name: a.name }),
      })),
    metadata: {
      ...(submit?.metadata ?? {}),
      activity_id: activity.id,
      ...(activity.conversation.tenantId === undefined ? {} : { ms_tenant_id: activity.conversation.tenantId }),
    },
    extensions: value === undefined ? {} : { value },
    locale: activity.locale,
  };
}

/** Action.Execute's verb and data as one submitted value (the verb under `verb`, as our cards do). */
function executeValue(value: unknown): unknown {
  const action =
    typeof value === 'object' && value !== null ? (value as { action?: { verb?: unknown; data?: unknown } }).action : undefined;
  if (action === undefined) return undefined;
  const data = typeof action.data === 'object' && action.data !== null && !Array.isArray(action.data) ? action.data : {};
  return typeof action.verb === 'string' ? { ...data, verb: action.verb } : data;
}

export async function teamsIngress(call: IngressCall): Promise<Response> {
  if (call.request.method !== 'POST') return refusal(405, 'MethodNotAllowed', 'the Bot Connector delivers activities with POST');
  const body = await readBody(call, 'Teams', TEAMS_MAX_BODY_BYTES);
  if (body instanceof Response) return body;
  const appId = await providerSecret(call, 'teams/app_id');
  if (appId === undefined) return notConfigured(call, 'teams/app_id');
  const raw = parseJsonObject(body, 'the activity');
  if (raw instanceof Response) return raw;
  const parsed = activitySchema.safeParse(raw);
  if (!parsed.success) return refusal(400, 'MalformedBody', `invalid activity: ${z.prettifyError(parsed.error)}`);
  const activity = parsed.data;
  const auth = await verifyConnectorToken(call.request.headers.get('authorization'), {
    appId,
    metadataUrl: call.env.TEAMS_OPENID_METADATA_URL ?? DEFAULT_OPENID_METADATA_URL,
    channelId: activity.channelId,
    serviceUrl: activity.serviceUrl,
  });
  if (!auth.ok) return refusal(401, auth.code, auth.message);
  await saveConversationRef(call.env, call.tenant, activity.conversation.id, {
    service_url: activity.serviceUrl,
    bot_id: activity.recipient.id,
  });
  const key = teamsIdempotencyKey(activity.conversation.id, activity.id);
  if (activity.type === 'message') {
    await handOver(call, message(activity, activity.value), key, call.receivedAt + ACK_BUDGET_MS);
    return new Response(null, { status: 200 });
  }
  if (activity.type === 'invoke' && activity.name === 'adaptiveCard/action') {
    const value = executeValue(activity.value);
    if (value === undefined) return refusal(400, 'MalformedBody', 'an adaptiveCard/action invoke needs value.action');
    await handOver(call, message(activity, value), key, call.receivedAt + ACK_BUDGET_MS);
    return Response.json(INVOKE_ACK);
  }
  return new Response(null, { status: 200 });
}
