/**
 * The canonical-ABI side of WASI preview 2 for components instantiated without jco's glue: the
 * WIT signature of each `wasi:*@0.2.x` function the isolate serves, and the lowering that lifts
 * a core call's arguments, calls the same implementation the glue uses (wasi.ts, in jco's calling
 * convention: resources are objects, `result` errors are thrown payloads) and lowers its result.
 * Signatures follow WASI 0.2 (`@bytecodealliance/jco`'s builtin WIT 0.2.12); a component that
 * imports a function not listed here keeps the glue.
 */

import { type CanonType, camel, layoutOf, MAX_FLAT_PARAMS, MAX_FLAT_RESULTS, t } from './canon.js';
import { liftFlat, lowerFlatResult } from './canon-flat.js';
import { CanonError, type GuestMemory } from './guest-memory.js';

const r = (iface: string, name: string): string => `${iface}#${name}`;
const INPUT = r('wasi:io/streams', 'input-stream');
const OUTPUT = r('wasi:io/streams', 'output-stream');
const POLLABLE = r('wasi:io/poll', 'pollable');
const IO_ERROR = r('wasi:io/error', 'error');
const DESCRIPTOR = r('wasi:filesystem/types', 'descriptor');
const DIR_STREAM = r('wasi:filesystem/types', 'directory-entry-stream');
const TERMINAL_INPUT = r('wasi:cli/terminal-input', 'terminal-input');
const TERMINAL_OUTPUT = r('wasi:cli/terminal-output', 'terminal-output');

/** Resources the isolate hands out, by versionless identity; `[resource-drop]` of any other keeps the glue. */
export const WASI_RESOURCES = new Set([INPUT, OUTPUT, POLLABLE, IO_ERROR, DESCRIPTOR, DIR_STREAM, TERMINAL_INPUT, TERMINAL_OUTPUT]);

interface WasiSignature {
  params: CanonType[];
  result?: CanonType;
}

const sig = (params: CanonType[], result?: CanonType): WasiSignature => ({ params, result });

let signatures: Record<string, WasiSignature> | null = null;

/**
 * `interface#function` (no version) → WIT signature; methods take their `self` borrow first.
 * Built on first use: every pack isolate loads this module, few call WASI.
 */
function signatureTable(): Record<string, WasiSignature> {
  if (signatures) return signatures;
  const streamError = t.variant([['last-operation-failed', t.own(IO_ERROR)], ['closed']]);
  const datetime = t.record([
    ['seconds', t.u64],
    ['nanoseconds', t.u32],
  ]);
  const errorCode = t.enum(
    'access',
    'would-block',
    'already',
    'bad-descriptor',
    'busy',
    'deadlock',
    'quota',
    'exist',
    'file-too-large',
    'illegal-byte-sequence',
    'in-progress',
    'interrupted',
    'invalid',
    'io',
    'is-directory',
    'loop',
    'too-many-links',
    'message-size',
    'name-too-long',
    'no-device',
    'no-entry',
    'no-lock',
    'insufficient-memory',
    'insufficient-space',
    'not-directory',
    'not-empty',
    'not-recoverable',
    'unsupported',
    'no-tty',
    'no-such-device',
    'overflow',
    'not-permitted',
    'pipe',
    'read-only',
    'invalid-seek',
    'text-file-busy',
    'cross-device',
  );
  const descriptorType = t.enum(
    'unknown',
    'block-device',
    'character-device',
    'directory',
    'fifo',
    'symbolic-link',
    'regular-file',
    'socket',
  );
  const descriptorFlags = t.flags(
    'read',
    'write',
    'file-integrity-sync',
    'data-integrity-sync',
    'requested-write-sync',
    'mutate-directory',
  );
  const pathFlags = t.flags('symlink-follow');
  const openFlags = t.flags('create', 'directory', 'exclusive', 'truncate');
  const descriptorStat = t.record([
    ['type', descriptorType],
    ['link-count', t.u64],
    ['size', t.u64],
    ['data-access-timestamp', t.option(datetime)],
    ['data-modification-timestamp', t.option(datetime)],
    ['status-change-timestamp', t.option(datetime)],
  ]);
  const metadataHash = t.record([
    ['lower', t.u64],
    ['upper', t.u64],
  ]);
  const directoryEntry = t.record([
    ['type', descriptorType],
    ['name', t.string],
  ]);
  const bytes = t.list(t.u8);
  const fsResult = (ok?: CanonType): CanonType => t.result(ok, errorCode);
  const streamResult = (ok?: CanonType): CanonType => t.result(ok, streamError);
  signatures = {
    'wasi:cli/environment#get-environment': sig([], t.list(t.tuple(t.string, t.string))),
    'wasi:cli/environment#get-arguments': sig([], t.list(t.string)),
    'wasi:cli/environment#initial-cwd': sig([], t.option(t.string)),
    'wasi:cli/exit#exit': sig([t.result()]),
    'wasi:cli/stdin#get-stdin': sig([], t.own(INPUT)),
    'wasi:cli/stdout#get-stdout': sig([], t.own(OUTPUT)),
    'wasi:cli/stderr#get-stderr': sig([], t.own(OUTPUT)),
    'wasi:cli/terminal-stdin#get-terminal-stdin': sig([], t.option(t.own(TERMINAL_INPUT))),
    'wasi:cli/terminal-stdout#get-terminal-stdout': sig([], t.option(t.own(TERMINAL_OUTPUT))),
    'wasi:cli/terminal-stderr#get-terminal-stderr': sig([], t.option(t.own(TERMINAL_OUTPUT))),
    'wasi:clocks/wall-clock#now': sig([], datetime),
    'wasi:clocks/wall-clock#resolution': sig([], datetime),
    'wasi:clocks/monotonic-clock#now': sig([], t.u64),
    'wasi:clocks/monotonic-clock#resolution': sig([], t.u64),
    'wasi:clocks/monotonic-clock#subscribe-instant': sig([t.u64], t.own(POLLABLE)),
    'wasi:clocks/monotonic-clock#subscribe-duration': sig([t.u64], t.own(POLLABLE)),
    'wasi:io/error#[method]error.to-debug-string': sig([t.borrow(IO_ERROR)], t.string),
    'wasi:io/poll#[method]pollable.ready': sig([t.borrow(POLLABLE)], t.bool),
    'wasi:io/poll#[method]pollable.block': sig([t.borrow(POLLABLE)]),
    'wasi:io/poll#poll': sig([t.list(t.borrow(POLLABLE))], t.list(t.u32)),
    'wasi:io/streams#[method]input-stream.read': sig([t.borrow(INPUT), t.u64], streamResult(bytes)),
    'wasi:io/streams#[method]input-stream.blocking-read': sig([t.borrow(INPUT), t.u64], streamResult(bytes)),
    'wasi:io/streams#[method]input-stream.skip': sig([t.borrow(INPUT), t.u64], streamResult(t.u64)),
    'wasi:io/streams#[method]input-stream.blocking-skip': sig([t.borrow(INPUT), t.u64], streamResult(t.u64)),
    'wasi:io/streams#[method]input-stream.subscribe': sig([t.borrow(INPUT)], t.own(POLLABLE)),
    'wasi:io/streams#[method]output-stream.check-write': sig([t.borrow(OUTPUT)], streamResult(t.u64)),
    'wasi:io/streams#[method]output-stream.write': sig([t.borrow(OUTPUT), bytes], streamResult()),
    'wasi:io/streams#[method]output-stream.blocking-write-and-flush': sig([t.borrow(OUTPUT), bytes], streamResult()),
    'wasi:io/streams#[method]output-stream.flush': sig([t.borrow(OUTPUT)], streamResult()),
    'wasi:io/streams#[method]output-stream.blocking-flush': sig([t.borrow(OUTPUT)], streamResult()),
    'wasi:io/streams#[method]output-stream.subscribe': sig([t.borrow(OUTPUT)], t.own(POLLABLE)),
    'wasi:io/streams#[method]output-stream.write-zeroes': sig([t.borrow(OUTPUT), t.u64], streamResult()),
    'wasi:io/streams#[method]output-stream.blocking-write-zeroes-and-flush': sig([t.borrow(OUTPUT), t.u64], streamResult()),
    'wasi:random/random#get-random-bytes': sig([t.u64], bytes),
    'wasi:random/random#get-random-u64': sig([], t.u64),
    'wasi:random/insecure#get-insecure-random-bytes': sig([t.u64], bytes),
    'wasi:random/insecure#get-insecure-random-u64': sig([], t.u64),
    'wasi:random/insecure-seed#insecure-seed': sig([], t.tuple(t.u64, t.u64)),
    'wasi:filesystem/preopens#get-directories': sig([], t.list(t.tuple(t.own(DESCRIPTOR), t.string))),
    'wasi:filesystem/types#filesystem-error-code': sig([t.borrow(IO_ERROR)], t.option(errorCode)),
    'wasi:filesystem/types#[method]descriptor.read-via-stream': sig([t.borrow(DESCRIPTOR), t.u64], fsResult(t.own(INPUT))),
    'wasi:filesystem/types#[method]descriptor.write-via-stream': sig([t.borrow(DESCRIPTOR), t.u64], fsResult(t.own(OUTPUT))),
    'wasi:filesystem/types#[method]descriptor.append-via-stream': sig([t.borrow(DESCRIPTOR)], fsResult(t.own(OUTPUT))),
    'wasi:filesystem/types#[method]descriptor.get-flags': sig([t.borrow(DESCRIPTOR)], fsResult(descriptorFlags)),
    'wasi:filesystem/types#[method]descriptor.get-type': sig([t.borrow(DESCRIPTOR)], fsResult(descriptorType)),
    'wasi:filesystem/types#[method]descriptor.read': sig([t.borrow(DESCRIPTOR), t.u64, t.u64], fsResult(t.tuple(bytes, t.bool))),
    'wasi:filesystem/types#[method]descriptor.read-directory': sig([t.borrow(DESCRIPTOR)], fsResult(t.own(DIR_STREAM))),
    'wasi:filesystem/types#[method]descriptor.stat': sig([t.borrow(DESCRIPTOR)], fsResult(descriptorStat)),
    'wasi:filesystem/types#[method]descriptor.stat-at': sig([t.borrow(DESCRIPTOR), pathFlags, t.string], fsResult(descriptorStat)),
    'wasi:filesystem/types#[method]descriptor.open-at': sig(
      [t.borrow(DESCRIPTOR), pathFlags, t.string, openFlags, descriptorFlags],
      fsResult(t.own(DESCRIPTOR)),
    ),
    'wasi:filesystem/types#[method]descriptor.is-same-object': sig([t.borrow(DESCRIPTOR), t.borrow(DESCRIPTOR)], t.bool),
    'wasi:filesystem/types#[method]descriptor.metadata-hash': sig([t.borrow(DESCRIPTOR)], fsResult(metadataHash)),
    'wasi:filesystem/types#[method]descriptor.metadata-hash-at': sig([t.borrow(DESCRIPTOR), pathFlags, t.string], fsResult(metadataHash)),
    'wasi:filesystem/types#[method]descriptor.sync': sig([t.borrow(DESCRIPTOR)], fsResult()),
    'wasi:filesystem/types#[method]descriptor.sync-data': sig([t.borrow(DESCRIPTOR)], fsResult()),
    'wasi:filesystem/types#[method]directory-entry-stream.read-directory-entry': sig(
      [t.borrow(DIR_STREAM)],
      fsResult(t.option(directoryEntry)),
    ),
  };
  return signatures;
}

function hasSignature(key: string): boolean {
  return Object.hasOwn(signatureTable(), key);
}

/** `wasi:iface@0.2.x#name` → `wasi:iface#name`, or null for another major/minor version. */
export function wasiKey(versioned: string): string | null {
  const m = /^(wasi:[^@#]+)(?:@(\d+)\.(\d+)\.\d+[^#]*)?#(.+)$/.exec(versioned);
  if (!m || (m[2] !== undefined && (m[2] !== '0' || m[3] !== '2'))) return null;
  return `${m[1]}#${m[4]}`;
}

/** Whether the isolate lowers this WASI function (`iface@version#name`) itself. */
export function isDirectWasiFunction(versioned: string): boolean {
  const key = wasiKey(versioned);
  return key !== null && hasSignature(key);
}

/** Whether `[resource-drop]` of this resource (`iface@version#resource`) is served by the isolate. */
export function isDirectWasiResource(versioned: string): boolean {
  const key = wasiKey(versioned);
  return key !== null && WASI_RESOURCES.has(key);
}

interface CompiledWasi {
  sig: WasiSignature;
  flatParams: boolean;
  /** The result comes back as one core value instead of through a return pointer. */
  flatResult: boolean;
  params: ReturnType<typeof layoutOf>;
  result: ReturnType<typeof layoutOf> | undefined;
}

const compiled = new Map<string, CompiledWasi>();

function compile(key: string): CompiledWasi {
  let c = compiled.get(key);
  if (c) return c;
  const s = signatureTable()[key];
  if (!s) throw new CanonError(`${key} is not a WASI function this isolate serves`);
  const params = layoutOf(t.tuple(...s.params));
  const result = s.result ? layoutOf(s.result) : undefined;
  c = {
    sig: s,
    flatParams: params.flat <= MAX_FLAT_PARAMS,
    flatResult: result !== undefined && result.flat <= MAX_FLAT_RESULTS,
    params,
    result,
  };
  compiled.set(key, c);
  return c;
}

type Impl = Record<string, Record<string, unknown>>;

/** Calls the jco-convention implementation of `key` with lifted arguments. */
function callImpl(impls: Impl, key: string, args: unknown[]): unknown {
  const hash = key.indexOf('#');
  const iface = key.slice(0, hash);
  const name = key.slice(hash + 1);
  if (name.startsWith('[method]')) {
    const method = camel(name.slice(name.indexOf('.') + 1));
    const self = args[0] as Record<string, unknown>;
    const fn = self[method];
    if (typeof fn !== 'function') throw new CanonError(`${key} is not implemented`);
    return (fn as (...a: unknown[]) => unknown).apply(self, args.slice(1));
  }
  const fn = impls[iface]?.[camel(name)];
  if (typeof fn !== 'function') throw new CanonError(`${key} is not implemented`);
  return (fn as (...a: unknown[]) => unknown)(...args);
}

/**
 * The core function for an imported WASI function: `mem` gives the memory and `realloc` the
 * lowering options name (resolved on first call, since they belong to a core instance created
 * after the import is wired), `before` runs first on every call (fuel accounting).
 */
export function wasiLowering(
  versioned: string,
  impls: Impl,
  mem: () => GuestMemory,
  before: () => void,
): (...args: (number | bigint)[]) => number | bigint | undefined {
  const key = wasiKey(versioned);
  if (key === null || !hasSignature(key)) throw new CanonError(`${versioned} is not a WASI function this isolate serves`);
  return (...args) => {
    before();
    const c = compile(key);
    const m = mem();
    const values = c.flatParams ? liftFlat(m, c.sig.params, args) : (c.params.load(m, Number(args[0]) >>> 0) as unknown[]);
    let value: unknown;
    if (c.sig.result?.kind === 'result') {
      // jco's convention: the function returns the ok payload or throws the err payload; a thrown
      // Error (exit, a bug) is not a WASI error and propagates.
      try {
        value = { tag: 'ok', val: callImpl(impls, key, values) };
      } catch (err) {
        if (err instanceof Error) throw err;
        value = { tag: 'err', val: err };
      }
    } else {
      value = callImpl(impls, key, values);
    }
    if (!c.result) return undefined;
    if (c.flatResult) return lowerFlatResult(m, c.sig.result!, value);
    c.result.store(m, Number(args[args.length - 1]) >>> 0, value);
    return undefined;
  };
}

/** The core function for `[resource-drop]` of an imported WASI resource. */
export function wasiResourceDrop(versioned: string, mem: () => GuestMemory): (handle: number) => void {
  const key = wasiKey(versioned);
  if (key === null || !WASI_RESOURCES.has(key)) throw new CanonError(`${versioned} is not a WASI resource this isolate serves`);
  return (handle) => {
    mem()
      .table()
      .remove(key, handle >>> 0);
  };
}
