// ZIP container for `.gtpack`. The reader is as lenient as greentic-pack's (STORED or DEFLATE,
// any entry order, any timestamps) but checks every header against the guards before touching
// entry data, and enforces the size limits again while inflating, because a header can lie.
// The writer produces exactly what packc's zip crate writes: STORED, version-needed 10, flags 0,
// DOS 1980-01-01 00:00, unix mode 0644, no extra fields, no data descriptors.
import { Inflate } from 'fflate';
import { errorMessage } from '../core/coded-error.js';
import { PackError } from './errors.js';

export interface ZipLimits {
  /** Largest uncompressed entry (upstream: 16 MiB). */
  maxEntryBytes: number;
  /** Largest sum of uncompressed entries (upstream: 64 MiB). */
  maxTotalBytes: number;
  /** Largest uncompressed/compressed ratio for an entry bigger than `ratioFloorBytes`. */
  maxCompressionRatio: number;
  ratioFloorBytes: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  maxEntryBytes: 16 * 1024 * 1024,
  maxTotalBytes: 64 * 1024 * 1024,
  maxCompressionRatio: 200,
  ratioFloorBytes: 1024 * 1024,
};

export interface ZipEntry {
  name: string;
  /** Uncompressed bytes; for STORED entries a view into the archive (no copy). */
  data: Uint8Array;
  method: 'stored' | 'deflate';
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

let crcTable: Int32Array | undefined;
function table(): Int32Array {
  if (crcTable !== undefined) return crcTable;
  const t = new Int32Array(256 * 8);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n] as number;
    for (let k = 1; k < 8; k++) {
      c = (t[c & 255] as number) ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  crcTable = t;
  return t;
}

/** CRC-32 (IEEE), slicing-by-8: ZIP's per-entry checksum. */
export function crc32(d: Uint8Array): number {
  const t = table();
  let c = -1;
  let i = 0;
  const n = d.length;
  for (; i + 8 <= n; i += 8) {
    const a = ((d[i] as number) | ((d[i + 1] as number) << 8) | ((d[i + 2] as number) << 16) | ((d[i + 3] as number) << 24)) ^ c;
    const b = (d[i + 4] as number) | ((d[i + 5] as number) << 8) | ((d[i + 6] as number) << 16) | ((d[i + 7] as number) << 24);
    c =
      (t[1792 + (a & 255)] as number) ^
      (t[1536 + ((a >>> 8) & 255)] as number) ^
      (t[1280 + ((a >>> 16) & 255)] as number) ^
      (t[1024 + (a >>> 24)] as number) ^
      (t[768 + (b & 255)] as number) ^
      (t[512 + ((b >>> 8) & 255)] as number) ^
      (t[256 + ((b >>> 16) & 255)] as number) ^
      (t[b >>> 24] as number);
  }
  for (; i < n; i++) c = (t[(c ^ (d[i] as number)) & 255] as number) ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Zip-slip guard: a relative path of non-empty, non-dot segments, forward slashes only. */
export function checkEntryPath(name: string): string | undefined {
  if (name.length === 0) return 'empty name';
  if (name.startsWith('/')) return 'absolute path';
  if (/^[A-Za-z]:/.test(name)) return 'drive-letter path';
  if (name.includes('\\')) return 'backslash in path';
  if (name.includes('\0')) return 'NUL in path';
  for (const seg of name.split('/')) {
    if (seg === '') return 'empty path segment';
    if (seg === '..') return '".." segment';
    if (seg === '.') return '"." segment';
  }
  return undefined;
}

interface CentralRecord {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
  madeBy: number;
  externalAttrs: number;
}

function findEocd(bytes: Uint8Array, view: DataView): number {
  const min = Math.max(0, bytes.length - 22 - 0xffff);
  for (let i = bytes.length - 22; i >= min; i--) {
    if (view.getUint32(i, true) === SIG_EOCD && i + 22 + view.getUint16(i + 20, true) === bytes.length) return i;
  }
  throw new PackError('ZipCorrupt', 'no end-of-central-directory record: not a ZIP archive', 'archive');
}

function readCentral(bytes: Uint8Array, view: DataView): CentralRecord[] {
  if (bytes.length < 22) throw new PackError('ZipCorrupt', `archive is ${bytes.length} bytes, too short for a ZIP`, 'archive');
  const eocd = findEocd(bytes, view);
  const disk = view.getUint16(eocd + 4, true);
  const cdDisk = view.getUint16(eocd + 6, true);
  const onDisk = view.getUint16(eocd + 8, true);
  const count = view.getUint16(eocd + 10, true);
  const cdSize = view.getUint32(eocd + 12, true);
  const cdOffset = view.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    throw new PackError('ZipUnsupported', 'ZIP64 archives are not supported (packs are limited to 64 MiB)', 'archive');
  }
  if (disk !== 0 || cdDisk !== 0 || onDisk !== count)
    throw new PackError('ZipUnsupported', 'multi-disk archives are not supported', 'archive');
  if (cdOffset + cdSize > eocd) throw new PackError('ZipCorrupt', 'central directory runs past its end record', 'archive');
  const out: CentralRecord[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > eocd || view.getUint32(p, true) !== SIG_CENTRAL) {
      throw new PackError('ZipCorrupt', `central directory record ${i} is missing or truncated`, 'archive');
    }
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    const end = p + 46 + nameLen + extraLen + commentLen;
    if (end > eocd) throw new PackError('ZipCorrupt', `central directory record ${i} runs past the directory`, 'archive');
    const rawName = bytes.subarray(p + 46, p + 46 + nameLen);
    let name: string;
    try {
      name = strictUtf8.decode(rawName);
    } catch {
      throw new PackError('UnsafePath', 'entry name is not valid UTF-8', `entry #${i}`);
    }
    out.push({
      name,
      madeBy: view.getUint16(p + 4, true),
      flags: view.getUint16(p + 8, true),
      method: view.getUint16(p + 10, true),
      crc: view.getUint32(p + 16, true),
      compressedSize: view.getUint32(p + 20, true),
      size: view.getUint32(p + 24, true),
      externalAttrs: view.getUint32(p + 38, true),
      localOffset: view.getUint32(p + 42, true),
    });
    p = end;
  }
  return out;
}

/** The unix file type from external attributes, when the entry was made on unix and carries one. */
function unixType(r: CentralRecord): number | undefined {
  if (r.madeBy >> 8 !== 3) return undefined;
  const mode = r.externalAttrs >>> 16;
  return mode === 0 ? undefined : mode & S_IFMT;
}

function inflateBounded(name: string, input: Uint8Array, expected: number, limit: number): Uint8Array {
  const out = new Uint8Array(expected);
  let written = 0;
  let overflow = false;
  let failure: unknown;
  const inflater = new Inflate((chunk) => {
    if (overflow) return;
    if (written + chunk.length > expected) {
      overflow = true;
      return;
    }
    out.set(chunk, written);
    written += chunk.length;
  });
  // Small input slices bound how much one push can produce (deflate expands at most ~1032x), so a
  // lying size header is caught after at most a few MiB of output instead of after the whole bomb.
  const slice = 4096;
  try {
    for (let i = 0; i < input.length && !overflow; i += slice) {
      const end = Math.min(input.length, i + slice);
      inflater.push(input.subarray(i, end), end === input.length);
    }
    if (input.length === 0) inflater.push(new Uint8Array(0), true);
  } catch (e) {
    failure = e;
  }
  if (overflow) {
    const code = expected >= limit ? 'EntryTooLarge' : 'CompressionBomb';
    throw new PackError(code, `inflates past its declared size of ${expected} bytes`, name);
  }
  if (failure !== undefined) throw new PackError('ZipCorrupt', `deflate data is corrupt (${errorMessage(failure)})`, name);
  if (written !== expected) throw new PackError('ZipCorrupt', `inflated to ${written} bytes, header says ${expected}`, name);
  return out;
}

function sameName(raw: Uint8Array, name: string): boolean {
  try {
    return strictUtf8.decode(raw) === name;
  } catch {
    return false;
  }
}

/**
 * Read every file entry. Directory entries are skipped as upstream does; anything else that is not
 * a regular file, and every unsafe name, duplicate or oversize entry, is a typed error naming it.
 */
export function readZip(bytes: Uint8Array, limits: ZipLimits = DEFAULT_ZIP_LIMITS): ZipEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records = readCentral(bytes, view);
  const seen = new Set<string>();
  let total = 0;
  const files: CentralRecord[] = [];
  // Pass 1: every guard that headers alone can decide, before any data is read or inflated.
  for (const r of records) {
    const type = unixType(r);
    const looksDir = r.name.endsWith('/');
    if (looksDir || type === S_IFDIR) {
      if (looksDir && (type === undefined || type === S_IFDIR) && r.size === 0) {
        const why = checkEntryPath(r.name.slice(0, -1));
        if (why !== undefined) throw new PackError('UnsafePath', why, r.name);
        continue;
      }
      throw new PackError('NotRegularFile', 'a directory entry with a file name or contents', r.name);
    }
    if (type !== undefined && type !== S_IFREG) {
      const kind = type === 0o120000 ? 'symbolic link' : `unix file type 0o${type.toString(8)}`;
      throw new PackError('NotRegularFile', `${kind}; only regular files are allowed`, r.name);
    }
    const why = checkEntryPath(r.name);
    if (why !== undefined) throw new PackError('UnsafePath', why, r.name);
    if (seen.has(r.name)) throw new PackError('DuplicateEntry', 'the archive holds this name more than once', r.name);
    seen.add(r.name);
    if (r.flags & 1) throw new PackError('ZipUnsupported', 'encrypted entries are not supported', r.name);
    if (r.method !== 0 && r.method !== 8)
      throw new PackError('ZipUnsupported', `compression method ${r.method} (only STORED and DEFLATE)`, r.name);
    if (r.size > limits.maxEntryBytes) {
      throw new PackError('EntryTooLarge', `${r.size} bytes uncompressed exceeds the ${limits.maxEntryBytes}-byte entry limit`, r.name);
    }
    total += r.size;
    if (total > limits.maxTotalBytes) {
      throw new PackError('ArchiveTooLarge', `uncompressed total exceeds the ${limits.maxTotalBytes}-byte archive limit`, r.name);
    }
    if (r.method === 0 && r.compressedSize !== r.size) throw new PackError('ZipCorrupt', 'STORED entry with differing sizes', r.name);
    if (r.method === 8 && r.size > limits.ratioFloorBytes && r.size > r.compressedSize * limits.maxCompressionRatio) {
      throw new PackError(
        'CompressionBomb',
        `compression ratio ${Math.round(r.size / Math.max(1, r.compressedSize))}:1 exceeds ${limits.maxCompressionRatio}:1`,
        r.name,
      );
    }
    files.push(r);
  }
  // Pass 2: locate, bound-check and extract.
  return files.map((r) => {
    const lo = r.localOffset;
    if (lo + 30 > bytes.length || view.getUint32(lo, true) !== SIG_LOCAL)
      throw new PackError('ZipCorrupt', 'local header is missing', r.name);
    const nameLen = view.getUint16(lo + 26, true);
    const extraLen = view.getUint16(lo + 28, true);
    const localName = bytes.subarray(lo + 30, lo + 30 + nameLen);
    if (!sameName(localName, r.name))
      throw new PackError('ZipCorrupt', 'local header names a different file than the central directory', r.name);
    const start = lo + 30 + nameLen + extraLen;
    const end = start + r.compressedSize;
    if (end > bytes.length) throw new PackError('ZipCorrupt', 'entry data runs past the end of the archive', r.name);
    const raw = bytes.subarray(start, end);
    const data = r.method === 0 ? raw : inflateBounded(r.name, raw, r.size, limits.maxEntryBytes);
    if (crc32(data) !== r.crc) throw new PackError('ZipCorrupt', 'CRC-32 mismatch: the entry is damaged', r.name);
    return { name: r.name, data, method: r.method === 0 ? 'stored' : 'deflate' };
  });
}

export interface ZipWriteEntry {
  name: string;
  data: Uint8Array;
}

const utf8 = new TextEncoder();
const DOS_DATE_1980_01_01 = 0x0021;
const VERSION_NEEDED_STORED = 10;
// zip crate 2.x: host 3 (unix), spec version 4.5.
const VERSION_MADE_BY = (3 << 8) | 45;
const MODE_0644 = (0o100644 << 16) >>> 0;

/** Write a deterministic STORED archive, entries in the given order. */
export function writeZip(entries: readonly ZipWriteEntry[]): Uint8Array {
  const names = entries.map((e) => utf8.encode(e.name));
  let localSize = 0;
  let centralSize = 0;
  entries.forEach((e, i) => {
    localSize += 30 + (names[i] as Uint8Array).length + e.data.length;
    centralSize += 46 + (names[i] as Uint8Array).length;
  });
  if (localSize + centralSize > 0xffffffff || entries.length > 0xfffe)
    throw new PackError('ZipUnsupported', 'archive too large for a non-ZIP64 writer', 'archive');
  const out = new Uint8Array(localSize + centralSize + 22);
  const view = new DataView(out.buffer);
  const offsets: number[] = [];
  const crcs: number[] = [];
  let p = 0;
  entries.forEach((e, i) => {
    const name = names[i] as Uint8Array;
    const crc = crc32(e.data);
    const utf8Flag = name.some((b) => b >= 0x80) ? 0x0800 : 0;
    offsets.push(p);
    crcs.push(crc);
    view.setUint32(p, SIG_LOCAL, true);
    view.setUint16(p + 4, VERSION_NEEDED_STORED, true);
    view.setUint16(p + 6, utf8Flag, true);
    view.setUint16(p + 8, 0, true);
    view.setUint16(p + 10, 0, true);
    view.setUint16(p + 12, DOS_DATE_1980_01_01, true);
    view.setUint32(p + 14, crc, true);
    view.setUint32(p + 18, e.data.length, true);
    view.setUint32(p + 22, e.data.length, true);
    view.setUint16(p + 26, name.length, true);
    view.setUint16(p + 28, 0, true);
    out.set(name, p + 30);
    out.set(e.data, p + 30 + name.length);
    p += 30 + name.length + e.data.length;
  });
  const cdOffset = p;
  entries.forEach((e, i) => {
    const name = names[i] as Uint8Array;
    const utf8Flag = name.some((b) => b >= 0x80) ? 0x0800 : 0;
    view.setUint32(p, SIG_CENTRAL, true);
    view.setUint16(p + 4, VERSION_MADE_BY, true);
    view.setUint16(p + 6, VERSION_NEEDED_STORED, true);
    view.setUint16(p + 8, utf8Flag, true);
    view.setUint16(p + 10, 0, true);
    view.setUint16(p + 12, 0, true);
    view.setUint16(p + 14, DOS_DATE_1980_01_01, true);
    view.setUint32(p + 16, crcs[i] as number, true);
    view.setUint32(p + 20, e.data.length, true);
    view.setUint32(p + 24, e.data.length, true);
    view.setUint16(p + 28, name.length, true);
    // extra, comment, disk start, internal attrs: zero
    view.setUint32(p + 38, MODE_0644, true);
    view.setUint32(p + 42, offsets[i] as number, true);
    out.set(name, p + 46);
    p += 46 + name.length;
  });
  view.setUint32(p, SIG_EOCD, true);
  view.setUint16(p + 8, entries.length, true);
  view.setUint16(p + 10, entries.length, true);
  view.setUint32(p + 12, p - cdOffset, true);
  view.setUint32(p + 16, cdOffset, true);
  return out;
}
