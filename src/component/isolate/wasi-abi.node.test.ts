import { describe, expect, it } from 'vitest';
import { CanonError, GuestMemory, HandleTable } from './guest-memory.js';
import { type LogLine, wasiImports } from './wasi.js';
import { isDirectWasiFunction, wasiKey, wasiLowering, wasiResourceDrop } from './wasi-abi.js';

function setup(assets: Map<string, Uint8Array> | null = null) {
  const memory = new WebAssembly.Memory({ initial: 1 });
  let top = 4096;
  const realloc = (_o: number, _s: number, align: number, size: number): number => {
    top = Math.ceil(top / align) * align;
    const p = top;
    top += size;
    return p;
  };
  const mem = new GuestMemory(memory, realloc);
  mem.handles = new HandleTable();
  const logs: LogLine[] = [];
  const impls = wasiImports(() => ({ environment: [['LANG', 'en']], logs }), { assets });
  let calls = 0;
  const fn = (name: string) =>
    wasiLowering(
      name,
      impls,
      () => mem,
      () => calls++,
    );
  return { mem, logs, fn, dv: () => new DataView(memory.buffer), calls: () => calls };
}

describe('WASI lowering without glue', () => {
  it('accepts any 0.2.x version of a function and refuses other versions and unknown functions', () => {
    expect(wasiKey('wasi:io/streams@0.2.10#[method]output-stream.write')).toBe('wasi:io/streams#[method]output-stream.write');
    expect(isDirectWasiFunction('wasi:cli/stdout@0.2.0#get-stdout')).toBe(true);
    expect(isDirectWasiFunction('wasi:cli/stdout@0.3.0#get-stdout')).toBe(false);
    expect(isDirectWasiFunction('wasi:cli/stdout@0.2.0#get-stdcat')).toBe(false);
    expect(() => setup().fn('wasi:sockets/tcp@0.2.0#[method]tcp-socket.connect')).toThrow(CanonError);
  });

  it('stdout: get-stdout hands out an owned handle, blocking-write-and-flush through it becomes a log line, drop releases it', () => {
    const { mem, logs, fn, dv, calls } = setup();
    const h = fn('wasi:cli/stdout@0.2.3#get-stdout')() as number;
    const text = new TextEncoder().encode('hi there\n');
    new Uint8Array(dv().buffer).set(text, 100);
    fn('wasi:io/streams@0.2.3#[method]output-stream.blocking-write-and-flush')(h, 100, text.length, 200);
    expect(dv().getUint8(200)).toBe(0); // ok
    expect(logs).toEqual([{ stream: 'stdout', line: 'hi there' }]);
    wasiResourceDrop('wasi:io/streams@0.2.3#output-stream', () => mem)(h);
    expect(mem.handles!.size).toBe(0);
    expect(() => fn('wasi:io/streams@0.2.3#[method]output-stream.check-write')(h, 200)).toThrow(CanonError);
    expect(calls()).toBe(3);
  });

  it('a stream error is stored as the err case: reading stdin reports closed', () => {
    const { fn, dv } = setup();
    const h = fn('wasi:cli/stdin@0.2.0#get-stdin')() as number;
    fn('wasi:io/streams@0.2.0#[method]input-stream.read')(h, 16n, 300);
    expect([dv().getUint8(300), dv().getUint8(304)]).toEqual([1, 1]); // err(closed)
  });

  it('clocks, random and environment write their records and lists into guest memory', () => {
    const { fn, dv, mem } = setup();
    const before = BigInt(Math.floor(Date.now() / 1000));
    fn('wasi:clocks/wall-clock@0.2.0#now')(400);
    expect(dv().getBigUint64(400, true)).toBeGreaterThanOrEqual(before);
    expect(typeof fn('wasi:random/random@0.2.0#get-random-u64')()).toBe('bigint');
    fn('wasi:random/random@0.2.0#get-random-bytes')(32n, 500);
    expect(dv().getUint32(504, true)).toBe(32);
    fn('wasi:cli/environment@0.2.0#get-environment')(600);
    expect(dv().getUint32(604, true)).toBe(1);
    expect(mem.loadString(dv().getUint32(600, true))).toBe('LANG');
  });

  it('exit with an error status throws, so the invocation ends with an exit node error', () => {
    expect(() => setup().fn('wasi:cli/exit@0.2.0#exit')(1)).toThrow(/wasi:cli\/exit with failure/);
  });

  it('preopened /assets: open-at and read return file bytes; a write open is refused with read-only', () => {
    const { fn, dv, mem } = setup(new Map([['/assets/a.txt', new TextEncoder().encode('abc')]]));
    fn('wasi:filesystem/preopens@0.2.0#get-directories')(700);
    expect(dv().getUint32(704, true)).toBe(1);
    const dir = dv().getUint32(dv().getUint32(700, true), true);
    const path = new TextEncoder().encode('a.txt');
    new Uint8Array(dv().buffer).set(path, 800);
    const openAt = fn('wasi:filesystem/types@0.2.0#[method]descriptor.open-at');
    openAt(dir, 0, 800, path.length, 0, 0b1, 900);
    expect(dv().getUint8(900)).toBe(0);
    const file = dv().getUint32(904, true);
    fn('wasi:filesystem/types@0.2.0#[method]descriptor.read')(file, 10n, 0n, 1000);
    expect(dv().getUint8(1000)).toBe(0);
    expect(new TextDecoder().decode(mem.loadBytes(1004))).toBe('abc');
    expect(dv().getUint8(1012)).toBe(1); // end of file
    openAt(dir, 0, 800, path.length, 0b1, 0b10, 900); // create + write
    expect([dv().getUint8(900), dv().getUint8(904)]).toEqual([1, 33]); // err(read-only), after the handle-aligned payload offset
  });
});
