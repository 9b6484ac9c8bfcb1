-- Dead letters (D1): what the ingress and egress paths gave up on, kept until an operator deletes
-- it (src/bus/dead-letter-store.ts). Forward-only once shipped: add a new numbered file instead.
CREATE TABLE IF NOT EXISTS dead_letters (
  -- 32 hex digits of sha256 over the message's identity (source, env, tenant, team, channel,
  -- idempotency key), or over the body of one that is neither message: the same message
  -- dead-lettered again lands on the same row.
  id              TEXT PRIMARY KEY,
  source          TEXT NOT NULL,            -- "ingress" | "egress" | "unknown" (unparseable body)
  env             TEXT,                     -- env, tenant, team, channel: NULL when unparseable
  tenant          TEXT,
  team            TEXT,
  channel         TEXT,
  idempotency_key TEXT,
  subject         TEXT,
  reason          TEXT NOT NULL,
  attempts        INTEGER,                  -- NULL when the queue gave up (it does not say how often it tried)
  failures        INTEGER NOT NULL DEFAULT 1, -- times this message was dead-lettered (a replay can fail again)
  failed_at       INTEGER NOT NULL,         -- unix ms of the latest failure
  received_at     INTEGER NOT NULL,         -- unix ms the DLQ consumer stored it
  message_json    TEXT NOT NULL,            -- the message as sent (JSON), or an unparseable body as text
  truncated       INTEGER NOT NULL DEFAULT 0, -- 1: message_json was cut at the size bound (not replayable)
  replayed_at     INTEGER,                  -- unix ms of the latest replay
  replays         INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX IF NOT EXISTS dead_letters_newest ON dead_letters (failed_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS dead_letters_by_tenant ON dead_letters (tenant, failed_at DESC, id DESC);
