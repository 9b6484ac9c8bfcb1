// A reply as a Slack message: Adaptive Cards become Block Kit (header, section, fields, image,
// actions) within Slack's limits (channels.md §1.5), and `text` is always set (Slack's
// notification and accessibility fallback). Button values carry the card's submit data as JSON
// (a stored token when it exceeds 2,000 characters); the ingress turns a click back into it.
import type { WorkerEnv } from '../../objects.js';
import { actionPayload } from '../action-tokens.js';
import { type CardAction, type CardBlock, cardText, type ReplyContent, truncate } from '../card-model.js';

const MAX_BLOCKS = 50;
const MAX_SECTION = 3_000;
const MAX_HEADER = 150;
const MAX_FIELDS = 10;
const MAX_FIELD = 2_000;
const MAX_ACTIONS = 25;
const MAX_BUTTON_TEXT = 75;
const MAX_VALUE = 2_000;

export type SlackBlock = Record<string, unknown>;

/** Slack's mrkdwn from the Markdown subset Adaptive Cards use: `&<>` escaped, `**b**` → `*b*`, links `<url|text>`. */
export function mrkdwn(markdown: string): string {
  return markdown
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\*\*(.+?)\*\*/g, '*$1*')
    .replace(/\[([^\]]+)\]\((https?:\/\/[^)\s]+)\)/g, '<$2|$1>');
}

function section(text: string): SlackBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(mrkdwn(text), MAX_SECTION) } };
}

function blockOf(block: CardBlock): SlackBlock[] {
  switch (block.kind) {
    case 'heading':
      return block.text.length <= MAX_HEADER
        ? [{ type: 'header', text: { type: 'plain_text', text: block.text, emoji: true } }]
        : [section(`**${block.text}**`)];
    case 'text':
      return [section(block.text)];
    case 'facts': {
      const out: SlackBlock[] = [];
      for (let i = 0; i < block.facts.length; i += MAX_FIELDS) {
        const fields = block.facts
          .slice(i, i + MAX_FIELDS)
          .map((f) => ({ type: 'mrkdwn', text: truncate(`*${mrkdwn(f.title)}*\n${mrkdwn(f.value)}`, MAX_FIELD) }));
        out.push({ type: 'section', fields });
      }
      return out;
    }
    case 'image':
      return [{ type: 'image', image_url: block.url, alt_text: truncate(block.alt, 2_000) }];
    case 'input': {
      const choices = block.choices.length === 0 ? '' : `: ${block.choices.map((c) => c.title).join(' / ')}`;
      return [section(`_${block.label}${choices}_`)];
    }
  }
}

async function buttons(env: WorkerEnv, tenant: string, actions: CardAction[], prefix: string): Promise<SlackBlock[]> {
  const out: SlackBlock[] = [];
  for (let i = 0; i < actions.length; i += MAX_ACTIONS) {
    const elements = await Promise.all(
      actions.slice(i, i + MAX_ACTIONS).map(async (a, j) => {
        const text = { type: 'plain_text', text: truncate(a.title, MAX_BUTTON_TEXT), emoji: true };
        const action_id = `${prefix}_${i + j}`;
        if (a.kind === 'url') return { type: 'button', action_id, text, url: a.url };
        return { type: 'button', action_id, text, value: await actionPayload(env, tenant, a.data, MAX_VALUE) };
      }),
    );
    out.push({ type: 'actions', elements });
  }
  return out;
}

/** The `text` and `blocks` of a chat.postMessage for this reply. */
export async function slackMessage(
  env: WorkerEnv,
  tenant: string,
  content: ReplyContent,
): Promise<{ text: string; blocks?: SlackBlock[] }> {
  const blocks: SlackBlock[] = [];
  if (content.cards.length > 0 && content.text !== undefined) blocks.push(section(content.text));
  for (const [n, card] of content.cards.entries()) {
    blocks.push(...card.model.blocks.flatMap(blockOf));
    blocks.push(...(await buttons(env, tenant, card.model.actions, `card${n}`)));
  }
  if (content.buttons.length > 0) {
    if (blocks.length === 0 && content.text !== undefined) blocks.push(section(content.text));
    blocks.push(...(await buttons(env, tenant, content.buttons, 'reply')));
  }
  const files = content.files.map((f) => `<${f.url}|${mrkdwn(f.name ?? f.url)}>`);
  const readable = [content.text, ...content.cards.map((c) => cardText(c.model))].filter((t) => t !== undefined && t !== '');
  const text = [mrkdwn(readable.join('\n\n')), ...files].filter((t) => t !== '').join('\n') || ' ';
  if (blocks.length === 0) return { text };
  if (files.length > 0) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncate(files.join('\n'), MAX_SECTION) } });
  // Past Slack's block count the rest is cut, and the text fallback says so.
  const kept = blocks.length > MAX_BLOCKS ? [...blocks.slice(0, MAX_BLOCKS - 1), section('…')] : blocks;
  return { text: truncate(text, MAX_SECTION), blocks: kept };
}
