/**
 * The component state-store of one `{env}:{tenant}:{team}:{pack}` scope, as a Durable Object
 * (SQLite) that every channel, shard and webhook of the scope shares, so a component's counter
 * never splits. Channel objects apply the writes of committed turns (`apply`, idempotent per
 * source), turns read through it (`read`), and a host outside a turn writes directly (`write`).
 * The previous version kept this state in R2 under the same keys: the object lists them once and
 * copies a key in on its first read (session/component-state.ts buffers the turn's side).
 */
import { DurableObject } from 'cloudflare:workers';
import { z } from 'zod';
import m0001 from '../../../migrations/component-state/0001_component_state.sql';
import { CodedError } from '../../core/coded-error.js';
import { applySqlMigrations, type SqlMigration } from '../../edge/sql-migrations.js';
import { type KeyValueStore, type StateScope, stateKeyPrefix } from './host-policy.js';

const STATE_MIGRATIONS: readonly SqlMigration[] = [{ version: 1, name: '0001_component_state', sql: m0001 }];

/** The bindings the object uses (not `Env`: env.ts names this class, so it cannot import env.ts). */
export interface StateObjectEnv {
  PACKS: R2Bucket;
}

/** One write of a committed turn; `seq` increases per source and marks what the object applied. */
export interface StateWrite {
  seq: number;
  key: string;
  /** null deletes the key. */
  value: Uint8Array | null;
}

/** The state store a host uses for each scope: a turn's buffer, or the state objects directly. */
export type ComponentStateStores = (scope: StateScope) => KeyValueStore;

export class ComponentStateError extends CodedError<'InvalidStateCall' | 'WrongStateScope'> {
  constructor(code: ComponentStateError['code'], message: string) {
    super(code, `${code}: ${message}`);
  }
}

const scopeSchema = z.object({
  env: z.string().min(1),
  tenant: z.string().min(1),
  team: z.string().min(1).optional(),
  pack: z.string().min(1),
});
const writesSchema = z.array(z.object({ seq: z.number().int().positive(), key: z.string(), value: z.instanceof(Uint8Array).nullable() }));
const sourceSchema = z.string().min(1);

function parsed<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new ComponentStateError('InvalidStateCall', `${what}: ${result.error.message}`);
  return result.data;
}

/** SQLite binds bytes as an ArrayBuffer of exactly their length. */
const blob = (value: Uint8Array): ArrayBuffer => value.slice().buffer;

export class ComponentStateObject extends DurableObject<StateObjectEnv> {
  /** The claimed scope's prefix once the first call checked it and listed the legacy keys. */
  private opening: Promise<string> | null = null;

  constructor(ctx: DurableObjectState, env: StateObjectEnv) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      applySqlMigrations(ctx.storage, STATE_MIGRATIONS);
    });
  }

  /** The value under a full storage key of the scope, or null. */
  async read(scope: StateScope, key: string): Promise<Uint8Array | null> {
    this.checkKey(await this.open(scope), key);
    const hit = this.entry(key);
    if (hit !== undefined || !this.isLegacy(key)) return hit ?? null;
    const object = await this.env.PACKS.get(key);
    const value = object === null ? null : new Uint8Array(await object.arrayBuffer());
    // A write that landed while R2 answered is newer than the legacy value.
    if (!this.isLegacy(key)) return this.entry(key) ?? null;
    this.ctx.storage.transactionSync(() => this.set(key, value, Date.now()));
    return value;
  }

  /** Writes (or, with null, deletes) one key at once: for hosts that run outside a turn. */
  async write(scope: StateScope, key: string, value: Uint8Array | null): Promise<void> {
    this.checkKey(await this.open(scope), key);
    const bytes = parsed(z.instanceof(Uint8Array).nullable(), value, 'value');
    this.ctx.storage.transactionSync(() => this.set(key, bytes, Date.now()));
  }

  /**
   * Applies a source's (a channel object's) committed writes in seq order, skipping those it
   * applied before: a batch re-sent after a lost answer changes nothing, even when another source
   * wrote the same key in between. Returns how many writes were new.
   */
  async apply(scope: StateScope, source: string, writes: StateWrite[]): Promise<number> {
    const prefix = await this.open(scope);
    const from = parsed(sourceSchema, source, 'source');
    const batch = parsed(writesSchema, writes, 'writes').sort((a, b) => a.seq - b.seq);
    for (const w of batch) this.checkKey(prefix, w.key);
    const now = Date.now();
    return this.ctx.storage.transactionSync(() => {
      const last = this.sql.exec<{ last_seq: number }>('SELECT last_seq FROM sources WHERE source = ?', from).toArray()[0]?.last_seq ?? 0;
      let applied = 0;
      let high = last;
      for (const w of batch) {
        if (w.seq <= last) continue;
        this.set(w.key, w.value, now);
        applied++;
        high = w.seq;
      }
      this.sql.exec(
        'INSERT INTO sources (source, last_seq, updated_at) VALUES (?, ?, ?) ON CONFLICT (source) DO UPDATE SET last_seq = excluded.last_seq, updated_at = excluded.updated_at',
        from,
        high,
        now,
      );
      return applied;
    });
  }

  private async open(scope: StateScope): Promise<string> {
    const prefix = stateKeyPrefix(parsed(scopeSchema, scope, 'scope'));
    const opening = (this.opening ??= this.claim(prefix));
    let claimed: string;
    try {
      claimed = await opening;
    } catch (err) {
      if (this.opening === opening) this.opening = null;
      throw err;
    }
    if (claimed !== prefix) throw new ComponentStateError('WrongStateScope', `this object holds ${claimed}, not ${prefix}`);
    return prefix;
  }

  /** The first call fixes the scope; the scope's keys in R2 (the previous version's) are listed once. */
  private async claim(prefix: string): Promise<string> {
    const meta = this.sql
      .exec<{ prefix: string; legacy_listed_at: number | null }>('SELECT prefix, legacy_listed_at FROM scope_meta')
      .toArray()[0];
    if (meta === undefined) this.sql.exec('INSERT INTO scope_meta (id, prefix) VALUES (1, ?)', prefix);
    else if (meta.legacy_listed_at !== null) return meta.prefix;
    const claimed = meta?.prefix ?? prefix;
    const keys: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.env.PACKS.list({ prefix: claimed, cursor });
      for (const object of page.objects) keys.push(object.key);
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor !== undefined);
    this.ctx.storage.transactionSync(() => {
      for (const key of keys) this.sql.exec('INSERT INTO legacy_keys (key) VALUES (?) ON CONFLICT (key) DO NOTHING', key);
      this.sql.exec('UPDATE scope_meta SET legacy_listed_at = ?', Date.now());
    });
    return claimed;
  }

  private checkKey(prefix: string, key: unknown): void {
    if (typeof key !== 'string' || !key.startsWith(prefix) || key.length === prefix.length)
      throw new ComponentStateError('InvalidStateCall', `key ${JSON.stringify(key)} is not a state key of ${prefix}`);
  }

  private entry(key: string): Uint8Array | undefined {
    const row = this.sql.exec<{ value: ArrayBuffer }>('SELECT value FROM entries WHERE key = ?', key).toArray()[0];
    return row === undefined ? undefined : new Uint8Array(row.value);
  }

  private isLegacy(key: string): boolean {
    return this.sql.exec('SELECT 1 FROM legacy_keys WHERE key = ?', key).toArray().length > 0;
  }

  /** Call inside a transaction: the key's value from now on, and never the legacy one again. */
  private set(key: string, value: Uint8Array | null, now: number): void {
    this.sql.exec('DELETE FROM legacy_keys WHERE key = ?', key);
    if (value === null) this.sql.exec('DELETE FROM entries WHERE key = ?', key);
    else
      this.sql.exec(
        'INSERT INTO entries (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
        key,
        blob(value),
        now,
      );
  }

  private get sql(): SqlStorage {
    return this.ctx.storage.sql;
  }
}

/** The state object of a scope, named by the scope's key prefix. */
export function componentStateObject(
  namespace: DurableObjectNamespace<ComponentStateObject>,
  scope: StateScope,
): DurableObjectStub<ComponentStateObject> {
  return namespace.get(namespace.idFromName(stateKeyPrefix(scope)));
}

/** The scope's own parts, without the component a host scope carries (it does not partition state). */
export function stateScopeOf(scope: StateScope): StateScope {
  return { env: scope.env, tenant: scope.tenant, team: scope.team, pack: scope.pack };
}

/**
 * State straight from the state objects, each write applied at once: for a host with no turn to
 * commit with (the ComponentHost entrypoint, a runner outside the channel object).
 */
export function directStateStores(namespace: DurableObjectNamespace<ComponentStateObject>): ComponentStateStores {
  return (hostScope) => {
    const scope = stateScopeOf(hostScope);
    const object = componentStateObject(namespace, scope);
    return {
      get: (key) => object.read(scope, key),
      put: (key, value) => object.write(scope, key, value),
      delete: (key) => object.write(scope, key, null),
    };
  };
}
