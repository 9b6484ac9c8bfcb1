// Forward-only, versioned schema for the channel object's SQLite, applied on construction. Each
// migration runs once, in order, in its own transaction with its version recorded.
import m0001 from '../../migrations/session/0001_channel_session.sql';
import m0002 from '../../migrations/session/0002_delivery_retries.sql';
import m0003 from '../../migrations/session/0003_reshard.sql';

export const SESSION_MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  { version: 1, name: '0001_channel_session', sql: m0001 },
  { version: 2, name: '0002_delivery_retries', sql: m0002 },
  { version: 3, name: '0003_reshard', sql: m0003 },
];

export function applySessionMigrations(storage: DurableObjectStorage): number {
  const sql = storage.sql;
  sql.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  const applied = new Set(
    sql
      .exec<{ version: number }>('SELECT version FROM schema_migrations')
      .toArray()
      .map((r) => r.version),
  );
  let count = 0;
  for (const migration of SESSION_MIGRATIONS) {
    if (applied.has(migration.version)) continue;
    storage.transactionSync(() => {
      sql.exec(migration.sql);
      sql.exec('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', migration.version, migration.name, Date.now());
    });
    count++;
  }
  return count;
}
