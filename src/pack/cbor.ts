// The project's one CBOR codec. Two encodings matter upstream:
// - canonical CBOR (greentic-types `cbor::canonical`): text keys only, keys sorted length-first
//   then bytewise, minimal-width integers, no tags, floats only when allowed;
// - ciborium's plain serde output (used by `manifest.cbor`): struct fields in declaration order,
//   serde_json object keys in bytewise order, floats in their shortest lossless width.
// One encoder serves both: plain objects are sorted (`keyOrder`), `Map` instances keep their
// insertion order when `preserveMapOrder` is set (that is how struct order is expressed).
// The file imports nothing and stays one file: `greentic-component new` copies it verbatim into
// each scaffolded component, which must build on its own. That is also why `CborError` is not a
// `CodedError` (it has the same `code` and `message` shape, without the import).

export class CborError extends Error {
  readonly code: 'CborDecode' | 'CborEncode';
  /** Byte offset (decode) or JSON-pointer-like path (encode) where the problem is. */
  readonly at: string;
  constructor(code: 'CborDecode' | 'CborEncode', message: string, at: string) {
    super(`${code}: ${message} (at ${at})`);
    this.name = 'CborError';
    this.code = code;
    this.at = at;
  }
}

/**
 * A float whose value happens to be integral. Decoding with `preserveFloats` returns these so that
 * re-encoding writes a float again (serde_json keeps `1.0` a float, and byte-exact round trips
 * depend on it). Non-integral floats decode to plain numbers: they cannot be confused with ints.
 * A `Number` subclass, so arithmetic and `JSON.stringify` treat it as the number it is.
 */
export class CborFloat extends Number {
  get value(): number {
    return this.valueOf();
  }
}

/** A tagged item other than the self-describe tag and bignums, kept so nothing is lost. */
export class CborTagged {
  constructor(
    readonly tag: number,
    readonly value: unknown,
  ) {}
}

export interface EncodeOptions {
  /** Order of plain-object keys: canonical length-first, or bytewise (serde_json BTreeMap). */
  keyOrder?: 'length-first' | 'bytewise';
  /** Emit `Map` entries in insertion order instead of sorting them. */
  preserveMapOrder?: boolean;
  allowFloats?: boolean;
}

const textEncoder = new TextEncoder();

/**
 * UTF-8 bytes of a string. Short ASCII strings (keys, ids, most values) skip TextEncoder, whose
 * call and off-heap result cost more than the encoding itself.
 */
function utf8(s: string): Uint8Array {
  if (s.length <= 64) {
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return textEncoder.encode(s);
      out[i] = c;
    }
    return out;
  }
  return textEncoder.encode(s);
}

class ByteSink {
  buf = new Uint8Array(256);
  len = 0;
  private view = new DataView(this.buf.buffer);

  reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  u16(v: number): void {
    this.reserve(2);
    this.view.setUint16(this.len, v);
    this.len += 2;
  }
  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.len, v);
    this.len += 4;
  }
  u64(v: bigint): void {
    this.reserve(8);
    this.view.setBigUint64(this.len, v);
    this.len += 8;
  }
  f32(v: number): void {
    this.reserve(4);
    this.view.setFloat32(this.len, v);
    this.len += 4;
  }
  f64(v: number): void {
    this.reserve(8);
    this.view.setFloat64(this.len, v);
    this.len += 8;
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

function writeHead(sink: ByteSink, major: number, n: number | bigint): void {
  const m = major << 5;
  if (typeof n === 'bigint') {
    if (n <= 0xffffffffn) {
      writeHead(sink, major, Number(n));
      return;
    }
    sink.byte(m | 27);
    sink.u64(n);
    return;
  }
  if (n < 24) sink.byte(m | n);
  else if (n < 0x100) {
    sink.byte(m | 24);
    sink.byte(n);
  } else if (n < 0x10000) {
    sink.byte(m | 25);
    sink.u16(n);
  } else if (n < 0x100000000) {
    sink.byte(m | 26);
    sink.u32(n);
  } else {
    sink.byte(m | 27);
    sink.u64(BigInt(n));
  }
}

const f32Scratch = new Float32Array(1);

function halfBitsIfExact(v: number): number | undefined {
  if (Number.isNaN(v)) return 0x7e00;
  if (v === Infinity) return 0x7c00;
  if (v === -Infinity) return 0xfc00;
  if (v === 0) return Object.is(v, -0) ? 0x8000 : 0;
  const sign = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  const exp = Math.floor(Math.log2(a));
  if (exp > 15 || exp < -24) return undefined;
  if (exp >= -14) {
    const mant = a / 2 ** exp - 1; // [0,1)
    const m = mant * 1024;
    if (!Number.isInteger(m)) return undefined;
    return sign | ((exp + 15) << 10) | m;
  }
  const m = a / 2 ** -24; // subnormal: value = m * 2^-24
  if (!Number.isInteger(m) || m >= 1024) return undefined;
  return sign | m;
}

function writeFloat(sink: ByteSink, v: number): void {
  const half = halfBitsIfExact(v);
  if (half !== undefined) {
    sink.byte(0xf9);
    sink.u16(half);
    return;
  }
  f32Scratch[0] = v;
  if (f32Scratch[0] === v) {
    sink.byte(0xfa);
    sink.f32(v);
    return;
  }
  sink.byte(0xfb);
  sink.f64(v);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

function sortKeys(entries: Array<[Uint8Array, string, unknown]>, order: 'length-first' | 'bytewise'): void {
  entries.sort((x, y) => (order === 'length-first' && x[0].length !== y[0].length ? x[0].length - y[0].length : compareBytes(x[0], y[0])));
}

function encodeInto(sink: ByteSink, value: unknown, opts: Required<EncodeOptions>, path: string, depth: number): void {
  if (depth > 512) throw new CborError('CborEncode', 'value nests deeper than 512 levels', path);
  switch (typeof value) {
    case 'string': {
      const b = utf8(value);
      writeHead(sink, 3, b.length);
      sink.bytes(b);
      return;
    }
    case 'boolean':
      sink.byte(value ? 0xf5 : 0xf4);
      return;
    case 'number': {
      if (Number.isInteger(value) && !Object.is(value, -0)) {
        if (!Number.isSafeInteger(value)) {
          if (!opts.allowFloats) throw new CborError('CborEncode', `integer ${value} is beyond 2^53; pass a bigint`, path);
        } else {
          if (value >= 0) writeHead(sink, 0, value);
          else writeHead(sink, 1, -1 - value);
          return;
        }
      }
      if (!opts.allowFloats) throw new CborError('CborEncode', `float ${value} is not allowed in canonical CBOR`, path);
      writeFloat(sink, value);
      return;
    }
    case 'bigint': {
      if (value >= 0n) {
        if (value > 0xffffffffffffffffn) throw new CborError('CborEncode', 'integer exceeds 64 bits', path);
        writeHead(sink, 0, value);
      } else {
        const n = -1n - value;
        if (n > 0xffffffffffffffffn) throw new CborError('CborEncode', 'integer exceeds 64 bits', path);
        writeHead(sink, 1, n);
      }
      return;
    }
    case 'object': {
      if (value === null) {
        sink.byte(0xf6);
        return;
      }
      if (value instanceof Uint8Array) {
        writeHead(sink, 2, value.length);
        sink.bytes(value);
        return;
      }
      if (value instanceof CborFloat) {
        if (!opts.allowFloats) throw new CborError('CborEncode', `float ${value.value} is not allowed in canonical CBOR`, path);
        writeFloat(sink, value.value);
        return;
      }
      if (value instanceof CborTagged) {
        throw new CborError('CborEncode', `tag ${value.tag} is not allowed`, path);
      }
      if (Array.isArray(value)) {
        writeHead(sink, 4, value.length);
        value.forEach((item, i) => {
          if (item === undefined) throw new CborError('CborEncode', 'undefined array item', `${path}/${i}`);
          encodeInto(sink, item, opts, `${path}/${i}`, depth + 1);
        });
        return;
      }
      let entries: Array<[Uint8Array, string, unknown]>;
      let sorted = true;
      if (value instanceof Map) {
        entries = [];
        for (const [k, v] of value) {
          if (typeof k !== 'string') throw new CborError('CborEncode', 'map keys must be text strings', path);
          if (v !== undefined) entries.push([utf8(k), k, v]);
        }
        sorted = !opts.preserveMapOrder;
      } else {
        const proto = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) {
          throw new CborError('CborEncode', `cannot encode ${(value as object).constructor?.name ?? 'object'}`, path);
        }
        entries = [];
        for (const k of Object.keys(value)) {
          const v = (value as Record<string, unknown>)[k];
          if (v !== undefined) entries.push([utf8(k), k, v]);
        }
      }
      if (sorted) sortKeys(entries, opts.keyOrder);
      writeHead(sink, 5, entries.length);
      for (const [kb, k, v] of entries) {
        writeHead(sink, 3, kb.length);
        sink.bytes(kb);
        encodeInto(sink, v, opts, `${path}/${k}`, depth + 1);
      }
      return;
    }
    default:
      throw new CborError('CborEncode', `cannot encode a ${typeof value}`, path || '/');
  }
}

/** Encode with explicit control over key order; see the module comment. */
export function encodeCbor(value: unknown, opts: EncodeOptions = {}): Uint8Array {
  // One scratch buffer is reused across calls (its allocation dominated small encodes); a nested
  // call (a getter that encodes) finds it taken and gets its own.
  const sink = spareSink ?? new ByteSink();
  spareSink = undefined;
  sink.len = 0;
  try {
    encodeInto(
      sink,
      value,
      {
        keyOrder: opts.keyOrder ?? 'length-first',
        preserveMapOrder: opts.preserveMapOrder ?? false,
        allowFloats: opts.allowFloats ?? false,
      },
      '',
      0,
    );
    return sink.result();
  } finally {
    // A buffer grown for a huge value is not kept alive.
    if (sink.buf.length <= 65536) spareSink = sink;
  }
}

let spareSink: ByteSink | undefined;

/**
 * greentic-types canonical CBOR: text keys sorted length-first then bytewise (Maps included),
 * minimal-width integers, definite lengths, no tags, floats rejected unless `allowFloats`.
 */
export function encodeCanonicalCbor(value: unknown, opts: { allowFloats?: boolean } = {}): Uint8Array {
  return encodeCbor(value, { keyOrder: 'length-first', preserveMapOrder: false, allowFloats: opts.allowFloats ?? false });
}

export interface DecodeOptions {
  /** Return integral floats as `CborFloat` so re-encoding keeps them floats. */
  preserveFloats?: boolean;
  /** Return maps as `Map` (insertion order kept) instead of plain objects. */
  mapsAsMap?: boolean;
}

const textDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const MAX_DEPTH = 256;
/**
 * Longest bignum turned into a bigint; a longer one stays a `CborTagged` (nothing is lost). An
 * archive may hold megabytes of bignum, and arithmetic on numbers that size is a CPU sink.
 */
const MAX_BIGNUM_BYTES = 1024;

function bytesToBigInt(bytes: Uint8Array): bigint {
  let hex = '0x0';
  for (const b of bytes) hex += b.toString(16).padStart(2, '0');
  return BigInt(hex);
}

/** A map key as a duplicate-key message can show it (JSON.stringify throws on a bigint). */
function describeKey(key: unknown): string {
  if (typeof key === 'string') return JSON.stringify(key);
  if (key === null || ['number', 'bigint', 'boolean', 'undefined'].includes(typeof key)) return String(key);
  return key instanceof Uint8Array ? `a ${key.length}-byte string` : `a ${key instanceof Map ? 'map' : typeof key}`;
}

class Reader {
  pos = 0;
  private view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly opts: DecodeOptions,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  fail(msg: string, at = this.pos): never {
    throw new CborError('CborDecode', msg, `byte ${at}`);
  }
  need(n: number): void {
    if (this.pos + n > this.bytes.length) this.fail(`truncated: needs ${n} more byte(s)`);
  }
  u8(): number {
    this.need(1);
    return this.bytes[this.pos++] as number;
  }
  /** Argument of a head; returns a number when it fits 2^53, else a bigint. -1 = indefinite. */
  arg(info: number): number | bigint {
    if (info < 24) return info;
    switch (info) {
      case 24:
        return this.u8();
      case 25: {
        this.need(2);
        const v = this.view.getUint16(this.pos);
        this.pos += 2;
        return v;
      }
      case 26: {
        this.need(4);
        const v = this.view.getUint32(this.pos);
        this.pos += 4;
        return v;
      }
      case 27: {
        this.need(8);
        const v = this.view.getBigUint64(this.pos);
        this.pos += 8;
        return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      case 31:
        return -1;
      default:
        return this.fail(`reserved additional info ${info}`, this.pos - 1);
    }
  }
  length(info: number, start: number): number {
    const n = this.arg(info);
    if (typeof n === 'bigint') this.fail('length does not fit', start);
    return n;
  }
  take(n: number): Uint8Array {
    if (n > this.bytes.length - this.pos) this.fail(`truncated: string of ${n} byte(s) runs past the end`);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  chunks(major: number): Uint8Array {
    const parts: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const b = this.u8();
      if (b === 0xff) break;
      if (b >> 5 !== major) this.fail('indefinite string chunk of the wrong type', this.pos - 1);
      const n = this.length(b & 31, this.pos - 1);
      if (n < 0) this.fail('nested indefinite string', this.pos - 1);
      parts.push(this.take(n));
      total += n;
    }
    const out = new Uint8Array(total);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
  text(bytes: Uint8Array, at: number): string {
    try {
      return textDecoder.decode(bytes);
    } catch {
      return this.fail('text string is not valid UTF-8', at);
    }
  }
  item(depth: number): unknown {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
    const start = this.pos;
    const ib = this.u8();
    const major = ib >> 5;
    const info = ib & 31;
    switch (major) {
      case 0: {
        if (info === 31) this.fail('indefinite length integer', start);
        return this.arg(info);
      }
      case 1: {
        if (info === 31) this.fail('indefinite length integer', start);
        const n = this.arg(info);
        if (typeof n === 'bigint') return -1n - n;
        const v = -1 - n;
        return Number.isSafeInteger(v) ? v : -1n - BigInt(n);
      }
      case 2: {
        const n = this.length(info, start);
        if (n < 0) return this.chunks(2);
        return this.take(n).slice();
      }
      case 3: {
        const n = this.length(info, start);
        return this.text(n < 0 ? this.chunks(3) : this.take(n), start);
      }
      case 4: {
        const n = this.length(info, start);
        const out: unknown[] = [];
        if (n < 0) {
          while (this.peekBreak() === false) out.push(this.item(depth + 1));
          return out;
        }
        if (n > this.bytes.length - this.pos) this.fail(`array of ${n} items cannot fit in the remaining bytes`, start);
        for (let i = 0; i < n; i++) out.push(this.item(depth + 1));
        return out;
      }
      case 5: {
        const n = this.length(info, start);
        if (n >= 0 && n * 2 > this.bytes.length - this.pos) this.fail(`map of ${n} entries cannot fit in the remaining bytes`, start);
        return this.map(n, depth);
      }
      case 6: {
        const tag = this.arg(info);
        if (info === 31) this.fail('indefinite tag', start);
        const inner = this.item(depth + 1);
        if (tag === 55799) return inner;
        if ((tag === 2 || tag === 3) && inner instanceof Uint8Array && inner.length <= MAX_BIGNUM_BYTES) {
          const v = bytesToBigInt(inner);
          return tag === 2 ? v : -1n - v;
        }
        return new CborTagged(Number(tag), inner);
      }
      default:
        return this.simple(info, start);
    }
  }
  peekBreak(): boolean {
    this.need(1);
    if (this.bytes[this.pos] === 0xff) {
      this.pos++;
      return true;
    }
    return false;
  }
  map(n: number, depth: number): unknown {
    const asMap = this.opts.mapsAsMap === true;
    const m = new Map<unknown, unknown>();
    let allText = true;
    for (let i = 0; n < 0 ? !this.peekBreak() : i < n; i++) {
      const keyAt = this.pos;
      const k = this.item(depth + 1);
      if (typeof k !== 'string') allText = false;
      if (m.has(k)) this.fail(`duplicate map key ${describeKey(k)}`, keyAt);
      m.set(k, this.item(depth + 1));
    }
    if (asMap || !allText) return m;
    const obj: Record<string, unknown> = {};
    for (const [k, v] of m) {
      Object.defineProperty(obj, k as string, { value: v, enumerable: true, writable: true, configurable: true });
    }
    return obj;
  }
  simple(info: number, start: number): unknown {
    switch (info) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 23:
        return undefined;
      case 24:
        return this.fail(`unsupported simple value ${this.u8()}`, start);
      case 25: {
        this.need(2);
        const v = decodeHalf(this.view.getUint16(this.pos));
        this.pos += 2;
        return this.float(v);
      }
      case 26: {
        this.need(4);
        const v = this.view.getFloat32(this.pos);
        this.pos += 4;
        return this.float(v);
      }
      case 27: {
        this.need(8);
        const v = this.view.getFloat64(this.pos);
        this.pos += 8;
        return this.float(v);
      }
      case 31:
        return this.fail('unexpected break', start);
      default:
        return this.fail(`unsupported simple value ${info}`, start);
    }
  }
  float(v: number): unknown {
    if (this.opts.preserveFloats && (Number.isInteger(v) || !Number.isFinite(v) || Object.is(v, -0))) return new CborFloat(v);
    return v;
  }
}

function decodeHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/**
 * Lenient decode (as upstream `from_cbor`): accepts any key order and indefinite lengths, strips
 * the self-describe tag, turns bignum tags into bigints. Maps whose keys are all text become
 * plain objects (unless `mapsAsMap`); other maps stay `Map`s. Trailing bytes are an error.
 */
export function decodeCbor(bytes: Uint8Array, opts: DecodeOptions = {}): unknown {
  const r = new Reader(bytes, opts);
  if (bytes.length === 0) r.fail('empty input');
  const v = r.item(0);
  if (r.pos !== bytes.length) r.fail(`${bytes.length - r.pos} trailing byte(s) after the first item`);
  return v;
}

/** True when `bytes` is exactly the canonical encoding of its own decoded value. */
export function isCanonicalCbor(bytes: Uint8Array, opts: { allowFloats?: boolean } = {}): boolean {
  try {
    const again = encodeCanonicalCbor(decodeCbor(bytes, { preserveFloats: true }), opts);
    return compareBytes(again, bytes) === 0;
  } catch {
    return false;
  }
}
