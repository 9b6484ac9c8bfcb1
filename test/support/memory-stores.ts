// In-memory stand-ins for storage the code under test writes through, so the real logic runs
// without a binding: a key-value store (component state and secrets) and the slice of R2 the
// admin secrets API uses.
import type { KeyValueStore } from '../../src/component/edge/host-policy.js';

/** A component host key-value store whose contents the test can read back (`data`). */
export function memoryKeyValueStore(): KeyValueStore & { data: Map<string, Uint8Array> } {
  const data = new Map<string, Uint8Array>();
  return {
    data,
    get: async (k) => data.get(k) ?? null,
    put: async (k, v) => void data.set(k, v),
    delete: async (k) => void data.delete(k),
  };
}

/** The slice of R2 the secrets API uses, in memory, so the real admin routes run in Node. */
export function memoryBucket() {
  const objects = new Map<string, { bytes: Uint8Array; customMetadata: Record<string, string>; uploaded: Date }>();
  const meta = (key: string) => {
    const o = objects.get(key);
    return o === undefined ? null : { key, size: o.bytes.length, customMetadata: o.customMetadata, uploaded: o.uploaded };
  };
  const bucket = {
    objects,
    head: async (key: string) => meta(key),
    get: async (key: string) => {
      const o = objects.get(key);
      return o === undefined ? null : { ...meta(key), arrayBuffer: async () => o.bytes.slice().buffer };
    },
    put: async (key: string, value: Uint8Array, opts?: { customMetadata?: Record<string, string> }) => {
      objects.set(key, { bytes: new Uint8Array(value), customMetadata: opts?.customMetadata ?? {}, uploaded: new Date() });
    },
    delete: async (key: string) => {
      objects.delete(key);
    },
    list: async (opts: { prefix?: string }) => ({
      objects: [...objects.keys()]
        .filter((k) => k.startsWith(opts.prefix ?? ''))
        .sort()
        .map((k) => meta(k)!),
      truncated: false,
    }),
  };
  return bucket;
}
