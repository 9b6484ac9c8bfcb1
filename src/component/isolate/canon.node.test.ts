import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nodeAbiModule } from '../build/canon-codegen.js';
import { layoutOf, t } from './canon.js';
import { liftFlat, lowerFlatResult } from './canon-flat.js';
import { INVOKE_PARAMS_ALIGN, INVOKE_PARAMS_SIZE, loadInvokeResult, storeInvokeParams } from './generated/node-abi.js';
import { CanonError, GuestMemory, HandleTable } from './guest-memory.js';
import { nodeAbiTypes } from './wit-types.js';

/** A guest memory with a bump allocator standing in for the component's `cabi_realloc`. */
function guest(pages = 1): { mem: GuestMemory; memory: WebAssembly.Memory; allocs: [number, number][] } {
  const memory = new WebAssembly.Memory({ initial: pages, maximum: 16 });
  let top = 1024;
  const allocs: [number, number][] = [];
  const realloc = (_old: number, _oldSize: number, align: number, size: number): number => {
    top = Math.ceil(top / align) * align;
    const p = top;
    top += size;
    while (top > memory.buffer.byteLength) memory.grow(1);
    allocs.push([align, size]);
    return p;
  };
  return { mem: new GuestMemory(memory, realloc), memory, allocs };
}

const { invocationEnvelope: envelope, invocationResult, nodeError } = nodeAbiTypes;

describe('canonical ABI layouts', () => {
  it('lays out node@0.6.0 invoke parameters as the component model does (144 bytes, align 8)', () => {
    const params = layoutOf(t.tuple(t.string, envelope));
    expect([params.size, params.align]).toEqual([144, 8]);
    // More than 16 flat values: passed through a pointer.
    expect(params.flat).toBeGreaterThan(16);
    const { mem } = guest();
    const ptr = mem.alloc(params.size, params.align);
    const value = [
      'echo',
      {
        ctx: {
          tenantId: 't1',
          teamId: 'team',
          userId: undefined,
          envId: 'dev',
          traceId: 'tr',
          correlationId: 'co',
          deadlineMs: 42n,
          attempt: 3,
          idempotencyKey: 'idem',
          i18nId: 'en',
        },
        flowId: 'f',
        stepId: 's',
        componentId: 'c',
        attempt: 3,
        payloadCbor: new Uint8Array([0xa1, 0x61, 0x61, 0x01]),
        metadataCbor: undefined,
      },
    ];
    params.store(mem, ptr, value);
    const dv = mem.view();
    // Offsets from the canonical ABI: op, tenant-id, team-id option, deadline, attempt, payload.
    expect(mem.readString(dv.getUint32(ptr, true), dv.getUint32(ptr + 4, true))).toBe('echo');
    expect(mem.readString(dv.getUint32(ptr + 8, true), dv.getUint32(ptr + 12, true))).toBe('t1');
    expect(dv.getUint8(ptr + 16)).toBe(1);
    expect(dv.getUint8(ptr + 28)).toBe(0);
    expect(dv.getBigUint64(ptr + 64, true)).toBe(42n);
    expect(dv.getUint32(ptr + 72, true)).toBe(3);
    expect(dv.getUint32(ptr + 128, true)).toBe(4);
    expect(dv.getUint8(ptr + 132)).toBe(0);
    expect(params.load(mem, ptr)).toEqual(value);
  });

  it('reads a node-error result with its u64 backoff at offset 40 and details at 52', () => {
    const result = layoutOf(t.result(invocationResult, nodeError));
    expect([result.size, result.align]).toEqual([64, 8]);
    const { mem } = guest();
    const ptr = mem.alloc(result.size, result.align);
    const err = { code: 'busy', message: 'try later', retryable: true, backoffMs: 250n, details: new Uint8Array([1, 2]) };
    result.store(mem, ptr, { tag: 'err', val: err });
    const dv = mem.view();
    expect(dv.getUint8(ptr)).toBe(1);
    expect(dv.getBigUint64(ptr + 40, true)).toBe(250n);
    expect(dv.getUint32(ptr + 56, true)).toBe(2);
    expect(result.load(mem, ptr)).toEqual({ tag: 'err', val: err });
  });

  it('places a result<_, enum> error code right after the discriminant', () => {
    const res = layoutOf(t.result(undefined, t.enum('not-found', 'denied', 'invalid-key', 'internal')));
    expect([res.size, res.align, res.flat]).toEqual([2, 1, 2]);
    const { mem } = guest();
    res.store(mem, 64, { tag: 'err', val: 'denied' });
    expect([mem.view().getUint8(64), mem.view().getUint8(65)]).toEqual([1, 1]);
    expect(res.load(mem, 64)).toEqual({ tag: 'err', val: 'denied' });
  });

  it('round-trips lists of string tuples and non-ASCII strings through guest memory', () => {
    const headers = layoutOf(t.list(t.tuple(t.string, t.string)));
    const { mem } = guest();
    const value = [
      ['content-type', 'text/plain; charset=utf-8'],
      ['x-grüße', 'héllo ✓ 🌍'],
    ];
    headers.store(mem, 100, value);
    expect(headers.load(mem, 100)).toEqual(value);
  });

  it('re-reads views after the guest memory grows during an allocation', () => {
    const { mem, memory } = guest(1);
    const big = new Uint8Array(100_000).fill(7);
    const bytes = layoutOf(t.list(t.u8));
    bytes.store(mem, 16, big);
    expect(memory.buffer.byteLength).toBeGreaterThan(65536);
    expect((bytes.load(mem, 16) as Uint8Array).every((b) => b === 7)).toBe(true);
  });

  it('lifts flat string and byte-list parameters (secrets-store put)', () => {
    const { mem } = guest();
    const [kp, kl] = mem.writeString('API_KEY');
    const [vp, vl] = mem.writeBytes(new Uint8Array([9, 8, 7]));
    expect(liftFlat(mem, [t.string, t.list(t.u8)], [kp, kl, vp, vl, 0])).toEqual(['API_KEY', new Uint8Array([9, 8, 7])]);
  });

  it('rejects invalid discriminants and out-of-bounds lists with a CanonError', () => {
    const { mem } = guest();
    mem.view().setUint8(200, 7);
    expect(() => layoutOf(t.option(t.string)).load(mem, 200)).toThrow(CanonError);
    expect(() => layoutOf(t.bool).load(mem, 200)).toThrow(/invalid bool/);
    mem.view().setUint32(300, 65_000, true);
    mem.view().setUint32(304, 10_000, true);
    expect(() => layoutOf(t.list(t.u8)).load(mem, 300)).toThrow(/outside guest memory/);
    expect(() => layoutOf(t.enum('a', 'b')).store(mem, 0, 'c')).toThrow(/not a case/);
  });
});

describe('generated node@0.6.0 lowering and lifting (isolate/generated/node-abi.js)', () => {
  const { invokeParams, invokeResult } = nodeAbiTypes;
  const ctx = { tenantId: 't1', envId: 'dev', traceId: 'tr', correlationId: 'co', deadlineMs: 42n, attempt: 3, i18nId: 'en' };
  const envelopes = [
    { ctx, flowId: 'f', stepId: 's', componentId: 'c', attempt: 1, payloadCbor: new Uint8Array([0xa0]) },
    {
      ctx: { ...ctx, teamId: 'team', userId: 'üser ✓', idempotencyKey: 'idem', deadlineMs: 2n ** 63n },
      flowId: 'flöw',
      stepId: 's'.repeat(100),
      componentId: 'c',
      attempt: 0xffffffff,
      payloadCbor: new Uint8Array(70_000).fill(3),
      metadataCbor: new Uint8Array([1, 2, 3]),
    },
  ];

  it('is the output of canon-codegen for the current types (regenerated by npm run generate:component)', () => {
    expect(readFileSync(fileURLToPath(new URL('./generated/node-abi.js', import.meta.url)), 'utf8')).toBe(nodeAbiModule());
  });

  it('writes the same bytes and makes the same allocations as the generic layout', () => {
    const generic = layoutOf(invokeParams);
    expect([INVOKE_PARAMS_SIZE, INVOKE_PARAMS_ALIGN]).toEqual([generic.size, generic.align]);
    for (const envelope of envelopes) {
      const a = guest(1);
      const b = guest(1);
      generic.store(a.mem, a.mem.alloc(generic.size, generic.align), ['echo', envelope]);
      storeInvokeParams(b.mem, b.mem.alloc(INVOKE_PARAMS_SIZE, INVOKE_PARAMS_ALIGN), ['echo', envelope]);
      expect(b.allocs).toEqual(a.allocs);
      expect(new Uint8Array(b.memory.buffer)).toEqual(new Uint8Array(a.memory.buffer));
    }
  });

  it('reads ok and err results exactly as the generic layout does', () => {
    const generic = layoutOf(invokeResult);
    const values = [
      { tag: 'ok', val: { ok: true, outputCbor: new Uint8Array([0xf6]), outputMetadataCbor: undefined } },
      { tag: 'ok', val: { ok: false, outputCbor: new Uint8Array(), outputMetadataCbor: new Uint8Array([9]) } },
      { tag: 'err', val: { code: 'busy', message: 'réessayer', retryable: true, backoffMs: 250n, details: new Uint8Array([1, 2]) } },
      { tag: 'err', val: { code: 'bad', message: '', retryable: false, backoffMs: undefined, details: undefined } },
    ];
    for (const value of values) {
      const { mem } = guest();
      const ptr = mem.alloc(generic.size, generic.align);
      generic.store(mem, ptr, value);
      expect(loadInvokeResult(mem, ptr)).toEqual(generic.load(mem, ptr));
      expect(loadInvokeResult(mem, ptr)).toEqual(value);
    }
  });

  it('rejects what the generic layout rejects, with the same CanonError messages', () => {
    const generic = layoutOf(invokeParams);
    const bad: unknown[] = [
      ['echo', { ...envelopes[0], attempt: -1 }],
      ['echo', { ...envelopes[0], flowId: 7 }],
      ['echo', { ...envelopes[0], payloadCbor: [1, 2] }],
      [42, envelopes[0]],
    ];
    const error = (f: () => unknown): string => {
      try {
        f();
        return 'no error';
      } catch (err) {
        expect(err).toBeInstanceOf(CanonError);
        return (err as Error).message;
      }
    };
    for (const value of bad) {
      const m = error(() => generic.store(guest().mem, 0, value));
      expect(m).not.toBe('no error');
      expect(error(() => storeInvokeParams(guest().mem, 0, value))).toBe(m);
    }
    const { mem } = guest();
    for (const [at, byte] of [
      [0, 2],
      [20, 5],
      [8, 3],
    ] as const) {
      mem.view().setUint8(at, byte);
      expect(error(() => loadInvokeResult(mem, 0))).toBe(error(() => layoutOf(invokeResult).load(mem, 0)));
      mem.view().setUint8(at, 0);
    }
  });
});

describe('variants, flags and resource handles', () => {
  const streamError = t.variant([['last-operation-failed', t.own('io#error')], ['closed']]);

  it('lays out a variant as the component model does: discriminant, then the payload at its alignment', () => {
    const l = layoutOf(t.variant([['a'], ['b', t.u64], ['c', t.string]]));
    expect([l.size, l.align, l.payload, l.flat]).toEqual([16, 8, 8, 3]);
    const { mem } = guest();
    mem.handles = new HandleTable();
    const layout = layoutOf(streamError);
    layout.store(mem, 64, { tag: 'closed' });
    expect(layout.load(mem, 64)).toEqual({ tag: 'closed' });
    const err = { message: 'boom' };
    layout.store(mem, 64, { tag: 'last-operation-failed', val: err });
    // The payload went into the handle table; loading the own<error> takes it back out.
    expect(mem.handles.size).toBe(1);
    expect(layout.load(mem, 64)).toEqual({ tag: 'last-operation-failed', val: err });
    expect(mem.handles.size).toBe(0);
    expect(() => layout.store(mem, 64, { tag: 'open' })).toThrow(CanonError);
  });

  it('packs flags into bits and reads them back as camelCase booleans', () => {
    const flags = t.flags('read', 'write', 'mutate-directory');
    const { mem } = guest();
    layoutOf(flags).store(mem, 8, { read: true, mutateDirectory: true });
    expect(mem.view().getUint8(8)).toBe(0b101);
    expect(layoutOf(flags).load(mem, 8)).toEqual({ read: true, write: false, mutateDirectory: true });
    expect(lowerFlatResult(mem, flags, { write: true })).toBe(0b010);
    expect(liftFlat(mem, [flags], [0b011])).toEqual([{ read: true, write: true, mutateDirectory: false }]);
  });

  it('a handle table lends borrowed handles, moves owned ones out and refuses a handle of another type or one already dropped', () => {
    const { mem } = guest();
    mem.handles = new HandleTable();
    const stream = { name: 'stdout' };
    const h = lowerFlatResult(mem, t.own('io#output-stream'), stream) as number;
    expect(h).toBeGreaterThan(0);
    expect(liftFlat(mem, [t.borrow('io#output-stream')], [h])).toEqual([stream]);
    expect(() => liftFlat(mem, [t.borrow('fs#descriptor')], [h])).toThrow(/not a live fs#descriptor/);
    expect(liftFlat(mem, [t.own('io#output-stream')], [h])).toEqual([stream]);
    expect(() => liftFlat(mem, [t.borrow('io#output-stream')], [h])).toThrow(CanonError);
    expect(() => liftFlat(mem, [t.borrow('io#output-stream')], [0])).toThrow(CanonError);
    expect(() => lowerFlatResult(mem, t.borrow('io#output-stream'), stream)).toThrow(/cannot lower a borrow/);
  });

  it('lifts 64-bit and payload-free result arguments and lowers u64 results as BigInt', () => {
    const { mem } = guest();
    expect(liftFlat(mem, [t.u64, t.result()], [2n ** 63n + 5n, 1])).toEqual([2n ** 63n + 5n, { tag: 'err' }]);
    expect(liftFlat(mem, [t.u64], [-1n])).toEqual([2n ** 64n - 1n]);
    expect(lowerFlatResult(mem, t.u64, 7n)).toBe(7n);
    expect(() => liftFlat(mem, [t.option(t.u32)], [1, 5])).toThrow(/payloads is not supported/);
  });
});
