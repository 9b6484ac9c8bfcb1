// Session state for `state.get` / `state.set` nodes, scoped by env/tenant/team/pack. Reads see
// this turn's own writes; writes are buffered and committed in the same transaction as the rest
// of the turn, so a turn that fails leaves no partial state. (The component state-store import is
// a separate, tenant-wide store in R2: component/host-policy.ts.)

export type StateValue = unknown;

export function stateScope(env: string, tenant: string, team: string, packId: string): string {
  return `${env}:${tenant}:${team}:${packId}`;
}

export class TurnStateStore {
  private readonly writes = new Map<string, { value: string } | null>();

  constructor(
    private readonly sql: SqlStorage,
    readonly scope: string,
  ) {}

  get(key: string): StateValue | undefined {
    const pending = this.writes.get(key);
    if (pending !== undefined) return pending === null ? undefined : JSON.parse(pending.value);
    const row = this.sql.exec<{ value: string }>('SELECT value FROM state WHERE scope = ? AND key = ?', this.scope, key).toArray()[0];
    return row === undefined ? undefined : JSON.parse(row.value);
  }

  set(key: string, value: StateValue): void {
    this.writes.set(key, { value: JSON.stringify(value ?? null) });
  }

  delete(key: string): void {
    this.writes.set(key, null);
  }

  /** Call inside the turn's transaction. */
  commit(now: number): void {
    for (const [key, write] of this.writes) {
      if (write === null) this.sql.exec('DELETE FROM state WHERE scope = ? AND key = ?', this.scope, key);
      else
        this.sql.exec(
          'INSERT INTO state (scope, key, value, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
          this.scope,
          key,
          write.value,
          now,
        );
    }
    this.writes.clear();
  }
}
