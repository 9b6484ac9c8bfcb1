-- Changing SESSION_SHARDS moves sessions to other objects. A session's new object takes its
-- rows (session, parked waits, dedup records) from the object that held it under the previous
-- shard count the first time it sees the session, and copies that object's flow state once.
-- One row per session (or `state:<object>` for a state copy) already taken over.
CREATE TABLE IF NOT EXISTS adoptions (
  subject      TEXT PRIMARY KEY,
  adopted_at   INTEGER NOT NULL
);
