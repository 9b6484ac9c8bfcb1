import { describe, expect, it } from 'vitest';
import { buildTenantCtx } from '../../src/edge/tenant-ctx.js';
import { deactivatePack } from '../../src/pack-store/pack-index.js';
import { activePacksOf } from '../../src/session/pack-source.js';
import { activate, ECHO_FLOW, seedPack, testEnv } from '../support/runtime-fixtures.js';

/** The test D1 with a count of the queries that read the tenant's activations. */
function countingIndex(): { db: D1Database; activationReads: () => number } {
  let reads = 0;
  const db = new Proxy(testEnv.PACK_INDEX, {
    get(target, prop) {
      if (prop === 'prepare')
        return (sql: string) => {
          if (sql.includes('FROM activations a JOIN packs')) reads++;
          return target.prepare(sql);
        };
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { db, activationReads: () => reads };
}

describe("a tenant's active packs on the hot path", () => {
  it('are read from the index once per change: later turns check only the generation, and every activation change is seen at once', async () => {
    const ctx = buildTenantCtx({ env: testEnv.GREENTIC_ENV, tenant: 'gen-tenant', channel: 'webchat' });
    const { db, activationReads } = countingIndex();
    const env = { ...testEnv, PACK_INDEX: db };
    const one = await seedPack('gen-one', '1.0.0', [ECHO_FLOW('one')]);
    await activate('gen-tenant', 'gen-one', one);

    expect((await activePacksOf(env, ctx)).map((p) => p.pack_id)).toEqual(['gen-one']);
    expect((await activePacksOf(env, ctx)).map((p) => p.pack_id)).toEqual(['gen-one']);
    expect(activationReads()).toBe(1);

    const two = await seedPack('gen-two', '1.0.0', [ECHO_FLOW('two')]);
    await activate('gen-tenant', 'gen-two', two);
    expect((await activePacksOf(env, ctx)).map((p) => p.pack_id)).toEqual(['gen-one', 'gen-two']);
    expect(activationReads()).toBe(2);

    await deactivatePack(testEnv.PACK_INDEX, testEnv.GREENTIC_ENV, 'gen-tenant', 'gen-one');
    expect((await activePacksOf(env, ctx)).map((p) => p.pack_id)).toEqual(['gen-two']);
    expect(activationReads()).toBe(3);
  });
});
