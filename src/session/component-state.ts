// The component state-store on the channel object's side. A turn's writes stay in memory
// (TurnComponentState) and its reads see them first. When the turn commits, its writes become rows
// of `component_state_pending` in the same transaction; right after the commit (or from the
// alarm) the ledger applies them to the state object of their scope and deletes them, and until
// then later turns of this object read them from there. A turn that does not commit leaves nothing.

import type { KeyValueStore, StateScope } from '../component/edge/host-policy.js';
import {
  type ComponentStateObject,
  type ComponentStateStores,
  componentStateObject,
  type StateWrite,
  stateScopeOf,
} from '../component/edge/state-object.js';
import { errorMessage } from '../core/coded-error.js';
import { logEvent } from '../edge/telemetry.js';

/** Bytes of writes sent to a state object in one call, well under an RPC message's 32 MiB. */
const APPLY_BATCH_BYTES = 4 * 1024 * 1024;

/** The channel object's committed component-state writes and how they reach the state objects. */
export class ComponentStateLedger {
  private applying: Promise<boolean> = Promise.resolve(true);
  private sourceId: string | undefined;

  constructor(
    private readonly sql: SqlStorage,
    private readonly namespace: DurableObjectNamespace<ComponentStateObject>,
  ) {}

  /** A buffer for one turn; drop it to discard the turn's writes. */
  turn(): TurnComponentState {
    return new TurnComponentState(this);
  }

  hasPending(): boolean {
    return this.sql.exec('SELECT 1 FROM component_state_pending LIMIT 1').toArray().length > 0;
  }

  /** The newest committed write of a key not applied yet: its bytes, null for a delete, undefined for none. */
  pending(key: string): Uint8Array | null | undefined {
    const row = this.sql
      .exec<{ value: ArrayBuffer | null }>('SELECT value FROM component_state_pending WHERE key = ? ORDER BY id DESC LIMIT 1', key)
      .toArray()[0];
    if (row === undefined) return undefined;
    return row.value === null ? null : new Uint8Array(row.value);
  }

  /** Call inside the turn's transaction. */
  record(writes: ReadonlyMap<string, { scope: StateScope; value: Uint8Array | null }>, now: number): void {
    for (const [key, write] of writes)
      this.sql.exec(
        'INSERT INTO component_state_pending (scope_json, key, value, created_at) VALUES (?, ?, ?, ?)',
        JSON.stringify(stateScopeOf(write.scope)),
        key,
        write.value === null ? null : write.value.slice().buffer,
        now,
      );
  }

  /** The committed value from the scope's state object. */
  read(scope: StateScope, key: string): Promise<Uint8Array | null> {
    return componentStateObject(this.namespace, scope).read(scope, key);
  }

  /**
   * Applies the committed writes to their state objects, in commit order per scope, one call at a
   * time. Never throws: what fails stays for the alarm. True when nothing is left.
   */
  apply(): Promise<boolean> {
    const run = this.applying
      .then(() => this.applyAll())
      .catch((err: unknown) => {
        logEvent('warn', 'component_state.apply_failed', { error: errorMessage(err) });
        return false;
      });
    this.applying = run;
    return run;
  }

  private async applyAll(): Promise<boolean> {
    const scopes = this.sql
      .exec<{ scope_json: string }>('SELECT scope_json FROM component_state_pending GROUP BY scope_json ORDER BY MIN(id)')
      .toArray();
    let done = true;
    for (const { scope_json } of scopes) {
      try {
        await this.applyScope(scope_json);
      } catch (err) {
        done = false;
        logEvent('warn', 'component_state.apply_failed', { error: errorMessage(err) });
      }
    }
    return done;
  }

  private async applyScope(scopeJson: string): Promise<void> {
    const scope = JSON.parse(scopeJson) as StateScope;
    const object = componentStateObject(this.namespace, scope);
    for (;;) {
      const batch = this.batch(scopeJson);
      const last = batch.at(-1);
      if (last === undefined) return;
      await object.apply(scope, this.source(), batch);
      this.sql.exec('DELETE FROM component_state_pending WHERE scope_json = ? AND id <= ?', scopeJson, last.seq);
    }
  }

  /** This object's storage, as the state objects tell its writes apart (made on first use). */
  private source(): string {
    if (this.sourceId !== undefined) return this.sourceId;
    const row = this.sql.exec<{ source: string }>('SELECT source FROM component_state_source').toArray()[0];
    this.sourceId = row?.source ?? crypto.randomUUID();
    if (row === undefined) this.sql.exec('INSERT INTO component_state_source (id, source) VALUES (1, ?)', this.sourceId);
    return this.sourceId;
  }

  /** The scope's oldest writes, up to APPLY_BATCH_BYTES (at least one). */
  private batch(scopeJson: string): StateWrite[] {
    const out: StateWrite[] = [];
    let bytes = 0;
    const rows = this.sql.exec<{ id: number; key: string; value: ArrayBuffer | null }>(
      'SELECT id, key, value FROM component_state_pending WHERE scope_json = ? ORDER BY id',
      scopeJson,
    );
    for (const row of rows) {
      const size = row.key.length + (row.value?.byteLength ?? 0);
      if (out.length > 0 && bytes + size > APPLY_BATCH_BYTES) break;
      out.push({ seq: row.id, key: row.key, value: row.value === null ? null : new Uint8Array(row.value) });
      bytes += size;
    }
    return out;
  }
}

/**
 * One turn's view of component state. Reads look at the turn's own writes, then at this object's
 * committed writes not applied yet, then at what the turn already read, and only then ask the
 * state object; writes and deletes stay here until `record`.
 */
export class TurnComponentState {
  /** This turn's writes by full storage key; null deletes. */
  private readonly writes = new Map<string, { scope: StateScope; value: Uint8Array | null }>();
  /** Values this turn already saw, so a repeated read makes no round trip. */
  private readonly seen = new Map<string, Uint8Array | null>();

  constructor(private readonly ledger: ComponentStateLedger) {}

  /** The host's state store for each scope (what the turn's component host uses). */
  readonly stores: ComponentStateStores = (hostScope) => {
    const scope = stateScopeOf(hostScope);
    const store: KeyValueStore = {
      get: (key) => this.get(scope, key),
      put: async (key, value) => void this.writes.set(key, { scope, value }),
      delete: async (key) => void this.writes.set(key, { scope, value: null }),
    };
    return store;
  };

  /** Call inside the turn's transaction: the writes become committed (applied after it). False when there were none. */
  record(now: number): boolean {
    this.ledger.record(this.writes, now);
    return this.writes.size > 0;
  }

  private async get(scope: StateScope, key: string): Promise<Uint8Array | null> {
    const own = this.writes.get(key);
    if (own !== undefined) return own.value;
    const committed = this.ledger.pending(key);
    if (committed !== undefined) {
      this.seen.set(key, committed);
      return committed;
    }
    if (this.seen.has(key)) return this.seen.get(key) ?? null;
    const value = await this.ledger.read(scope, key);
    this.seen.set(key, value);
    return value;
  }
}
