/** The bindings and vars declared in wrangler.toml. */
export interface Env {
  CHANNEL: DurableObjectNamespace;
  PACKS: R2Bucket;
  PACK_INDEX: D1Database;
  INGRESS: Queue;
  EGRESS: Queue;
  LOADER: WorkerLoader;
  GREENTIC_ENV: string;
  PACK_TRUST_POLICY: string;
  SESSION_SHARDS: string;
  COMPONENT_CPU_MS: string;
  WAIT_TTL_SECONDS: string;
  ADMIN_TOKEN?: string;
  PACK_TRUSTED_KEYS?: string;
}
