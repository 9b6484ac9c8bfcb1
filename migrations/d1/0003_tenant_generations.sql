-- A counter per (env, tenant) bumped with every change to what the tenant runs (activation,
-- deactivation, a pack's recorded verification). Channel objects cache the tenant's active packs
-- per isolate and re-read them only when this point lookup says they changed, so an activation
-- still takes effect on the very next message while the hot path reads one row.
CREATE TABLE IF NOT EXISTS tenant_generations (
  env         TEXT NOT NULL,
  tenant      TEXT NOT NULL,
  generation  INTEGER NOT NULL,
  PRIMARY KEY (env, tenant)
);
