// A card submit (an Adaptive Card Action.Submit/Execute, a Slack button, a Telegram callback, a
// WhatsApp reply button) as upstream's messaging providers hand it to a flow (upstream-runtime §H):
// every key of the submitted value becomes string metadata (strings verbatim, other JSON
// serialised), and a submit without text takes its text from the first present of `step`,
// `routeToCardId`, `toCardId`, `mcp_wizard`, `mcp_operation` (a present non-string gives the
// default text, as upstream's `Option::or` chain does).

const TEXT_KEYS = ['step', 'routeToCardId', 'toCardId', 'mcp_wizard', 'mcp_operation'] as const;
const DEFAULT_TEXT = 'message';

export interface CardSubmit {
  text: string;
  metadata: Record<string, string>;
}

/** The metadata of a submitted value: an object's keys, or `action` for a bare string. */
export function submitMetadata(value: unknown): Record<string, string> {
  if (typeof value === 'string') return { action: value };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === undefined) continue;
    out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}

/** Text and metadata of a submit; `text` wins when the provider delivered one. */
export function cardSubmit(value: unknown, text?: string): CardSubmit {
  const metadata = submitMetadata(value);
  if (text !== undefined && text.trim() !== '') return { text, metadata };
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const v = value as Record<string, unknown>;
    const key = TEXT_KEYS.find((k) => v[k] !== undefined && v[k] !== null);
    if (key !== undefined) return { text: typeof v[key] === 'string' && v[key] !== '' ? (v[key] as string) : DEFAULT_TEXT, metadata };
  }
  return { text: typeof value === 'string' && value !== '' ? value : DEFAULT_TEXT, metadata };
}
