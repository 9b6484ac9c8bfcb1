// Tenant secrets at rest: nothing in R2 is a plaintext secret once written or migrated, a key
// rotates without breaking running bots, and sealed bytes open only at the storage key, under a
// listed key, unaltered. Each test runs in its own GREENTIC_ENV so the migration's walk sees only
// that test's objects.
import { Hono } from 'hono';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { adminApi } from '../../src/admin/admin-api.js';
import type { SecretListing } from '../../src/admin/secrets-api.js';
import type { MigrationReport } from '../../src/admin/secrets-migration.js';
import type { ComponentRunner } from '../../src/component/edge/runner.js';
import { edgeComponentRunner, transpilePackComponents } from '../../src/component/edge/worker-wiring.js';
import { parseKeyring } from '../../src/edge/secret-cipher.js';
import { resealSecretObject } from '../../src/edge/secret-objects.js';
import { setTelemetrySink } from '../../src/edge/telemetry.js';
import type { Env } from '../../src/env.js';
import { testEnv } from '../support/runtime-fixtures.js';
import { testKeyring } from '../support/secret-keys.js';

const fixtures = inject('componentFixtures');
const http10Wasm = Uint8Array.from(atob(fixtures.http10), (c) => c.charCodeAt(0));
const AUTH = { authorization: 'Bearer test-admin-token' };
const text = (s: string) => new TextEncoder().encode(s);
/** The CBOR text string a component's `put` of `s` stores, and what its `G:` reads back as `s` (under 256 bytes). */
const cborText = (s: string) => new Uint8Array([...(s.length < 24 ? [0x60 + s.length] : [0x78, s.length]), ...text(s)]);

let writerSha = '';
beforeAll(async () => {
  setTelemetrySink(() => {});
  if (fixtures.error) throw new Error(fixtures.error);
  const [writer] = await transpilePackComponents(testEnv, [{ id: 'http10', wasm: http10Wasm }]);
  writerSha = writer!.sha256;
});

/** Log lines from now on: a component sees only the WIT error code, the operator reads why in the log. */
function captureLogs(): string[] {
  const lines: string[] = [];
  setTelemetrySink((line) => void lines.push(line));
  return lines;
}

let envSeq = 0;
/** A deployment of its own: a fresh GREENTIC_ENV over the shared bindings, with the given keyring (`null`: none). */
function deployment(keys: string | null = testKeyring('test')) {
  return withKeys({ ...testEnv, GREENTIC_ENV: `rest${++envSeq}` } as Env, keys ?? undefined);
}

/** The same deployment after its keyring setting changed (a rotation, or a key dropped). */
function withKeys(base: Env, keys: string | undefined) {
  const env = { ...base, SECRETS_ENCRYPTION_KEYS: keys } as Env;
  const app = new Hono<{ Bindings: Env }>().route(
    '/admin/v1',
    adminApi(() => undefined),
  );
  const admin = (method: string, path: string, body?: Uint8Array | string) =>
    app.request(`http://x/admin/v1${path}`, { method, headers: AUTH, ...(body === undefined ? {} : { body }) }, env);
  let packSeq = 0;
  /** `writer` may put and get SESSION and API_TOKEN (secrets-store 1.1 `P:<key>` / `G:<key>`). */
  const runner = (tenant: string, team?: string): ComponentRunner =>
    edgeComponentRunner(
      env,
      {
        packId: 'rest-pack',
        digest: `rest-pack-${env.GREENTIC_ENV}-${keys ?? 'none'}-${++packSeq}`,
        components: [
          {
            id: 'writer',
            sha256: writerSha,
            manifest: {
              capabilities: {
                host: { secrets: { required: [{ key: 'API_TOKEN' }, { key: 'SESSION' }], writable: ['API_TOKEN', 'SESSION'] } },
              },
            },
          },
        ],
      },
      { tenant, ...(team === undefined ? {} : { team }), tenantPolicy: { httpAllowHosts: [] } },
    );
  return {
    env,
    admin,
    /** An operator's PUT; a string goes as its CBOR text, so the fixture component reads it back as that string. */
    put: (tenant: string, key: string, value: string) => admin('PUT', `/tenants/${tenant}/secrets/${key}`, cborText(value)),
    list: async (tenant: string) => {
      const res = await admin('GET', `/tenants/${tenant}/secrets`);
      expect(res.status).toBe(200);
      return ((await res.json()) as { secrets: SecretListing[] }).secrets;
    },
    migrate: async (query = '') => {
      const res = await admin('POST', `/secrets/migrate${query}`);
      expect(res.status).toBe(200);
      return (await res.json()) as MigrationReport;
    },
    get: (tenant: string, key: string, team?: string) =>
      runner(tenant, team).invoke({ component: 'writer', op: `G:${key}`, input: {}, flowId: 'main', stepId: 'n1' }),
    componentPut: (tenant: string, key: string, value: string, team?: string) =>
      runner(tenant, team).invoke({ component: 'writer', op: `P:${key}`, input: value, flowId: 'main', stepId: 'n1' }),
    operatorKey: (tenant: string, key: string) => `secrets/${env.GREENTIC_ENV}/${tenant}/_/${key}`,
    componentKey: (tenant: string, key: string, team = '_') => `component-secrets/${env.GREENTIC_ENV}/${tenant}/${team}/${key}`,
  };
}

async function stored(key: string): Promise<{ bytes: Uint8Array; meta: Record<string, string> }> {
  const obj = await testEnv.PACKS.get(key);
  if (obj === null) throw new Error(`nothing stored at ${key}`);
  return { bytes: new Uint8Array(await obj.arrayBuffer()), meta: obj.customMetadata ?? {} };
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

describe('secrets at rest: what R2 holds', () => {
  it('a secret set through the admin API is stored sealed: its R2 bytes do not contain the value, its metadata names the key id', async () => {
    const d = deployment();
    const value = 'plaintext-admin-value-1234567890';
    expect((await d.put('acme', 'API_TOKEN', value)).status).toBe(201);
    const { bytes, meta } = await stored(d.operatorKey('acme', 'API_TOKEN'));
    expect(contains(bytes, text(value))).toBe(false);
    expect(meta).toMatchObject({ kid: 'test', digest: expect.stringMatching(/^hmac-sha256:[0-9a-f]{64}$/) });
    expect(Object.values(meta).join(' ')).not.toContain(value);
    expect(await d.get('acme', 'API_TOKEN')).toMatchObject({ ok: true, output: value });
  });

  it('a secret a component puts is stored sealed: its R2 bytes do not contain the value, and the component reads it back', async () => {
    const d = deployment();
    const value = 'plaintext-component-value-42';
    expect(await d.componentPut('acme', 'SESSION', value, 'support')).toMatchObject({ ok: true });
    const { bytes, meta } = await stored(d.componentKey('acme', 'SESSION', 'support'));
    expect(contains(bytes, text(value))).toBe(false);
    expect(meta.kid).toBe('test');
    expect(await d.get('acme', 'SESSION', 'support')).toMatchObject({ ok: true, output: value });
    expect(await d.list('acme')).toEqual([
      expect.objectContaining({ key: 'SESSION', source: 'component', team: 'support', key_id: 'test', size: cborText(value).length }),
    ]);
  });

  it('a PUT of the value already stored answers 200 unchanged and does not write it again', async () => {
    const d = deployment();
    const first = await d.put('acme', 'API_TOKEN', 'same');
    const sealed = await stored(d.operatorKey('acme', 'API_TOKEN'));
    const again = await d.put('acme', 'API_TOKEN', 'same');
    expect(again.status).toBe(200);
    const body = (await again.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ unchanged: true, key_id: 'test', digest: ((await first.json()) as { digest: string }).digest });
    // Each seal draws a fresh IV: identical bytes mean nothing was written.
    expect((await stored(d.operatorKey('acme', 'API_TOKEN'))).bytes).toEqual(sealed.bytes);
    expect(((await (await d.put('acme', 'API_TOKEN', 'other')).json()) as { unchanged: boolean }).unchanged).toBe(false);
  });

  it('the listing shows a keyed digest, never a bare sha256 of the value', async () => {
    const d = deployment();
    const value = 'guessable';
    await d.put('acme', 'API_TOKEN', value);
    const bare = [...new Uint8Array(await crypto.subtle.digest('SHA-256', text(value)))]
      .map((b) => b.toString(16).padStart(2, '0'))
      .join('');
    const listing = JSON.stringify(await d.list('acme'));
    expect(listing).not.toContain(bare);
    expect(listing).not.toContain(value);
  });
});

describe('secrets at rest: key rotation and the migration', () => {
  it('after a rotation a value sealed under the old key is still read; the migration re-seals it under the new key, after which the old key can go', async () => {
    const d = deployment(testKeyring('test'));
    await d.put('acme', 'API_TOKEN', 'before-rotation');
    expect(await d.componentPut('acme', 'SESSION', 'component-before', 'support')).toMatchObject({ ok: true });

    const rotated = withKeys(d.env, testKeyring('next', 'test'));
    expect(await rotated.get('acme', 'API_TOKEN')).toMatchObject({ ok: true, output: 'before-rotation' });
    expect((await rotated.list('acme')).map((s) => s.key_id)).toEqual(['test', 'test']);
    expect(await rotated.componentPut('acme', 'SESSION', 'component-after', 'other')).toMatchObject({ ok: true });
    expect((await stored(d.componentKey('acme', 'SESSION', 'other'))).meta.kid).toBe('next');

    const report = await rotated.migrate();
    expect(report).toMatchObject({
      env: d.env.GREENTIC_ENV,
      key_id: 'next',
      scanned: 3,
      current: 1,
      reencrypted: 2,
      from_plaintext: 0,
      changed: 0,
      unreadable: [],
      cursor: null,
    });
    expect((await stored(d.operatorKey('acme', 'API_TOKEN'))).meta.kid).toBe('next');
    expect((await stored(d.componentKey('acme', 'SESSION', 'support'))).meta.kid).toBe('next');

    const newOnly = withKeys(d.env, testKeyring('next'));
    expect(await newOnly.get('acme', 'API_TOKEN')).toMatchObject({ ok: true, output: 'before-rotation' });
    expect(await newOnly.get('acme', 'SESSION', 'support')).toMatchObject({ ok: true, output: 'component-before' });
    expect((await newOnly.migrate()).current).toBe(3);
  });

  it('a value under a key dropped before the migration reached it is reported unreadable by the host and the migration, and left in place', async () => {
    const d = deployment(testKeyring('test'));
    await d.put('acme', 'API_TOKEN', 'orphaned');
    const dropped = withKeys(d.env, testKeyring('next'));
    const logged = captureLogs();
    expect(await dropped.get('acme', 'API_TOKEN')).toMatchObject({ ok: false, error: { code: 'internal' } });
    expect(logged.join('\n')).toContain('which SECRETS_ENCRYPTION_KEYS no longer lists');
    const report = await dropped.migrate();
    expect(report.unreadable).toEqual([{ storage_key: d.operatorKey('acme', 'API_TOKEN'), reason: expect.stringContaining('"test"') }]);
    expect((await stored(d.operatorKey('acme', 'API_TOKEN'))).meta.kid).toBe('test');
  });

  it('a plaintext value written before encryption at rest is read and listed, and the migration seals it keeping its updated_at', async () => {
    const d = deployment();
    const legacy = 'legacy-plaintext-value';
    const operatorKey = d.operatorKey('acme', 'API_TOKEN');
    // What the previous version stored: the raw value with a bare sha256 beside it; component writes had no metadata.
    await testEnv.PACKS.put(operatorKey, cborText(legacy), {
      customMetadata: { sha256: 'f'.repeat(64), updated_at: '2025-01-02T03:04:05.000Z' },
    });
    await testEnv.PACKS.put(d.componentKey('acme', 'SESSION', 'support'), cborText('legacy-session'));
    expect(await d.get('acme', 'API_TOKEN')).toMatchObject({ ok: true, output: legacy });
    const listed = await d.list('acme');
    expect(listed).toEqual([
      expect.objectContaining({
        key: 'API_TOKEN',
        key_id: null,
        digest: expect.stringMatching(/^hmac-sha256:/),
        size: cborText(legacy).length,
      }),
      expect.objectContaining({ key: 'SESSION', key_id: null, digest: expect.stringMatching(/^hmac-sha256:/) }),
    ]);
    expect(JSON.stringify(listed)).not.toContain('f'.repeat(64));

    const report = await d.migrate();
    expect(report).toMatchObject({ scanned: 2, reencrypted: 2, from_plaintext: 2, unreadable: [], cursor: null });
    const sealed = await stored(operatorKey);
    expect(contains(sealed.bytes, text(legacy))).toBe(false);
    expect(sealed.meta).toEqual({ kid: 'test', digest: listed[0]!.digest, updated_at: '2025-01-02T03:04:05.000Z' });
    expect(await d.get('acme', 'API_TOKEN')).toMatchObject({ ok: true, output: legacy });
    expect(await d.get('acme', 'SESSION', 'support')).toMatchObject({ ok: true, output: 'legacy-session' });
  });

  it('the migration goes in pages: with limit=1 it answers a cursor until every value is handled, and a second pass finds them all current', async () => {
    const d = deployment();
    await testEnv.PACKS.put(d.componentKey('t1', 'SESSION'), cborText('a'));
    await testEnv.PACKS.put(d.operatorKey('t1', 'API_TOKEN'), text('b'));
    await testEnv.PACKS.put(d.operatorKey('t2', 'API_TOKEN'), text('c'));
    const rounds: MigrationReport[] = [];
    let cursor: string | null = null;
    do {
      const report: MigrationReport = await d.migrate(`?limit=1${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
      rounds.push(report);
      cursor = report.cursor;
    } while (cursor !== null && rounds.length < 10);
    expect(rounds.map((r) => [r.scanned, r.reencrypted, r.cursor])).toEqual([
      [1, 1, d.componentKey('t1', 'SESSION')],
      [1, 1, d.operatorKey('t1', 'API_TOKEN')],
      [1, 1, null],
    ]);
    for (const key of [d.componentKey('t1', 'SESSION'), d.operatorKey('t1', 'API_TOKEN'), d.operatorKey('t2', 'API_TOKEN')])
      expect((await stored(key)).meta.kid).toBe('test');
    expect(await d.migrate()).toMatchObject({ scanned: 3, current: 3, reencrypted: 0, cursor: null });
  });

  it('a value written while the migration re-seals it is kept: the re-seal is conditional on the object it read', async () => {
    const d = deployment();
    const key = d.operatorKey('acme', 'API_TOKEN');
    await testEnv.PACKS.put(key, cborText('legacy'));
    const listed = (await testEnv.PACKS.list({ prefix: key, include: ['customMetadata'] })).objects[0]!;
    // An operator's PUT lands between the migration's read and its write.
    const racing = {
      get: async (k: string) => {
        const obj = await testEnv.PACKS.get(k);
        expect((await d.put('acme', 'API_TOKEN', 'set-meanwhile')).status).toBe(200);
        return obj;
      },
      put: (k: string, v: Uint8Array, o?: R2PutOptions) => testEnv.PACKS.put(k, v, o),
    } as unknown as R2Bucket;
    const keyring = await parseKeyring(testKeyring('test'));
    expect(await resealSecretObject(racing, keyring, listed)).toEqual({ status: 'changed' });
    expect(await d.get('acme', 'API_TOKEN')).toMatchObject({ ok: true, output: 'set-meanwhile' });
  });

  it('the migration needs the admin token and a keyring, and refuses a cursor of another env or a limit out of range', async () => {
    const d = deployment();
    const app = new Hono<{ Bindings: Env }>().route(
      '/admin/v1',
      adminApi(() => undefined),
    );
    expect((await app.request('http://x/admin/v1/secrets/migrate', { method: 'POST' }, d.env)).status).toBe(401);
    for (const query of ['?limit=0', '?limit=501', '?limit=x', '?cursor=secrets/other-env/t/_/K']) {
      const res = await d.admin('POST', `/secrets/migrate${query}`);
      expect(res.status, query).toBe(400);
    }
    const none = await withKeys(d.env, undefined).admin('POST', '/secrets/migrate');
    expect(none.status).toBe(503);
    expect(await none.json()).toMatchObject({ error: 'secrets_key_missing', message: expect.stringContaining('SECRETS_ENCRYPTION_KEYS') });
  });
});

describe('secrets at rest: sealed bytes open only where and as they were written', () => {
  it("a sealed value copied to another tenant's key does not open there: the host answers internal, the listing still answers", async () => {
    const d = deployment();
    expect((await d.put('owner', 'API_TOKEN', 'owner-only')).status).toBe(201);
    const { bytes, meta } = await stored(d.operatorKey('owner', 'API_TOKEN'));
    await testEnv.PACKS.put(d.operatorKey('thief', 'API_TOKEN'), bytes, { customMetadata: meta });
    const logged = captureLogs();
    const read = await d.get('thief', 'API_TOKEN');
    expect(read).toMatchObject({ ok: false, error: { code: 'internal' } });
    expect(JSON.stringify(read)).not.toContain('owner-only');
    expect(logged.join('\n')).toContain(`"r2.key":"${d.operatorKey('thief', 'API_TOKEN')}"`);
    expect(await d.list('thief')).toEqual([expect.objectContaining({ key: 'API_TOKEN', key_id: 'test' })]);
    expect(await d.get('owner', 'API_TOKEN')).toMatchObject({ ok: true, output: 'owner-only' });
  });

  it('a tampered sealed value is refused by the host, and the migration reports it unreadable', async () => {
    const d = deployment(testKeyring('test'));
    await d.put('acme', 'API_TOKEN', 'do-not-alter');
    const key = d.operatorKey('acme', 'API_TOKEN');
    const { bytes, meta } = await stored(key);
    bytes[bytes.length - 20]! ^= 0x01;
    await testEnv.PACKS.put(key, bytes, { customMetadata: meta });
    const logged = captureLogs();
    expect(await d.get('acme', 'API_TOKEN')).toMatchObject({ ok: false, error: { code: 'internal' } });
    expect(logged.join('\n')).toContain('it was altered');
    const report = await withKeys(d.env, testKeyring('next', 'test')).migrate();
    expect(report.unreadable).toEqual([{ storage_key: key, reason: expect.stringContaining('does not decrypt') }]);
  });
});

describe('secrets at rest: without a usable keyring', () => {
  it('an admin PUT answers 503 naming SECRETS_ENCRYPTION_KEYS and stores nothing; a component put answers internal; plaintext stays readable', async () => {
    const d = deployment(null);
    const res = await d.put('acme', 'API_TOKEN', 'never-plaintext');
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: 'secrets_key_missing', message: expect.stringContaining('SECRETS_ENCRYPTION_KEYS') });
    expect(await testEnv.PACKS.head(d.operatorKey('acme', 'API_TOKEN'))).toBeNull();

    const logged = captureLogs();
    const put = await d.componentPut('acme', 'SESSION', 'never-plaintext-either', 'support');
    expect(put).toMatchObject({ ok: false, error: { code: 'internal' } });
    expect(logged.join('\n')).toMatch(/component\.secret_failed.*SECRETS_ENCRYPTION_KEYS is not set/);
    expect(await testEnv.PACKS.head(d.componentKey('acme', 'SESSION', 'support'))).toBeNull();

    // An upgrade deployed before the key was set keeps serving values written by the previous version.
    await testEnv.PACKS.put(d.operatorKey('acme', 'API_TOKEN'), cborText('from-before'));
    expect(await d.get('acme', 'API_TOKEN')).toMatchObject({ ok: true, output: 'from-before' });
    expect(await d.list('acme')).toEqual([expect.objectContaining({ key: 'API_TOKEN', key_id: null, digest: null })]);
  });

  it('a malformed keyring answers 503 naming the entry at fault, never the key bytes', async () => {
    const good = testKeyring('good');
    const material = good.slice(good.indexOf(':') + 1);
    const d = deployment(`good:${material},short:${btoa('too short')}`);
    const res = await d.put('acme', 'API_TOKEN', 'v');
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: string; message: string };
    expect(body).toMatchObject({ error: 'secrets_keyring_invalid', message: expect.stringContaining('"short"') });
    expect(body.message).not.toContain(material);
  });

  it('the keyring setting is refused for an entry without an id, a repeated id or a key that is not 32 bytes', async () => {
    const key = testKeyring('k').split(':')[1]!;
    await expect(parseKeyring(key)).rejects.toMatchObject({ code: 'SecretsKeyringInvalid', message: expect.stringContaining('entry 1') });
    await expect(parseKeyring(`a:${key},a:${key}`)).rejects.toMatchObject({ message: expect.stringContaining('listed twice') });
    await expect(parseKeyring(`a:${btoa('x'.repeat(31))}`)).rejects.toMatchObject({ message: expect.stringContaining('32 bytes') });
    await expect(parseKeyring(' , ')).rejects.toMatchObject({ message: expect.stringContaining('lists no key') });
    const ring = await parseKeyring(` new:${key} , old:${testKeyring('o').split(':')[1]!} `);
    expect(ring.primary.id).toBe('new');
    expect([...ring.byId.keys()]).toEqual(['new', 'old']);
  });
});
