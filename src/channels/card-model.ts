// The one card model every provider renders from. A reply carries an Adaptive Card in one of the
// places upstream puts it (an attachment of type application/vnd.microsoft.card.adaptive,
// `extensions.adaptive_card`, or `metadata.adaptive_card` as JSON text; upstream-runtime §D) and
// quick-reply buttons as a buttons attachment. Teams shows the card as it is; Slack, Telegram and
// WhatsApp render this flattened model (text, facts, images, inputs, actions), and whatever a
// provider cannot show degrades to readable text plus the card's actions (`cardText`).
import type { ChannelMessageEnvelope } from '../bus/envelope.js';
import { isObject } from '../core/is-object.js';

export const ADAPTIVE_CARD_MIME = 'application/vnd.microsoft.card.adaptive';
/** Quick-reply buttons a flow attaches: `content` lists `{title, payload?|value?, id?}` or plain strings. */
export const BUTTONS_MIME = 'application/vnd.greentic.buttons+json';

export type CardAction = { kind: 'submit'; title: string; data: unknown } | { kind: 'url'; title: string; url: string };

export type CardBlock =
  | { kind: 'heading'; text: string }
  | { kind: 'text'; text: string }
  | { kind: 'facts'; facts: { title: string; value: string }[] }
  | { kind: 'image'; url: string; alt: string }
  | { kind: 'input'; id: string; label: string; choices: { title: string; value: string }[] };

export interface CardModel {
  blocks: CardBlock[];
  actions: CardAction[];
}

export interface ReplyContent {
  text?: string;
  /** Each card as the flow produced it (Teams sends it as is) and flattened. */
  cards: { raw: Record<string, unknown>; model: CardModel }[];
  /** Quick replies from a buttons attachment. */
  buttons: CardAction[];
  /** Other attachments with a URL (images, files). */
  files: { url: string; name?: string; mime: string }[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : undefined);

function parsedCard(content: unknown): Record<string, unknown> | undefined {
  let value = content;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value) as unknown;
    } catch {
      return undefined;
    }
  }
  return isObject(value) ? (value as Record<string, unknown>) : undefined;
}

function action(a: unknown, out: CardAction[]): void {
  if (!isObject(a)) return;
  const title = str(a.title) ?? str(a.tooltip) ?? '';
  switch (a.type) {
    case 'Action.Submit':
    case 'Action.Execute': {
      const data =
        a.type === 'Action.Execute' && str(a.verb) !== undefined ? { ...(isObject(a.data) ? a.data : {}), verb: a.verb } : a.data;
      out.push({ kind: 'submit', title: title || 'Submit', data: data ?? {} });
      return;
    }
    case 'Action.OpenUrl':
      if (str(a.url) !== undefined) out.push({ kind: 'url', title: title || String(a.url), url: String(a.url) });
      return;
    case 'Action.ShowCard': {
      // The shown card cannot unfold outside Teams: its actions join the card's own.
      const inner = isObject(a.card) && Array.isArray(a.card.actions) ? a.card.actions : [];
      for (const x of inner) action(x, out);
      return;
    }
    default:
  }
}

function inlineText(inlines: unknown): string {
  if (!Array.isArray(inlines)) return '';
  return inlines.map((i) => (typeof i === 'string' ? i : isObject(i) ? (str(i.text) ?? '') : '')).join('');
}

function element(e: unknown, model: CardModel): void {
  if (!isObject(e) || e.isVisible === false) return;
  const items = (list: unknown) => {
    if (Array.isArray(list)) for (const x of list) element(x, model);
  };
  switch (e.type) {
    case 'TextBlock': {
      const text = str(e.text);
      if (text === undefined) return;
      const heading =
        e.style === 'heading' || e.size === 'Large' || e.size === 'ExtraLarge' || (e.weight === 'Bolder' && text.length <= 150);
      model.blocks.push({ kind: heading ? 'heading' : 'text', text });
      return;
    }
    case 'RichTextBlock': {
      const text = inlineText(e.inlines);
      if (text.trim() !== '') model.blocks.push({ kind: 'text', text });
      return;
    }
    case 'FactSet': {
      const facts = Array.isArray(e.facts)
        ? e.facts.filter(isObject).map((f) => ({ title: str(f.title) ?? '', value: str(f.value) ?? '' }))
        : [];
      if (facts.length > 0) model.blocks.push({ kind: 'facts', facts });
      return;
    }
    case 'Image':
      if (str(e.url) !== undefined && /^https?:\/\//.test(String(e.url))) {
        model.blocks.push({ kind: 'image', url: String(e.url), alt: str(e.altText) ?? 'image' });
      }
      return;
    case 'ImageSet':
      items(e.images);
      return;
    case 'Container':
      items(e.items);
      return;
    case 'Column':
      items(e.items);
      return;
    case 'ColumnSet':
      items(e.columns);
      return;
    case 'Table':
      if (Array.isArray(e.rows))
        for (const row of e.rows) if (isObject(row) && Array.isArray(row.cells)) for (const c of row.cells) if (isObject(c)) items(c.items);
      return;
    case 'ActionSet':
      if (Array.isArray(e.actions)) for (const a of e.actions) action(a, model.actions);
      return;
    default:
      if (typeof e.type === 'string' && e.type.startsWith('Input.')) {
        const id = str(e.id) ?? '';
        const choices = Array.isArray(e.choices)
          ? e.choices.filter(isObject).map((c) => ({ title: str(c.title) ?? String(c.value ?? ''), value: String(c.value ?? '') }))
          : [];
        model.blocks.push({ kind: 'input', id, label: str(e.label) ?? str(e.placeholder) ?? str(e.title) ?? id, choices });
      }
  }
}

/** The flattened model of one Adaptive Card. */
export function cardModel(card: Record<string, unknown>): CardModel {
  const model: CardModel = { blocks: [], actions: [] };
  if (Array.isArray(card.body)) for (const e of card.body) element(e, model);
  if (Array.isArray(card.actions)) for (const a of card.actions) action(a, model.actions);
  return model;
}

function buttonsOf(content: unknown): CardAction[] {
  if (!Array.isArray(content)) return [];
  const out: CardAction[] = [];
  for (const item of content) {
    if (typeof item === 'string' && item !== '') out.push({ kind: 'submit', title: item, data: item });
    else if (isObject(item)) {
      const title = str(item.title) ?? str(item.id);
      if (title === undefined) continue;
      out.push({ kind: 'submit', title, data: str(item.payload) ?? str(item.value) ?? title });
    }
  }
  return out;
}

/** What a reply shows: its text, its cards (wherever upstream put them), quick replies and files. */
export function replyContent(envelope: ChannelMessageEnvelope): ReplyContent {
  const content: ReplyContent = { cards: [], buttons: [], files: [] };
  if (str(envelope.text) !== undefined) content.text = envelope.text;
  const raws: Record<string, unknown>[] = [];
  for (const a of envelope.attachments) {
    if (a.mime_type === BUTTONS_MIME) content.buttons.push(...buttonsOf(a.content));
    else if (a.mime_type === ADAPTIVE_CARD_MIME) {
      const card = parsedCard(a.content);
      if (card !== undefined) raws.push(card);
    } else if (a.url !== undefined)
      content.files.push({ url: a.url, mime: a.mime_type, ...(a.name === undefined ? {} : { name: a.name }) });
  }
  // Upstream keeps one card in extensions and metadata both: take the first place that has one.
  if (raws.length === 0) {
    const card = parsedCard(envelope.extensions['adaptive_card']) ?? parsedCard(envelope.metadata['adaptive_card']);
    if (card !== undefined) raws.push(card);
  }
  content.cards = raws.map((raw) => ({ raw, model: cardModel(raw) }));
  return content;
}

/**
 * `text` within `max` UTF-16 units (how the providers count), ending in "…" when cut; never
 * splits a surrogate pair.
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

/** A card as readable lines (what a provider that cannot show a block shows instead). */
export function blockText(block: CardBlock): string {
  switch (block.kind) {
    case 'heading':
    case 'text':
      return block.text;
    case 'facts':
      return block.facts.map((f) => `${f.title}: ${f.value}`).join('\n');
    case 'image':
      return `${block.alt}: ${block.url}`;
    case 'input':
      return block.choices.length === 0 ? `${block.label}` : `${block.label}: ${block.choices.map((c) => c.title).join(' / ')}`;
  }
}

/** The whole card as text, actions listed by title (numbered when `numbered`). */
export function cardText(model: CardModel, numbered = false): string {
  const lines = model.blocks.map(blockText);
  model.actions.forEach((a, i) => {
    const label = numbered ? `${i + 1}. ${a.title}` : `• ${a.title}`;
    lines.push(a.kind === 'url' ? `${label}: ${a.url}` : label);
  });
  return lines.join('\n');
}
