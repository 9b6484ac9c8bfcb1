/**
 * Host-side pre-resolution of adaptive-card invocations, as upstream's newer runner does it before
 * every component call (upstream-runtime.md §C.4, C.6): card defaults from the node's config are
 * promoted into `card_source`/`card_spec`, an asset card is read from the pack and inlined, the
 * pack's i18n bundles (`assets/i18n`) are inlined as `card_spec.i18n_inline`, and the user's locale
 * is passed on. Values that are not card invocations pass through unchanged.
 */
import { isObject } from '../../core/is-object.js';
import type { JsonObject, JsonValue } from '../../flow/model.js';

/** A pack asset by its pack path (`assets/cards/x.json`, `/assets/…` or relative to `assets/`), or undefined. */
export type AssetReader = (path: string) => Uint8Array | undefined;

/** Reads from a pack's `assets/` files keyed relative to that folder (upstream `PackRuntime::read_asset`). */
export function assetReader(files: Readonly<Record<string, Uint8Array>>): AssetReader {
  return (path) => files[path.replace(/^\/?assets\//, '').replace(/^\/+/, '')];
}

/** Upstream `is_card_invocation`: an object with `card_source` or `card_spec`. */
export function isCardInvocation(value: JsonValue): boolean {
  return isObject(value) && ('card_source' in value || 'card_spec' in value);
}

function trimmed(value: JsonValue | undefined): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** `promote_card_config_to_invocation`: defaults from the call's config, else the input's own `config`. */
function promoteCardDefaults(input: JsonValue, config: JsonValue | undefined): JsonValue {
  if (isCardInvocation(input)) return input;
  const defaults = isObject(config) ? config : isObject(input) && isObject(input.config) ? input.config : undefined;
  if (defaults === undefined) return input;
  const asset = trimmed(defaults.default_card_asset);
  const inline =
    isObject(defaults.default_card_inline) || Array.isArray(defaults.default_card_inline) ? defaults.default_card_inline : undefined;
  const source = trimmed(defaults.default_source)?.toLowerCase();
  if (asset === undefined && inline === undefined && source === undefined) return input;
  const cardSource = source ?? (inline !== undefined ? 'inline' : 'asset');
  const spec: JsonObject = {};
  if (cardSource === 'asset' && asset !== undefined) spec.asset_path = asset;
  if (cardSource === 'inline' && inline !== undefined) spec.inline_json = inline;
  return { ...(isObject(input) ? input : {}), card_source: cardSource, card_spec: spec };
}

function readJson(read: AssetReader, path: string): JsonValue | undefined {
  const bytes = read(path);
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as JsonValue;
  } catch {
    return undefined;
  }
}

/** `load_i18n_bundle_entries`: a `.json` file is the `en` bundle; a folder lists its locales in `_manifest.json`. */
function i18nBundles(read: AssetReader, bundlePath: string): JsonObject {
  const out: JsonObject = {};
  if (bundlePath.endsWith('.json')) {
    const en = readJson(read, bundlePath);
    if (isObject(en)) out.en = en;
    return out;
  }
  const manifest = readJson(read, `${bundlePath}/_manifest.json`);
  const listed = isObject(manifest) && Array.isArray(manifest.locales) ? manifest.locales : Array.isArray(manifest) ? manifest : [];
  for (const locale of listed) {
    if (typeof locale !== 'string') continue;
    const bundle = readJson(read, `${bundlePath}/${locale}.json`);
    if (isObject(bundle)) out[locale] = bundle;
  }
  if (!('en' in out)) {
    const en = readJson(read, `${bundlePath}/en.json`);
    if (isObject(en)) out.en = en;
  }
  return out;
}

/** `resolve_card_spec_asset`: an asset card becomes inline; the i18n bundles are inlined beside it. */
function resolveCardAsset(value: JsonValue, read: AssetReader): JsonValue {
  if (!isObject(value) || typeof value.card_source !== 'string' || value.card_source.toLowerCase() !== 'asset') return value;
  const spec = isObject(value.card_spec) ? value.card_spec : undefined;
  const assetPath = typeof spec?.asset_path === 'string' ? spec.asset_path : undefined;
  if (spec === undefined || assetPath === undefined) return value;
  const out: JsonObject = { ...value };
  let nextSpec: JsonObject = { ...spec };
  const card = readJson(read, assetPath);
  // A missing or unparsable card stays an asset reference (the component then reports it).
  if (card !== undefined) {
    out.card_source = 'inline';
    const { asset_path: _path, ...rest } = nextSpec;
    nextSpec = { ...rest, inline_json: card };
  }
  const configured = trimmed(spec.i18n_bundle_path)?.replace(/\/+$/, '');
  const bundles = i18nBundles(read, configured || 'assets/i18n');
  if (Object.keys(bundles).length > 0) nextSpec.i18n_inline = bundles;
  out.card_spec = nextSpec;
  return out;
}

/**
 * The payload a component receives for `input` (+ the node's split-off `config`). Upstream adds
 * the locale only to payloads that were card invocations before promotion; here a promoted card
 * gets it too, so a card node renders in the user's language (docs/compat.md).
 */
export function prepareCardInvocation(input: JsonValue, config: JsonValue | undefined, read: AssetReader, locale?: string): JsonValue {
  let payload = promoteCardDefaults(input, config);
  if (isObject(payload) && isCardInvocation(payload) && locale !== undefined && payload.locale === undefined)
    payload = { ...payload, locale };
  payload = resolveCardAsset(payload, read);
  // cards2pack duplicates the invocation under `call.payload`.
  if (isObject(payload) && isObject(payload.call) && payload.call.payload !== undefined) {
    payload = { ...payload, call: { ...payload.call, payload: resolveCardAsset(payload.call.payload, read) } };
  }
  return payload;
}
