// Properties of pack upload under hostile archives (fast-check): random bytes, and real packs
// (STORED and DEFLATE) with bytes flipped, cut, inserted, or size fields set to extremes, POSTed to
// /admin/v1/packs. Every one is stored or refused with a typed 4xx, never a 5xx, within a bounded
// time; a refused one leaves R2 (`packs/`, models, artifacts) and the D1 index as they were.
import { SELF } from 'cloudflare:test';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { setTelemetrySink } from '../../src/edge/telemetry.js';
import { buildPack } from '../../src/pack/builder.js';
import { rawZip } from '../../src/pack/fixtures/raw-zip.js';
import { readZip } from '../../src/pack/zip.js';
import { expectTypedRefusal, propertyParameters, withinTime } from '../support/properties.js';
import { ECHO_FLOW, testEnv } from '../support/runtime-fixtures.js';
import { storageSnapshot } from '../support/storage-snapshot.js';

const UPLOAD_MS = 10_000;
const utf8 = new TextEncoder();

beforeAll(() => {
  setTelemetrySink(() => {});
});

function packSource(): Map<string, Uint8Array> {
  return new Map([
    [
      'pack.yaml',
      utf8.encode(
        'pack_id: fuzz-pack\nversion: 1.0.0\nkind: application\npublisher: tests\nflows:\n  - id: echo\n    file: flows/echo.ygtc\n',
      ),
    ],
    ['flows/echo.ygtc', utf8.encode(ECHO_FLOW('fuzz'))],
  ]);
}

const stored = buildPack(packSource()).bytes;
const deflated = rawZip(readZip(stored).map((e) => ({ name: e.name, data: e.data, method: 'deflate' as const })));
/** Archives the ZIP guards exist for, as starting points too. */
const hostile = [
  rawZip([{ name: '../escape.txt', data: utf8.encode('x') }]),
  rawZip([{ name: 'manifest.cbor', data: utf8.encode('link'), mode: 0o120777 }]),
  rawZip([{ name: 'bomb.bin', data: new Uint8Array(4096), method: 'deflate', declaredSize: 0xfffffff0 }]),
  rawZip([
    { name: 'manifest.cbor', data: utf8.encode('a') },
    { name: 'manifest.cbor', data: utf8.encode('b') },
  ]),
];

type Mutation =
  | { kind: 'flip'; at: number; value: number }
  | { kind: 'cut'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'u16' | 'u32'; at: number; value: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('u16' as const), at: fc.nat(), value: fc.constantFrom(0, 1, 8, 0x7fff, 0xffff) }),
  fc.record({ kind: fc.constant('u32' as const), at: fc.nat(), value: fc.constantFrom(0, 1, 0x10000, 0x7fffffff, 0xffffffff) }),
);

function mutate(base: Uint8Array, edits: Mutation[]): Uint8Array {
  let bytes = base.slice();
  for (const edit of edits) {
    if (bytes.length === 0) break;
    const at = edit.at % bytes.length;
    if (edit.kind === 'flip') bytes[at] = edit.value;
    else if (edit.kind === 'cut') bytes = bytes.slice(0, at);
    else if (edit.kind === 'insert') bytes = Uint8Array.from([...bytes.subarray(0, at), ...edit.bytes, ...bytes.subarray(at)]);
    else {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const width = edit.kind === 'u16' ? 2 : 4;
      if (at + width <= bytes.length) {
        if (width === 2) view.setUint16(at, edit.value, true);
        else view.setUint32(at, edit.value, true);
      }
    }
  }
  return bytes;
}

const archive = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.constantFrom(stored, deflated, ...hostile), fc.array(mutation, { minLength: 1, maxLength: 4 }))
      .map(([b, m]) => mutate(b, m)),
  },
  { weight: 1, arbitrary: fc.constantFrom(stored, deflated, ...hostile) },
  { weight: 2, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 4096 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }).map((tail) => Uint8Array.from([0x50, 0x4b, 0x03, 0x04, ...tail])) },
);

describe('pack upload under arbitrary archives', () => {
  // Runs first, on empty storage: the property below may store a mutated archive of the same version.
  it('the unmutated starting archive is a real pack the upload stores (so the property starts from valid input)', async () => {
    const res = await SELF.fetch('http://runner/admin/v1/packs', {
      method: 'POST',
      headers: { Authorization: 'Bearer test-admin-token', 'Content-Type': 'application/octet-stream' },
      body: stored,
    });
    expect(res.status, await res.clone().text()).toBe(201);
    await res.arrayBuffer();
  });

  it('any archive is stored or refused with a typed 4xx, never a 5xx, and a refused one stores nothing', async () => {
    await fc.assert(
      fc.asyncProperty(archive, async (bytes) => {
        const before = await storageSnapshot(testEnv);
        const res = await withinTime(UPLOAD_MS, 'POST /admin/v1/packs', () =>
          SELF.fetch('http://runner/admin/v1/packs', {
            method: 'POST',
            headers: { Authorization: 'Bearer test-admin-token', 'Content-Type': 'application/octet-stream' },
            body: bytes,
          }),
        );
        expect(res.status).toBeLessThan(500);
        if (res.status < 400) {
          await res.arrayBuffer();
          return;
        }
        await expectTypedRefusal(res, (body) => (body as { error?: unknown } | null)?.error);
        expect(await storageSnapshot(testEnv)).toEqual(before);
      }),
      propertyParameters(60),
    );
  });
});
