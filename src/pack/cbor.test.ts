import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertyParameters, withinTimeSync } from '../../test/support/properties.js';
import { CborError, CborFloat, CborTagged, decodeCbor, encodeCanonicalCbor, encodeCbor, isCanonicalCbor } from './cbor.js';
import { cborHead, cborItem, concatBytes } from './fixtures/cbor-items.js';

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

describe('canonical CBOR', () => {
  it('sorts text keys length-first then bytewise, at every depth', () => {
    const bytes = encodeCanonicalCbor({ bb: 1, a: { zz: 0, y: 0 }, c: 2 });
    expect(hex(bytes)).toBe('a3' + '6161' + 'a2' + '6179' + '00' + '627a7a' + '00' + '6163' + '02' + '626262' + '01');
  });

  it('sorts Map entries too, so insertion order cannot leak into canonical bytes', () => {
    const m = new Map<string, number>([
      ['version', 1],
      ['id', 2],
    ]);
    expect(encodeCanonicalCbor(m)).toEqual(encodeCanonicalCbor({ id: 2, version: 1 }));
  });

  it('writes integers in their minimal width', () => {
    const cases: Array<[number | bigint, string]> = [
      [0, '00'],
      [23, '17'],
      [24, '1818'],
      [255, '18ff'],
      [256, '190100'],
      [65535, '19ffff'],
      [65536, '1a00010000'],
      [2 ** 32, '1b0000000100000000'],
      [-1, '20'],
      [-25, '3818'],
      [18446744073709551615n, '1bffffffffffffffff'],
      [-18446744073709551616n, '3bffffffffffffffff'],
    ];
    for (const [v, h] of cases) expect(hex(encodeCanonicalCbor(v))).toBe(h);
  });

  it('rejects floats unless allowed, then writes the shortest lossless width', () => {
    expect(() => encodeCanonicalCbor({ x: 1.5 })).toThrow(CborError);
    expect(hex(encodeCanonicalCbor(1.5, { allowFloats: true }))).toBe('f93e00');
    expect(hex(encodeCanonicalCbor(100000.5, { allowFloats: true }))).toBe('fa47c35040');
    expect(hex(encodeCanonicalCbor(0.1, { allowFloats: true }))).toBe('fb3fb999999999999a');
    expect(hex(encodeCanonicalCbor(new CborFloat(1), { allowFloats: true }))).toBe('f93c00');
  });

  it('omits undefined object members the way JSON does', () => {
    expect(encodeCanonicalCbor({ a: 1, b: undefined })).toEqual(encodeCanonicalCbor({ a: 1 }));
  });

  it('refuses values that have no CBOR form, naming where they are', () => {
    expect(() => encodeCanonicalCbor({ a: [() => 1] })).toThrow(/\/a\/0/);
    expect(() => encodeCanonicalCbor({ when: new Date(0) })).toThrow(CborError);
  });
});

describe('struct-order encoding (manifest.cbor)', () => {
  it('keeps Map insertion order while sorting plain objects bytewise', () => {
    const v = new Map<string, unknown>([
      ['zeta', 1],
      ['alpha', { bb: 1, a: 2 }],
    ]);
    const bytes = encodeCbor(v, { keyOrder: 'bytewise', preserveMapOrder: true });
    expect(hex(bytes)).toBe('a2' + '647a657461' + '01' + '65616c706861' + 'a2' + '6161' + '02' + '626262' + '01');
  });
});

describe('decodeCbor', () => {
  it('returns plain objects, arrays, strings, numbers and byte arrays', () => {
    const value = { a: [1, -2, 'x', new Uint8Array([1, 2]), null, true], big: 2n ** 60n };
    expect(decodeCbor(encodeCanonicalCbor(value))).toEqual(value);
  });

  it('keeps integral floats distinguishable when asked, so they re-encode as floats', () => {
    const bytes = Uint8Array.from([0xf9, 0x3c, 0x00]);
    expect(decodeCbor(bytes)).toBe(1);
    expect(decodeCbor(bytes, { preserveFloats: true })).toEqual(new CborFloat(1));
  });

  it('accepts indefinite lengths and strips the self-describe tag', () => {
    const bytes = Uint8Array.from([0xd9, 0xd9, 0xf7, 0xbf, 0x61, 0x61, 0x9f, 0x01, 0xff, 0xff]);
    expect(decodeCbor(bytes)).toEqual({ a: [1] });
    expect(isCanonicalCbor(bytes)).toBe(false);
  });

  it('rejects truncated input, trailing bytes and duplicate keys with a typed error', () => {
    expect(() => decodeCbor(Uint8Array.from([0x82, 0x01]))).toThrow(CborError);
    expect(() => decodeCbor(Uint8Array.from([0x01, 0x02]))).toThrow(/trailing/);
    expect(() => decodeCbor(Uint8Array.from([0xa2, 0x61, 0x61, 0x01, 0x61, 0x61, 0x02]))).toThrow(/duplicate map key/);
  });

  it('never throws anything but CborError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeCbor(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(CborError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('encodes any string, key or value, as its exact UTF-8 bytes (ASCII and non-ASCII, short and long)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 80 }), (s) => {
        const utf8 = new TextEncoder().encode(s);
        const asValue = decodeCbor(encodeCanonicalCbor(s));
        expect(asValue).toBe(s);
        const asKey = decodeCbor(encodeCanonicalCbor({ [s]: 1 })) as Record<string, number>;
        expect(Object.keys(asKey)).toEqual([s]);
        const bytes = encodeCanonicalCbor(s);
        expect(bytes.subarray(bytes.length - utf8.length)).toEqual(utf8);
      }),
      { numRuns: 1000 },
    );
  });

  it('round-trips any JSON value through canonical CBOR (floats allowed)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const bytes = encodeCanonicalCbor(v, { allowFloats: true });
        const back = decodeCbor(bytes);
        expect(encodeCanonicalCbor(back, { allowFloats: true })).toEqual(bytes);
        expect(isCanonicalCbor(bytes, { allowFloats: true })).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

/** What a pack upload feeds the decoder: anything, so each input must fail fast and typed, or decode. */
describe('CBOR decoding of hostile input', () => {
  const DECODE_MS = 500;

  it('decodes or refuses with a CborError any sequence of generated items, each within 500 ms', () => {
    fc.assert(
      fc.property(
        fc.array(cborItem, { minLength: 1, maxLength: 3 }),
        fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }))),
        (items, flip) => {
          const bytes = concatBytes(...items);
          if (flip !== null && bytes.length > 0) bytes[flip[0] % bytes.length] = flip[1];
          withinTimeSync(DECODE_MS, 'decodeCbor', () => {
            try {
              decodeCbor(bytes, { preserveFloats: true });
            } catch (e) {
              expect(e).toBeInstanceOf(CborError);
            }
          });
        },
      ),
      propertyParameters(400),
    );
  });

  it('refuses a head that declares more than the input holds at once, however large the claim', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(2, 3, 4, 5),
        fc.bigInt({ min: 0n, max: 2n ** 63n }),
        fc.uint8Array({ maxLength: 16 }),
        (major, extra, tail) => {
          // Every item takes at least one byte, so a count above the bytes left cannot be met.
          const bytes = concatBytes(cborHead(major, BigInt(tail.length) + 1n + extra), tail);
          withinTimeSync(50, 'decodeCbor', () => {
            expect(() => decodeCbor(bytes)).toThrow(CborError);
          });
        },
      ),
      propertyParameters(300),
    );
  });

  it('a map whose bignum key repeats is a CborError naming the key, not a TypeError', () => {
    const key = cborHead(0, 2n ** 64n - 1n);
    const bytes = concatBytes(cborHead(5, 2), key, cborHead(0, 1), key, cborHead(0, 2));
    expect(() => decodeCbor(bytes)).toThrow(/duplicate map key 18446744073709551615/);
  });

  it('a 128 KiB bignum decodes at once, kept as its tagged bytes (bigint arithmetic that size is a CPU sink)', () => {
    const length = 128 * 1024;
    const bytes = concatBytes(cborHead(6, 2), cborHead(2, length), new Uint8Array(length).fill(0xff));
    const value = withinTimeSync(DECODE_MS, 'a large bignum', () => decodeCbor(bytes));
    expect(value).toBeInstanceOf(CborTagged);
    expect((value as CborTagged).tag).toBe(2);
    expect(((value as CborTagged).value as Uint8Array).length).toBe(length);
    expect(decodeCbor(concatBytes(cborHead(6, 2), cborHead(2, 9), new Uint8Array(9).fill(0xff)))).toBe(2n ** 72n - 1n);
  });
});
