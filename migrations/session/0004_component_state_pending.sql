-- Component state-store writes of committed turns on their way to the component state object of
-- their scope (src/component/edge/state-object.ts). Written in the turn's transaction, deleted once
-- that object applied them (right after the commit, else by the alarm). The id is never reused
-- (AUTOINCREMENT): the state object keeps the highest id it applied from this object's source, so
-- a re-sent row is skipped.
CREATE TABLE IF NOT EXISTS component_state_pending (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  scope_json  TEXT NOT NULL,
  key         TEXT NOT NULL,
  value       BLOB,
  created_at  INTEGER NOT NULL
);
-- Reads of this object's later turns see committed writes that are not applied yet.
CREATE INDEX IF NOT EXISTS component_state_pending_by_key ON component_state_pending (key, id);
CREATE INDEX IF NOT EXISTS component_state_pending_by_scope ON component_state_pending (scope_json, id);

-- How the state objects know this object's writes apart: a random id made with the first write,
-- so storage that is ever wiped (its ids start again) is a new source.
CREATE TABLE IF NOT EXISTS component_state_source (
  id      INTEGER PRIMARY KEY CHECK (id = 1),
  source  TEXT NOT NULL
);
