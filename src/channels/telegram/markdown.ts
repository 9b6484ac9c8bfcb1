// A reply as a Telegram message: MarkdownV2 text (every reserved character escaped, channels.md
// §3.4) and an inline keyboard from the card's actions and the quick replies, one button per row.
// Submit data rides in `callback_data` (64 bytes at most, a stored token beyond).
import type { WorkerEnv } from '../../objects.js';
import { actionPayload } from '../action-tokens.js';
import { type CardAction, type CardBlock, cardText, type ReplyContent } from '../card-model.js';

const MAX_TEXT = 4_096;
const MAX_CALLBACK_BYTES = 64;

/** Escapes text for MarkdownV2: `_*[]()~\`>#+-=|{}.!` and the backslash itself. */
export function escapeMarkdownV2(text: string): string {
  return text.replace(/[_*[\]()~`>#+\-=|{}.!\\]/g, '\\$&');
}

/** A URL inside `(...)`: only `)` and `\` are escaped there. */
const escapeUrl = (url: string): string => url.replace(/[)\\]/g, '\\$&');

function blockLine(block: CardBlock): string {
  switch (block.kind) {
    case 'heading':
      return `*${escapeMarkdownV2(block.text)}*`;
    case 'text':
      return escapeMarkdownV2(block.text);
    case 'facts':
      return block.facts.map((f) => `*${escapeMarkdownV2(f.title)}* ${escapeMarkdownV2(f.value)}`).join('\n');
    case 'image':
      return `[${escapeMarkdownV2(block.alt)}](${escapeUrl(block.url)})`;
    case 'input': {
      const choices = block.choices.length === 0 ? '' : `: ${block.choices.map((c) => c.title).join(' / ')}`;
      return `_${escapeMarkdownV2(`${block.label}${choices}`)}_`;
    }
  }
}

export interface TelegramText {
  text: string;
  /** The same message without markup, for the one resend Telegram's "can't parse entities" calls for. */
  plain: string;
  keyboard: Record<string, string>[][];
}

async function button(env: WorkerEnv, tenant: string, a: CardAction): Promise<Record<string, string>> {
  if (a.kind === 'url') return { text: a.title, url: a.url };
  return { text: a.title, callback_data: await actionPayload(env, tenant, a.data, MAX_CALLBACK_BYTES) };
}

/** Cuts to Telegram's limit without leaving a dangling escape. */
function withinLimit(text: string): string {
  if (text.length <= MAX_TEXT) return text;
  let cut = text.slice(0, MAX_TEXT - 2);
  if (/(^|[^\\])(\\\\)*\\$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

export async function telegramMessage(env: WorkerEnv, tenant: string, content: ReplyContent): Promise<TelegramText> {
  const parts: string[] = [];
  const plain: string[] = [];
  if (content.text !== undefined) {
    parts.push(escapeMarkdownV2(content.text));
    plain.push(content.text);
  }
  const actions: CardAction[] = [];
  for (const card of content.cards) {
    parts.push(card.model.blocks.map(blockLine).join('\n'));
    plain.push(cardText({ blocks: card.model.blocks, actions: [] }));
    actions.push(...card.model.actions);
  }
  for (const f of content.files) {
    parts.push(`[${escapeMarkdownV2(f.name ?? f.url)}](${escapeUrl(f.url)})`);
    plain.push(f.url);
  }
  actions.push(...content.buttons);
  const keyboard = await Promise.all(actions.map(async (a) => [await button(env, tenant, a)]));
  // A card with nothing but buttons still needs text: Telegram refuses an empty message.
  const text = parts.filter((p) => p !== '').join('\n\n') || escapeMarkdownV2(actions.length > 0 ? 'Choose:' : '…');
  const plainText = plain.filter((p) => p !== '').join('\n\n') || (actions.length > 0 ? 'Choose:' : '…');
  return { text: withinLimit(text), plain: plainText.slice(0, MAX_TEXT), keyboard };
}
