// Card pre-resolution on the real inputs of upstream demo packs (their node mappings and assets).
import { beforeAll, describe, expect, it } from 'vitest';
import { upstreamPackFile } from '../../../test/support/upstream-pack-files.js';
import type { JsonValue } from '../../flow/model.js';
import { openPack } from '../../pack/reader.js';
import { type AssetReader, assetReader, prepareCardInvocation } from './card-invocation.js';

const OCI = 'oci://ghcr.io/greenticai/components/component-adaptive-card@sha256:76fec97b';

function assetsOf(bytes: Uint8Array): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  for (const [path, data] of openPack(bytes).entries) if (path.startsWith('assets/')) files[path.slice(7)] = data;
  return files;
}

function json(files: Record<string, Uint8Array>, path: string): JsonValue {
  return JSON.parse(new TextDecoder().decode(files[path])) as JsonValue;
}

/** The fields of a prepared card invocation the tests read. */
interface CardOut {
  card_source: string;
  component?: string;
  config?: unknown;
  card_spec: { inline_json?: unknown; asset_path?: string; i18n_inline: Record<string, unknown> };
}

let hr: Record<string, Uint8Array>;
let quickstart: Record<string, Uint8Array>;

beforeAll(async () => {
  hr = assetsOf(await upstreamPackFile('hr-onboarding'));
  quickstart = assetsOf(await upstreamPackFile('quickstart'));
});

/** hr-onboarding's show_welcome_card mapping: the whole mapping is the input, there is no split config. */
const hrNode = {
  component: OCI,
  config: { default_source: 'asset', default_card_asset: 'assets/cards/welcome_card.json', default_card_inline: null, multilingual: true },
};

describe('card pre-resolution', () => {
  it("promotes the node config's default card asset and inlines the card read from the pack", () => {
    const out = prepareCardInvocation(hrNode, undefined, assetReader(hr)) as unknown as CardOut;
    expect(out.card_source).toBe('inline');
    expect(out.card_spec.inline_json).toEqual(json(hr, 'cards/welcome_card.json'));
    expect(out.card_spec.asset_path).toBeUndefined();
    // The node's own fields stay for the component (its config lookup reads `config`).
    expect(out.component).toBe(OCI);
    expect(out.config).toEqual(hrNode.config);
  });

  it('inlines every locale _manifest.json lists from assets/i18n as card_spec.i18n_inline', () => {
    const out = prepareCardInvocation(hrNode, undefined, assetReader(hr)) as unknown as CardOut;
    expect(Object.keys(out.card_spec.i18n_inline).sort()).toEqual(['de', 'en', 'es', 'fr', 'id', 'ja', 'th', 'zh']);
    expect(out.card_spec.i18n_inline.fr).toEqual(json(hr, 'i18n/fr.json'));
  });

  it('without _manifest.json only en.json is inlined (quickstart: locales.json is not read, as upstream)', () => {
    const node = { component: OCI, config: { default_source: 'asset', default_card_asset: 'assets/cards/about_card.json' } };
    const out = prepareCardInvocation(node, undefined, assetReader(quickstart)) as unknown as CardOut;
    expect(out.card_spec.inline_json).toEqual(json(quickstart, 'cards/about_card.json'));
    expect(Object.keys(out.card_spec.i18n_inline)).toEqual(['en']);
  });

  it("passes the user's locale on to the card invocation unless it names one", () => {
    expect(prepareCardInvocation(hrNode, undefined, assetReader(hr), 'fr')).toMatchObject({ locale: 'fr' });
    expect(prepareCardInvocation({ ...hrNode, locale: 'de' }, undefined, assetReader(hr), 'fr')).toMatchObject({ locale: 'de' });
  });

  it('prefers the split-off config of the call to the input config, and inline defaults make an inline card', () => {
    const inline = { type: 'AdaptiveCard', body: [] };
    const out = prepareCardInvocation({ text: 'x' }, { default_card_inline: inline }, () => undefined);
    expect(out).toEqual({ text: 'x', card_source: 'inline', card_spec: { inline_json: inline } });
  });

  it('an asset the pack lacks stays an asset reference for the component to report', () => {
    const none: AssetReader = () => undefined;
    const out = prepareCardInvocation({ config: { default_card_asset: 'assets/cards/missing.json' } }, undefined, none);
    expect(out).toMatchObject({ card_source: 'asset', card_spec: { asset_path: 'assets/cards/missing.json' } });
  });

  it('a payload without card defaults passes through unchanged and gets no locale', () => {
    const input = { component: 'component-telco-present', operation: 'present', query: 'hi', config: { region: 'eu' } };
    expect(prepareCardInvocation(input, undefined, assetReader(hr), 'fr')).toBe(input);
  });
});
