// Forward-only, versioned schema for the channel object's SQLite, applied on construction.
import m0001 from '../../migrations/session/0001_channel_session.sql';
import m0002 from '../../migrations/session/0002_component_state_pending.sql';
import { applySqlMigrations, type SqlMigration } from '../edge/sql-migrations.js';

export const SESSION_MIGRATIONS: readonly SqlMigration[] = [
  { version: 1, name: '0001_channel_session', sql: m0001 },
  { version: 2, name: '0002_component_state_pending', sql: m0002 },
];

export function applySessionMigrations(storage: DurableObjectStorage): number {
  return applySqlMigrations(storage, SESSION_MIGRATIONS);
}
