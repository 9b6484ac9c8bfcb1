// An upload writes several R2 objects (archive, transpiled artifacts, model) before its D1 row
// makes the pack visible. R2 has no transactions, so the upload writes through a bucket that
// remembers every key it created; when a later step fails, `discard` deletes them and R2 is left
// as it was. Keys that already existed are not remembered: they are content-addressed (the same
// bytes, or artifacts of the same component that another pack may be running), so they stay.

export interface StagedWrites {
  /** The bucket to write through: every key it creates is remembered, even when the put fails. */
  bucket: R2Bucket;
  /** Deletes every object created through `bucket`. */
  discard(): Promise<void>;
}

export function stageWrites(bucket: R2Bucket): StagedWrites {
  const written = new Set<string>();
  const staged = new Proxy(bucket, {
    get(target, prop) {
      if (prop === 'put') {
        return async (key: string, ...rest: unknown[]) => {
          // Recorded before the put: a put that fails half-way may still have stored the object.
          if (!written.has(key) && (await target.head(key)) === null) written.add(key);
          return (target.put as (key: string, ...rest: unknown[]) => Promise<R2Object | null>)(key, ...rest);
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    bucket: staged,
    async discard() {
      if (written.size > 0) await bucket.delete([...written]);
    },
  };
}
