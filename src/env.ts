import type { ComponentStateObject } from './component/edge/state-object.js';

/**
 * The bindings and vars declared in wrangler.toml, as every layer reads them. The channel, WebChat
 * and rate-limiter namespaces are typed with their classes in `objects.ts` (`WorkerEnv`), the one module that
 * names those objects and makes their stubs: the classes import this file, so it cannot import them.
 * The component state objects are reached from below `objects.ts` (the channel object and the
 * component host), so their namespace is here; that class does not import this file.
 */
export interface Env {
  PACKS: R2Bucket;
  /** One object per component state scope `{env}:{tenant}:{team}:{pack}` (component/edge/state-object.ts). */
  COMPONENT_STATE: DurableObjectNamespace<ComponentStateObject>;
  PACK_INDEX: D1Database;
  INGRESS: Queue;
  EGRESS: Queue;
  /** The dead-letter queue (`greentic-dlq`): see bus/dead-letters.ts. */
  DEAD_LETTERS: Queue;
  LOADER: WorkerLoader;
  GREENTIC_ENV: string;
  PACK_TRUST_POLICY: string;
  SESSION_SHARDS: string;
  /** The shard count before a change of SESSION_SHARDS, while sessions move (README "Changing the shard count"). */
  SESSION_SHARDS_PREVIOUS?: string;
  COMPONENT_CPU_MS: string;
  /** Rate limits: "off", or JSON `{defaults?, tenants?}` (edge/rate-limits.ts; unset = built-in limits). */
  RATE_LIMITS?: string;
  /** Engine work units a turn may spend (templates, conditions, node steps); see docs/security-limits.md. */
  TURN_ENGINE_BUDGET?: string;
  WAIT_TTL_SECONDS: string;
  ADMIN_TOKEN?: string;
  /** JSON map tenant → host patterns its components may call (see README). */
  COMPONENT_HTTP_ALLOW_HOSTS?: string;
  PACK_TRUSTED_KEYS?: string;
  /** JSON map tenant → host patterns its flows' MCP servers may be at (src/mcp; absent tenants reach none). */
  MCP_ALLOW_HOSTS?: string;
  /**
   * Keyring for tenant secrets at rest: `<kid>:<base64 of 32 bytes>`, comma-separated, the first
   * one seals new values (see README "Tenant secrets"). Without it secrets cannot be written.
   */
  SECRETS_ENCRYPTION_KEYS?: string;
  /** HMAC key for WebChat tokens; the facade answers 503 without it. */
  WEBCHAT_TOKEN_SECRET?: string;
  /** Display name of the bot in WebChat (default "Greentic"). */
  WEBCHAT_BOT_NAME?: string;
  /** Public origin for WebSocket stream URLs when the Worker sits behind a proxy (default: the request's origin). */
  WEBCHAT_PUBLIC_URL?: string;
  /** Days an idle WebChat conversation is kept (default 30). */
  WEBCHAT_RETENTION_DAYS?: string;
  /** Slack Web API base (default https://slack.com/api); tests and `npm run dev` point it at a local fake. */
  SLACK_API_BASE?: string;
  /** Telegram Bot API base (default https://api.telegram.org). */
  TELEGRAM_API_BASE?: string;
  /** WhatsApp Cloud API base with its Graph version (default https://graph.facebook.com/v25.0). */
  WHATSAPP_API_BASE?: string;
  /** Bot Framework OpenID metadata (default https://login.botframework.com/v1/.well-known/openidconfiguration). */
  TEAMS_OPENID_METADATA_URL?: string;
  /** Entra token endpoint; `{tenant}` is replaced by `teams/tenant_id` (default https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token). */
  TEAMS_TOKEN_URL?: string;
  /** Static assets (the WebChat page), when configured. */
  ASSETS?: Fetcher;
}
