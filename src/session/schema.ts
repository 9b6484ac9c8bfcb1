// Forward-only, versioned schema for the channel object's SQLite, applied on construction.
import m0001 from '../../migrations/session/0001_channel_session.sql';
import m0002 from '../../migrations/session/0002_delivery_retries.sql';
import m0003 from '../../migrations/session/0003_reshard.sql';
import m0004 from '../../migrations/session/0004_component_state_pending.sql';
import { applySqlMigrations, type SqlMigration } from '../edge/sql-migrations.js';

export const SESSION_MIGRATIONS: readonly SqlMigration[] = [
  { version: 1, name: '0001_channel_session', sql: m0001 },
  { version: 2, name: '0002_delivery_retries', sql: m0002 },
  { version: 3, name: '0003_reshard', sql: m0003 },
  { version: 4, name: '0004_component_state_pending', sql: m0004 },
];

export function applySessionMigrations(storage: DurableObjectStorage): number {
  return applySqlMigrations(storage, SESSION_MIGRATIONS);
}
