-- Pack index (D1). Forward-only once shipped: add a new numbered file instead of editing this one.
CREATE TABLE IF NOT EXISTS packs (
  digest       TEXT PRIMARY KEY,          -- sha256 of the .gtpack bytes, "sha256:<hex>"
  pack_id      TEXT NOT NULL,
  version      TEXT NOT NULL,
  kind         TEXT NOT NULL,
  publisher    TEXT NOT NULL,
  size         INTEGER NOT NULL,
  signed_by    TEXT,                      -- key id of the verifying signature, if any
  trust        TEXT NOT NULL,             -- "verified" | "unsigned-dev" | "untrusted-dev": how it passed the policy
  archive_key  TEXT NOT NULL,             -- R2 key of the .gtpack bytes
  model_key    TEXT NOT NULL,             -- R2 key of the runtime model (flows + components) extracted at upload
  uploaded_at  TEXT NOT NULL,
  UNIQUE (pack_id, version)
);

CREATE TABLE IF NOT EXISTS activations (
  env          TEXT NOT NULL,
  tenant       TEXT NOT NULL,
  pack_id      TEXT NOT NULL,
  digest       TEXT NOT NULL REFERENCES packs(digest),
  activated_at TEXT NOT NULL,
  PRIMARY KEY (env, tenant, pack_id)
);

CREATE INDEX IF NOT EXISTS activations_by_env ON activations (env);
