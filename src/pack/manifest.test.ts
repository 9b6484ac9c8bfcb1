import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertyParameters, withinTimeSync } from '../../test/support/properties.js';
import { CborFloat, decodeCbor, encodeCanonicalCbor, encodeCbor } from './cbor.js';
import { PackError } from './errors.js';
import { cborHead, cborItem, concatBytes } from './fixtures/cbor-items.js';
import { quickstartManifestBytes } from './fixtures/quickstart-manifest.js';
import { decodePackManifest } from './manifest-decode.js';
import { encodePackManifest, manifestSigningBytes } from './manifest-encode.js';
import type { PackManifest } from './manifest-types.js';

function minimalManifest(): PackManifest {
  return {
    schema_version: 'pack-v1',
    pack_id: 'acme.weather',
    version: '0.1.0',
    kind: 'application',
    publisher: 'Acme',
    components: [],
    flows: [
      {
        id: 'main',
        kind: 'messaging',
        flow: {
          schema_version: 'flow-v1',
          id: 'main',
          kind: 'messaging',
          entrypoints: { default: null },
          nodes: {
            zed: {
              id: 'zed',
              component: { id: 'emit.response' },
              input: { mapping: { text: 'hi' } },
              output: { mapping: null },
              routing: { next: { node_id: 'alpha' } },
              telemetry: { attributes: {} },
            },
            alpha: {
              id: 'alpha',
              component: { id: 'emit.response' },
              input: { mapping: null },
              output: { mapping: null },
              routing: 'end',
              telemetry: { attributes: {} },
            },
          },
          metadata: { tags: ['b', 'a', 'b'], extra: {} },
        },
        tags: [],
        entrypoints: ['default'],
      },
    ],
    dependencies: [],
    capabilities: [],
    signatures: { signatures: [] },
  };
}

describe('manifest.cbor codec', () => {
  it('re-encodes an upstream-shaped manifest byte for byte (quickstart-app vector)', () => {
    const manifest = decodePackManifest(quickstartManifestBytes);
    expect(encodePackManifest(manifest)).toEqual(quickstartManifestBytes);
  });

  it('resolves symbol-table indexes back to ids and PascalCase routing to the snake_case model', () => {
    const m = decodePackManifest(quickstartManifestBytes);
    expect(m.pack_id).toBe('quickstart-app');
    expect(m.components.map((c) => c.id)).toEqual(['component-events2msg', 'component-msg2events']);
    const flow = m.flows[0]!.flow;
    expect(Object.keys(flow.nodes)).toEqual(['extract_event', 'route_to_messaging', 'echo_result', 'send_response']);
    expect(flow.nodes.extract_event!.routing).toEqual({ next: { node_id: 'route_to_messaging' } });
    expect(flow.nodes.route_to_messaging!.component.id).toBe('component.exec');
    expect(flow.nodes.route_to_messaging!.routing).toEqual({ custom: [{ next: 'send_response' }] });
    expect(flow.nodes.echo_result!.routing).toEqual({
      branch: { on_status: { '200': 'send_response', error: 'send_response' }, default: null },
    });
    expect(flow.nodes.send_response!.routing).toBe('end');
    expect(m.capabilities).toEqual([{ name: 'wasi:fs:none', description: null }]);
  });

  it('keeps integral floats as floats so they survive the round trip', () => {
    const m = decodePackManifest(quickstartManifestBytes);
    const ratio = (m.flows[0]!.flow.entrypoints.default as Record<string, unknown>).ratio;
    expect(ratio).toBeInstanceOf(CborFloat);
    expect(Number(ratio)).toBe(1);
  });

  it('writes struct fields in declaration order, symbol tables sorted bytewise, and re-decodes to the same model', () => {
    const m = minimalManifest();
    const bytes = encodePackManifest(m);
    const back = decodePackManifest(bytes);
    expect(encodePackManifest(back)).toEqual(bytes);
    const nodeIds = Object.keys(back.flows[0]!.flow.nodes);
    expect(nodeIds).toEqual(['zed', 'alpha']);
    // BTreeSet tags are sorted and de-duplicated, as serde writes them.
    expect(back.flows[0]!.flow.metadata.tags).toEqual(['a', 'b']);
    // Options upstream never skips in the encoded mirror are written as null.
    expect(back.flows[0]!.flow.nodes.zed!.component).toEqual({ id: 'emit.response', pack_alias: null, operation: null });
    expect(back.flows[0]!.flow.nodes.zed!.err_map).toBeNull();
    const text = new TextDecoder().decode(bytes);
    expect(text.indexOf('schema_version')).toBeLessThan(text.indexOf('pack_id'));
    expect(text.indexOf('symbols')).toBeLessThan(text.indexOf('components'));
  });

  it("keeps a component's secrets.writable grant through the round trip and writes nothing for an empty one", () => {
    const component = (writable?: string[]): PackManifest['components'][number] => ({
      id: 'ai.acme.oauth',
      version: '0.1.0',
      supports: ['messaging'],
      world: 'greentic:component/component@0.6.0',
      profiles: { supported: [] },
      capabilities: {
        wasi: { random: false, clocks: false },
        host: { secrets: { required: [{ key: 'REFRESH' }], ...(writable === undefined ? {} : { writable }) } },
      },
      operations: [],
      resources: {},
    });
    const granted = decodePackManifest(encodePackManifest({ ...minimalManifest(), components: [component(['REFRESH'])] }));
    expect(granted.components[0]!.capabilities.host.secrets).toEqual({ required: [{ key: 'REFRESH' }], writable: ['REFRESH'] });
    const plain = encodePackManifest({ ...minimalManifest(), components: [component()] });
    expect(encodePackManifest({ ...minimalManifest(), components: [component([])] })).toEqual(plain);
    expect(new TextDecoder().decode(plain)).not.toContain('writable');
  });

  it('signs over the manifest with an empty signature list', () => {
    const m = minimalManifest();
    const unsigned = encodePackManifest(m);
    m.signatures.signatures.push({ key_id: 'k', algorithm: 'ed25519', signature: 'AAAA' });
    expect(manifestSigningBytes(m)).toEqual(unsigned);
    expect(encodePackManifest(m)).not.toEqual(unsigned);
  });

  it('reports an out-of-range symbol index with a JSON pointer', () => {
    const bytes = quickstartManifestBytes.slice();
    // "pack_id": 0 → 5 (the byte right after the "pack_id" key)
    const key = new TextEncoder().encode('pack_id');
    const at = bytes.findIndex((_, i) => key.every((b, j) => bytes[i + j] === b));
    bytes[at + key.length] = 5;
    try {
      decodePackManifest(bytes);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PackError);
      expect((e as PackError).code).toBe('ManifestDecode');
      expect((e as PackError).where).toBe('manifest.cbor/pack_id');
    }
  });

  it('refuses to encode a node whose routing points at nothing the tables know', () => {
    const m = minimalManifest();
    m.flows[0]!.flow.nodes.zed!.routing = { next: { node_id: 'nowhere' } };
    expect(() => encodePackManifest(m)).toThrow(/nowhere.*node_ids/);
  });

  it('throws only ManifestDecode errors for damaged manifest bytes (fuzz)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(quickstartManifestBytes.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        (edits) => {
          const bytes = quickstartManifestBytes.slice();
          for (const [at, v] of edits) bytes[at] = v;
          try {
            const m = decodePackManifest(bytes);
            encodePackManifest(m);
          } catch (e) {
            expect(e).toBeInstanceOf(PackError);
            expect((e as PackError).code).toBe('ManifestDecode');
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('throws only ManifestDecode errors for arbitrary CBOR documents (fuzz)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        try {
          decodePackManifest(encodeCanonicalCbor(v, { allowFloats: true }));
        } catch (e) {
          expect(e).toBeInstanceOf(PackError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('manifest decoding of hostile documents', () => {
  const base = decodeCbor(quickstartManifestBytes, { preserveFloats: true, mapsAsMap: true }) as Map<unknown, unknown>;
  const encode = (v: unknown) => encodeCbor(v, { preserveMapOrder: true, allowFloats: true, keyOrder: 'bytewise' });

  /** The value's bytes with its `at`-th child (map entry value or array element) replaced by `item`. */
  function withChild(value: unknown, at: number, item: Uint8Array): Uint8Array {
    if (value instanceof Map && value.size > 0) {
      const i = at % value.size;
      return concatBytes(cborHead(5, value.size), ...[...value].flatMap(([k, v], j) => [encode(k), j === i ? item : encode(v)]));
    }
    if (Array.isArray(value) && value.length > 0) {
      const i = at % value.length;
      return concatBytes(cborHead(4, value.length), ...value.map((v, j) => (j === i ? item : encode(v))));
    }
    return item;
  }

  it('the upstream manifest with any field (or a field of a field) replaced by any CBOR item decodes or fails with a PackError, within 500 ms', () => {
    const keys = [...base.keys()];
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.boolean(), cborItem, (which, child, deeper, item) => {
        const target = keys[which % keys.length];
        const replaced = (v: unknown) => (deeper ? withChild(v, child, item) : item);
        const bytes = concatBytes(
          cborHead(5, base.size),
          ...[...base].flatMap(([k, v]) => [encode(k), k === target ? replaced(v) : encode(v)]),
        );
        withinTimeSync(500, 'decodePackManifest', () => {
          try {
            encodePackManifest(decodePackManifest(bytes));
          } catch (e) {
            expect(e).toBeInstanceOf(PackError);
          }
        });
      }),
      propertyParameters(300),
    );
  });
});
