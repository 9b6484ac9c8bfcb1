// A reply as one WhatsApp message (channels.md §4.4–4.5, §5): text; or, when it has card
// actions or quick replies, an interactive message — reply buttons for 1–3 submits, a list for
// 4–10, a `cta_url` for a single link — within WhatsApp's limits. More than 10 submits, or links
// beside submits, degrade to text listing them (nothing is dropped silently).
import type { WorkerEnv } from '../../objects.js';
import { actionPayload } from '../action-tokens.js';
import { blockText, type CardAction, cardText, type ReplyContent, truncate } from '../card-model.js';

const MAX_TEXT = 4_096;
const MAX_BODY = 1_024;
const MAX_HEADER = 60;
const MAX_BUTTON_TITLE = 20;
const MAX_BUTTON_ID = 256;
const MAX_ROW_TITLE = 24;
const MAX_ROW_DESCRIPTION = 72;
const MAX_ROW_ID = 200;
const MAX_BUTTONS = 3;
const MAX_ROWS = 10;

export type WhatsappContent =
  | { type: 'text'; text: Record<string, unknown> }
  | { type: 'interactive'; interactive: Record<string, unknown> };

function readable(content: ReplyContent, withActions: boolean): { header?: string; body: string } {
  const lines: string[] = [];
  if (content.text !== undefined) lines.push(content.text);
  let header: string | undefined;
  for (const card of content.cards) {
    const blocks = [...card.model.blocks];
    // The card's first heading becomes the interactive header when it fits.
    const at = blocks.findIndex((b) => b.kind === 'heading');
    const heading = blocks[at];
    if (header === undefined && heading?.kind === 'heading' && heading.text.length <= MAX_HEADER) {
      header = heading.text;
      blocks.splice(at, 1);
    }
    lines.push(blocks.map(blockText).join('\n'));
  }
  lines.push(...content.files.map((f) => f.url));
  if (withActions) {
    const actions = [...content.cards.flatMap((c) => c.model.actions), ...content.buttons];
    lines.push(cardText({ blocks: [], actions }, true));
  }
  return { ...(header === undefined ? {} : { header }), body: lines.filter((l) => l !== '').join('\n\n') };
}

function textMessage(body: string): WhatsappContent {
  return { type: 'text', text: { preview_url: false, body: truncate(body || '…', MAX_TEXT) } };
}

export async function whatsappContent(env: WorkerEnv, tenant: string, content: ReplyContent): Promise<WhatsappContent> {
  const actions: CardAction[] = [...content.cards.flatMap((c) => c.model.actions), ...content.buttons];
  const submits = actions.filter((a): a is Extract<CardAction, { kind: 'submit' }> => a.kind === 'submit');
  const links = actions.filter((a): a is Extract<CardAction, { kind: 'url' }> => a.kind === 'url');
  if (actions.length === 0) return textMessage(readable(content, false).body);
  if (submits.length > MAX_ROWS || (links.length > 0 && submits.length > 0) || links.length > 1) {
    const { header, body } = readable(content, true);
    return textMessage([header, body].filter((x) => x !== undefined).join('\n'));
  }
  const { header, body } = readable(content, false);
  const frame = {
    ...(header === undefined ? {} : { header: { type: 'text', text: header } }),
    body: { text: truncate(body || header || '…', MAX_BODY) },
  };
  if (links.length === 1) {
    const link = links[0]!;
    return {
      type: 'interactive',
      interactive: {
        type: 'cta_url',
        ...frame,
        action: { name: 'cta_url', parameters: { display_text: truncate(link.title, MAX_BUTTON_TITLE), url: link.url } },
      },
    };
  }
  if (submits.length <= MAX_BUTTONS) {
    const buttons = await Promise.all(
      submits.map(async (a) => ({
        type: 'reply',
        reply: { id: await actionPayload(env, tenant, a.data, MAX_BUTTON_ID), title: truncate(a.title, MAX_BUTTON_TITLE) },
      })),
    );
    return { type: 'interactive', interactive: { type: 'button', ...frame, action: { buttons } } };
  }
  const rows = await Promise.all(
    submits.map(async (a) => ({
      id: await actionPayload(env, tenant, a.data, MAX_ROW_ID),
      title: truncate(a.title, MAX_ROW_TITLE),
      ...(a.title.length > MAX_ROW_TITLE ? { description: truncate(a.title, MAX_ROW_DESCRIPTION) } : {}),
    })),
  );
  return { type: 'interactive', interactive: { type: 'list', ...frame, action: { button: 'Choose', sections: [{ rows }] } } };
}
