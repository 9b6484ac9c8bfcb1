// Forward-only, versioned schemas for Durable Object SQLite: each migration runs once, in order,
// in its own transaction with its version recorded, when the object is constructed.

export interface SqlMigration {
  version: number;
  name: string;
  sql: string;
}

/** Applies the migrations not yet recorded in `schema_migrations`; returns how many ran. */
export function applySqlMigrations(storage: DurableObjectStorage, migrations: readonly SqlMigration[]): number {
  const sql = storage.sql;
  sql.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  const applied = new Set(
    sql
      .exec<{ version: number }>('SELECT version FROM schema_migrations')
      .toArray()
      .map((r) => r.version),
  );
  let count = 0;
  for (const migration of migrations) {
    if (applied.has(migration.version)) continue;
    storage.transactionSync(() => {
      sql.exec(migration.sql);
      sql.exec('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', migration.version, migration.name, Date.now());
    });
    count++;
  }
  return count;
}
