-- The object retries by itself now (alarm with backoff), so attempts survive a restart: a message
-- whose turn keeps failing and a reply whose delivery keeps failing each carry their count, when
-- they are next due, and the last error (a code and message, never the body).
ALTER TABLE inbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE inbox ADD COLUMN next_attempt_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE inbox ADD COLUMN last_error TEXT;
CREATE INDEX IF NOT EXISTS inbox_due ON inbox (next_attempt_at);

ALTER TABLE outbox ADD COLUMN next_attempt_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN last_error TEXT;
-- Set (with sent_at: the reply has left the outbox) when it went to the dead-letter queue instead
-- of its provider.
ALTER TABLE outbox ADD COLUMN dead_lettered_at INTEGER;
CREATE INDEX IF NOT EXISTS outbox_due_by_session ON outbox (session_key, sent_at, id);
