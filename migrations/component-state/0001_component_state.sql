-- Component state object schema (SQLite in the object): the component state-store of one
-- {env}:{tenant}:{team}:{pack} scope. Keys are the full storage keys (state/{env}/{tenant}/{team}/{pack}/{key}),
-- the same as the R2 keys of the previous version.

-- Which scope this object holds (its storage-key prefix), fixed by the first call; and when the
-- previous version's R2 keys of the scope were listed (once).
CREATE TABLE IF NOT EXISTS scope_meta (
  id                INTEGER PRIMARY KEY CHECK (id = 1),
  prefix            TEXT NOT NULL,
  legacy_listed_at  INTEGER
);

CREATE TABLE IF NOT EXISTS entries (
  key         TEXT PRIMARY KEY,
  value       BLOB NOT NULL,
  updated_at  INTEGER NOT NULL
);

-- Keys the previous version left in R2 and that were neither read (then copied in) nor
-- overwritten or deleted since: the only keys whose miss still looks in R2.
CREATE TABLE IF NOT EXISTS legacy_keys (
  key  TEXT PRIMARY KEY
);

-- Per channel object (source), the highest pending-write id applied: a re-sent write is skipped.
CREATE TABLE IF NOT EXISTS sources (
  source      TEXT PRIMARY KEY,
  last_seq    INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
