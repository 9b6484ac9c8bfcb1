-- Channel Durable Object schema (SQLite in the object). Applied in order on construction and
-- recorded in schema_migrations; forward-only.

-- Who this object is; checked on every call so a message can never land in another channel.
CREATE TABLE IF NOT EXISTS channel_meta (
  id       INTEGER PRIMARY KEY CHECK (id = 1),
  env      TEXT NOT NULL,
  tenant   TEXT NOT NULL,
  team     TEXT NOT NULL,
  channel  TEXT NOT NULL,
  shard    INTEGER NOT NULL
);

-- Accepted but not yet committed messages, in arrival order (seq). A row is deleted in the same
-- transaction that commits its effects.
CREATE TABLE IF NOT EXISTS inbox (
  seq              INTEGER PRIMARY KEY AUTOINCREMENT,
  idempotency_key  TEXT NOT NULL UNIQUE,
  session_key      TEXT NOT NULL,
  message_json     TEXT NOT NULL,
  received_at      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_by_session ON inbox (session_key, seq);

-- Processed idempotency keys (provider event ids / Idempotency-Key) and what they produced.
CREATE TABLE IF NOT EXISTS dedup (
  idempotency_key  TEXT PRIMARY KEY,
  session_key      TEXT NOT NULL,
  outcome_json     TEXT NOT NULL,
  processed_at     INTEGER NOT NULL
);

-- One row per conversation; last_seq is the last inbox seq committed for it.
CREATE TABLE IF NOT EXISTS sessions (
  session_key  TEXT PRIMARY KEY,
  tenant_ctx   TEXT NOT NULL,
  last_seq     INTEGER NOT NULL,
  turns        INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);

-- Parked runs: the executor's snapshot per session and reply scope, with their expiry.
CREATE TABLE IF NOT EXISTS waits (
  session_key  TEXT NOT NULL,
  scope_hash   TEXT NOT NULL,
  pack_id      TEXT NOT NULL,
  pack_digest  TEXT NOT NULL,
  flow_id      TEXT NOT NULL,
  reason       TEXT,
  snapshot     TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  PRIMARY KEY (session_key, scope_hash)
);
CREATE INDEX IF NOT EXISTS waits_by_expiry ON waits (expires_at);

-- state.get / state.set and the component state-store, scoped by env/tenant/team/pack.
CREATE TABLE IF NOT EXISTS state (
  scope       TEXT NOT NULL,
  key         TEXT NOT NULL,
  value       TEXT NOT NULL,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (scope, key)
);

-- Replies committed with the turn that produced them; sent_at is set only after the egress queue
-- accepted the message.
CREATE TABLE IF NOT EXISTS outbox (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  idempotency_key  TEXT NOT NULL UNIQUE,
  session_key      TEXT NOT NULL,
  message_json     TEXT NOT NULL,
  created_at       INTEGER NOT NULL,
  attempts         INTEGER NOT NULL DEFAULT 0,
  sent_at          INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (sent_at, id);
