// Turns what a messaging turn produced into reply envelopes, the way greentic-start does
// (upstream-runtime reference §D): a turn whose `emit.*` nodes ran sends what they emitted, in
// order; otherwise the last envelope-like node output of the turn is the answer. An output maps
// by the first rule that fits: `type: adaptive_card|text`, an array, `messages`, `events`,
// `message`, `renderedCard`, the text fallbacks, then Direct Line-only outputs; the Direct Line
// passthrough keys (`attachments`, `channelData`, `entities`, `suggestedActions`, `speak`,
// `inputHint`) ride along. Channel-neutral: each provider's sender renders the envelope.
// Kept from before upstream parity: `adaptive_card` / `card` beside `text` attaches a card.

import type { Attachment, ChannelMessageEnvelope } from '../bus/envelope.js';
import { isObject } from '../core/is-object.js';
import { jsonEqual } from '../flow/json-compare.js';
import type { JsonObject, JsonValue } from '../flow/model.js';

export const ADAPTIVE_CARD_MIME = 'application/vnd.microsoft.card.adaptive';

/** Output keys copied into a reply's `extensions` under their snake_case name (`copy_directline_passthrough`). */
const PASSTHROUGH: readonly (readonly [string, string])[] = [
  ['channelData', 'channel_data'],
  ['channel_data', 'channel_data'],
  ['entities', 'entities'],
  ['suggestedActions', 'suggested_actions'],
  ['suggested_actions', 'suggested_actions'],
  ['speak', 'speak'],
  ['inputHint', 'input_hint'],
  ['input_hint', 'input_hint'],
];

export interface ReplyBody {
  text?: string;
  attachments: Attachment[];
  metadata: Record<string, string>;
  extensions: Record<string, JsonValue>;
}

/** A node output that cannot be turned into a message (upstream: `parse_envelopes` fails). */
export type MappedOutput = { ok: true; replies: ReplyBody[] } | { ok: false; reason: string };

function body(text?: string): ReplyBody {
  return { ...(text === undefined ? {} : { text }), attachments: [], metadata: {}, extensions: {} };
}

/** A reply holding one Adaptive Card. */
export function cardReply(card: JsonValue): ReplyBody {
  const reply = body();
  reply.attachments.push({ mime_type: ADAPTIVE_CARD_MIME, content: card });
  return reply;
}

/** Attachments in either our envelope form (`mime_type`) or the Direct Line form (`contentType`). */
function attachmentsOf(value: JsonValue | undefined): Attachment[] {
  if (!Array.isArray(value)) return [];
  const out: Attachment[] = [];
  for (const a of value) {
    if (!isObject(a)) continue;
    const mime = typeof a.mime_type === 'string' ? a.mime_type : typeof a.contentType === 'string' ? a.contentType : undefined;
    if (mime === undefined) continue;
    const attachment: Attachment = { mime_type: mime };
    if (a.content !== undefined) attachment.content = a.content;
    const url = a.url ?? a.contentUrl;
    if (typeof url === 'string') attachment.url = url;
    if (typeof a.name === 'string') attachment.name = a.name;
    out.push(attachment);
  }
  return out;
}

/** String metadata an output names for its reply (other values are serialised, as upstream metadata is strings). */
function metadataOf(value: JsonObject): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObject(value.metadata)) return out;
  for (const [k, v] of Object.entries(value.metadata)) {
    if (typeof v === 'string') out[k] = v;
    else if (v !== null && v !== undefined) out[k] = JSON.stringify(v);
  }
  return out;
}

/** `messages[].text`, `result.content[].text`, `result.structured_content`, `payload.text`, `text`. */
function fallbackText(value: JsonObject): string | undefined {
  if (Array.isArray(value.messages)) {
    for (const m of value.messages) if (isObject(m) && typeof m.text === 'string') return m.text;
  }
  if (isObject(value.result)) {
    if (Array.isArray(value.result.content)) {
      for (const c of value.result.content) if (isObject(c) && typeof c.text === 'string') return c.text;
    }
    const structured = value.result.structured_content;
    if (structured !== undefined && structured !== null) return JSON.stringify(structured);
  }
  if (isObject(value.payload) && typeof value.payload.text === 'string') return value.payload.text;
  if (typeof value.text === 'string') return value.text;
  return undefined;
}

function mapList(items: readonly JsonValue[]): ReplyBody[] {
  const out: ReplyBody[] = [];
  for (const item of items) {
    const mapped = mapValue(item);
    // An item that is not a message (a bare component result next to emitted ones) is not sent.
    if (!mapped.ok) continue;
    for (const reply of mapped.replies) {
      if (!out.some((seen) => jsonEqual(seen as unknown as JsonValue, reply as unknown as JsonValue))) out.push(reply);
    }
  }
  return out;
}

function mapObject(value: JsonObject): ReplyBody[] | undefined {
  if (value.type === 'adaptive_card' && value.card !== undefined && value.card !== null) return [cardReply(value.card)];
  if (value.type === 'text' && typeof value.text === 'string') return [body(value.text)];
  if (Array.isArray(value.messages) && value.messages.length > 0) return mapList(value.messages);
  if (Array.isArray(value.events)) return mapList(value.events);
  if (isObject(value.message)) {
    const inner = mapValue(value.message);
    return inner.ok ? inner.replies : undefined;
  }
  if (value.renderedCard !== undefined && value.renderedCard !== null) return [cardReply(value.renderedCard)];
  const card = value.adaptive_card ?? value.card;
  const text = fallbackText(value);
  if (isObject(card)) {
    const reply = cardReply(card);
    if (text !== undefined) reply.text = text;
    return [reply];
  }
  if (text !== undefined) return [body(text)];
  if (['attachments', 'channelData', 'channel_data', 'entities'].some((k) => value[k] !== undefined)) return [body()];
  return undefined;
}

function mapValue(value: JsonValue): MappedOutput {
  if (typeof value === 'string') return { ok: true, replies: value === '' ? [] : [body(value)] };
  if (Array.isArray(value)) return { ok: true, replies: mapList(value) };
  if (!isObject(value)) return { ok: false, reason: `a ${value === null ? 'null' : typeof value} is not a message` };
  const replies = mapObject(value);
  // An item that only emits events (events/flow-runs.ts) says nothing to the user.
  if (replies === undefined && Array.isArray(value.emitted_events)) return { ok: true, replies: [] };
  if (replies === undefined) {
    const keys = Object.keys(value).slice(0, 8).join(', ');
    return { ok: false, reason: `an object with keys {${keys}} has none of the fields a message is made of` };
  }
  const metadata = metadataOf(value);
  const attachments = attachmentsOf(value.attachments);
  for (const reply of replies) {
    reply.metadata = { ...metadata, ...reply.metadata };
    for (const a of attachments) if (!reply.attachments.some((b) => jsonEqual(a as JsonValue, b as JsonValue))) reply.attachments.push(a);
    for (const [from, to] of PASSTHROUGH)
      if (value[from] !== undefined && reply.extensions[to] === undefined) reply.extensions[to] = value[from];
  }
  return { ok: true, replies };
}

/** What a turn yields, in the shape the executor reports it. */
export interface TurnOutputs {
  output: JsonValue;
  /** Node payloads of the turn in execution order. */
  transcript?: readonly { nodeId: string; payload: JsonValue }[];
  /** Payloads `emit.*` nodes sent this turn. */
  emitted?: number;
}

/** `collect_transcript_outputs`'s "envelope-like". */
export function isEnvelopeLike(value: JsonValue): boolean {
  if (typeof value === 'string' || Array.isArray(value)) return true;
  if (!isObject(value)) return false;
  return (
    Array.isArray(value.events) ||
    (Array.isArray(value.messages) && value.messages.length > 0) ||
    value.message !== undefined ||
    (value.renderedCard !== undefined && value.renderedCard !== null) ||
    (isObject(value.payload) && typeof value.payload.text === 'string') ||
    typeof value.text === 'string'
  );
}

/**
 * The output a turn answers with: what it emitted when it emitted anything; else the output of the
 * node named `target` (a card-navigation target), else the last envelope-like output, else the last.
 */
export function replyOutput(turn: TurnOutputs, target?: string): JsonValue {
  const transcript = turn.transcript ?? [];
  if ((turn.emitted ?? 0) > 0 || transcript.length === 0) return turn.output;
  if (target !== undefined) {
    const hit = transcript.find((t) => t.nodeId === target);
    if (hit !== undefined) return hit.payload;
  }
  for (let i = transcript.length - 1; i >= 0; i--) if (isEnvelopeLike(transcript[i]!.payload)) return transcript[i]!.payload;
  return turn.output;
}

/**
 * Maps a turn's answer to reply bodies. `null` (and an empty list) is a turn that chose to say
 * nothing; anything else that is not a message is an invalid output.
 */
export function mapReplyOutput(output: JsonValue): MappedOutput {
  if (output === null) return { ok: true, replies: [] };
  return mapValue(output);
}

export function replyEnvelopes(inbound: ChannelMessageEnvelope, bodies: readonly ReplyBody[], idPrefix: string): ChannelMessageEnvelope[] {
  return bodies.map((b, index) => {
    const reply: ChannelMessageEnvelope = {
      id: `${idPrefix}#${index}`,
      tenant: inbound.tenant,
      channel: inbound.channel,
      session_id: inbound.session_id,
      to:
        inbound.from === undefined
          ? []
          : [{ id: inbound.from.id, ...(inbound.from.kind === undefined ? {} : { kind: inbound.from.kind }) }],
      attachments: b.attachments,
      metadata: b.metadata,
      extensions: b.extensions,
    };
    if (inbound.reply_scope !== undefined) reply.reply_scope = inbound.reply_scope;
    if (inbound.correlation_id !== undefined) reply.correlation_id = inbound.correlation_id;
    if (b.text !== undefined) reply.text = b.text;
    return reply;
  });
}
