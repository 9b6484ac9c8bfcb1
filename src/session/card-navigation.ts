// Card navigation as greentic-start does it (upstream-runtime reference §E): a submit naming a card
// (`routeToCardId`, `toCardId`, `nextCardId`) is answered with `assets/cards/<id>.json` from the pack
// without running the flow: `{{i18n:KEY}}` resolved from the pack's bundles, `${key}` placeholders
// filled from the submit's metadata, and the submit's form fields carried into the data of every
// `Action.Submit` so the next card's submit still holds them. A target that names a flow node
// enters the flow there instead (the caller decides); a target with no card runs the flow.

import type { Attachment, ChannelMessageEnvelope } from '../bus/envelope.js';
import { assetReader } from '../component/edge/card-invocation.js';
import { errorMessage } from '../core/coded-error.js';
import { isObject } from '../core/is-object.js';
import type { Env } from '../env.js';
import type { JsonObject, JsonValue } from '../flow/model.js';
import { loadPackAssets, type PackModel } from '../pack-store/pack-store.js';
import { TransientTurnError } from './flow-engine.js';
import { ADAPTIVE_CARD_MIME, type ReplyBody } from './replies.js';

/** Metadata that steers navigation rather than being form data (upstream `ROUTING_META_KEYS`, newer set). */
const ROUTING_META_KEYS = new Set([
  'routeToCardId',
  'toCardId',
  'nextCardId',
  'action_id',
  'adaptive_card',
  'locale',
  'autoStart',
  'mcp_wizard',
  'mcp_operation',
]);
/** What this host adds to every WebChat envelope's metadata: not form data either. */
const HOST_META_KEYS = new Set(['conversation_id', 'activity_id', 'universal', 'route']);

const NAV_KEYS = ['routeToCardId', 'toCardId', 'nextCardId'] as const;

/** The card a submit navigates to: the first of `routeToCardId`, `toCardId`, `nextCardId` that is not blank. */
export function navigationTarget(envelope: ChannelMessageEnvelope): string | undefined {
  for (const key of NAV_KEYS) {
    const value = envelope.metadata[key]?.trim();
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

/** The envelope without its navigation keys (a flow entered at the target node does not see them again). */
export function withoutNavigation(envelope: ChannelMessageEnvelope): ChannelMessageEnvelope {
  const metadata = { ...envelope.metadata };
  for (const key of NAV_KEYS) delete metadata[key];
  return { ...envelope, metadata };
}

type Bundle = Record<string, string>;
type PackJson = (path: string) => unknown;

/** The pack's assets as parsed JSON by path (undefined when absent or not JSON); a storage failure is transient. */
async function packJsonOf(env: Pick<Env, 'PACKS'>, model: Pick<PackModel, 'digest' | 'assets_key'>): Promise<PackJson> {
  let read: ReturnType<typeof assetReader>;
  try {
    read = assetReader(await loadPackAssets(env.PACKS, model));
  } catch (err) {
    throw new TransientTurnError('PackStorageUnavailable', `could not read the assets of pack ${model.digest}: ${errorMessage(err)}`);
  }
  return (path) => {
    const bytes = read(path);
    if (bytes === undefined) return undefined;
    try {
      return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    } catch {
      return undefined;
    }
  };
}

function stringsOf(value: unknown): Bundle {
  const out: Bundle = {};
  if (isObject(value)) for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** The bundles to look a key up in, most specific first: the locale, its base language, `en`. */
function bundlesFor(packJson: PackJson, locale: string | undefined): Bundle[] {
  const chain = [locale, locale?.split(/[-_]/)[0], 'en'].filter(
    (l, i, all): l is string => l !== undefined && l !== '' && all.indexOf(l) === i,
  );
  const bundles: Bundle[] = [];
  for (const l of chain) {
    const raw = packJson(`assets/i18n/${l}.json`);
    if (raw !== undefined) bundles.push(stringsOf(raw));
  }
  return bundles;
}

const I18N_TOKEN = /\{\{\s*i18n:([^}\s]+)\s*\}\}/g;
const PLACEHOLDER = /\$\{([A-Za-z0-9_.-]+)\}/g;

function fillString(text: string, bundles: readonly Bundle[], metadata: Record<string, string> | undefined): string {
  const translated = text.replace(I18N_TOKEN, (_, key: string) => {
    for (const b of bundles) if (b[key] !== undefined) return b[key];
    return key;
  });
  if (metadata === undefined) return translated;
  return translated.replace(PLACEHOLDER, (whole, key: string) => metadata[key] ?? (key.startsWith('prefill_') ? '' : whole));
}

/** The value with its i18n tokens resolved and, given metadata, its `${key}` placeholders filled. */
function fill(value: JsonValue, bundles: readonly Bundle[], metadata: Record<string, string> | undefined): JsonValue {
  if (typeof value === 'string') return fillString(value, bundles, metadata);
  if (Array.isArray(value)) return value.map((v) => fill(v, bundles, metadata));
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) out[k] = fill(v as JsonValue, bundles, metadata);
  return out;
}

/** Puts the submit's form fields into the data of every `Action.Submit`, keeping what the card set. */
function carryFormData(value: JsonValue, form: Record<string, string>): void {
  if (Array.isArray(value)) {
    for (const v of value) carryFormData(v, form);
    return;
  }
  if (!isObject(value)) return;
  if (value.type === 'Action.Submit') {
    const data: JsonObject = isObject(value.data) ? value.data : {};
    for (const [k, v] of Object.entries(form)) if (!(k in data)) data[k] = v;
    value.data = data;
  }
  for (const v of Object.values(value)) carryFormData(v as JsonValue, form);
}

/** `assets/cards/<target>.json` rendered for this submit, or undefined when the pack has no such card. */
export async function navigatedCard(
  env: Pick<Env, 'PACKS'>,
  model: Pick<PackModel, 'digest' | 'assets_key'>,
  target: string,
  envelope: ChannelMessageEnvelope,
): Promise<JsonObject | undefined> {
  if (!/^[A-Za-z0-9_.-]+$/.test(target) || target.startsWith('.')) return undefined;
  const packJson = await packJsonOf(env, model);
  const raw = packJson(`assets/cards/${target}.json`);
  if (!isObject(raw)) return undefined;
  const metadata = envelope.metadata;
  const card = fill(raw as JsonObject, bundlesFor(packJson, metadata.locale), metadata) as JsonObject;
  const form: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) if (!ROUTING_META_KEYS.has(k) && !HOST_META_KEYS.has(k)) form[k] = v;
  carryFormData(card, form);
  return card;
}

/**
 * greentic-start's safety net for outgoing cards (`ensure_card_i18n_resolved`): `{{i18n:KEY}}`
 * tokens a component left in a card are resolved from the pack's bundles for the user's locale,
 * then `en`; a key no bundle has becomes the key itself. Cards without tokens are not touched.
 */
export async function resolveCardTokens(
  env: Pick<Env, 'PACKS'>,
  model: Pick<PackModel, 'digest' | 'assets_key'>,
  replies: readonly ReplyBody[],
  locale: string | undefined,
): Promise<ReplyBody[]> {
  const hasTokens = (a: Attachment) => a.mime_type === ADAPTIVE_CARD_MIME && JSON.stringify(a.content ?? null).includes('{{i18n:');
  if (!replies.some((r) => r.attachments.some(hasTokens))) return [...replies];
  const bundles = bundlesFor(await packJsonOf(env, model), locale);
  return replies.map((r) => ({
    ...r,
    attachments: r.attachments.map((a) => (hasTokens(a) ? { ...a, content: fill(a.content as JsonValue, bundles, undefined) } : a)),
  }));
}
