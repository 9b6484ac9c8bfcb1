// The one place a TenantCtx is built. Everything that needs tenant identity (bus messages, the
// channel object, component invocations, host imports, logs) derives it from `buildTenantCtx`, so
// env always comes from the deployment (GREENTIC_ENV) and never from a request.
import { z } from 'zod';
import { CodedError } from '../core/coded-error.js';

/**
 * greentic-types identifiers: non-empty ASCII `[A-Za-z0-9._-]`. The edge also caps their length:
 * tenant, team, env and flow ids become parts of R2 keys (at most 1,024 bytes) and object names.
 */
export const MAX_IDENTIFIER_LENGTH = 128;
export const IDENTIFIER = new RegExp(`^[A-Za-z0-9._-]{1,${MAX_IDENTIFIER_LENGTH}}$`);
/** The rule in words, for error messages. */
const IDENTIFIER_RULE = `letters, digits, ".", "_", "-"; at most ${MAX_IDENTIFIER_LENGTH} characters`;

/** The message for an id that breaks the rule (`what` names it: tenant, team, flow); long values are cut. */
export function notAnIdentifier(what: string, value: string): string {
  return `${what} ${JSON.stringify(value.slice(0, 200))} is not an identifier (${IDENTIFIER_RULE})`;
}

export const DEFAULT_TEAM = 'default';
export const DEFAULT_I18N = 'en';

/** The Rust `TenantCtx` in its serde JSON form (optional fields omitted when absent). */
export const tenantCtxSchema = z.object({
  env: z.string().regex(IDENTIFIER),
  tenant: z.string().regex(IDENTIFIER),
  tenant_id: z.string().regex(IDENTIFIER),
  team: z.string().optional(),
  team_id: z.string().optional(),
  user: z.string().optional(),
  user_id: z.string().optional(),
  session_id: z.string().optional(),
  flow_id: z.string().optional(),
  node_id: z.string().optional(),
  provider_id: z.string().optional(),
  trace_id: z.string().optional(),
  i18n_id: z.string().optional(),
  correlation_id: z.string().optional(),
  attributes: z.record(z.string(), z.string()).optional(),
  deadline: z.object({ unix_millis: z.number() }).optional(),
  attempt: z.number().int().nonnegative(),
  idempotency_key: z.string().optional(),
  impersonation: z.object({ actor_id: z.string(), reason: z.string().optional() }).optional(),
});
export type TenantCtx = z.infer<typeof tenantCtxSchema>;

export interface TenantCtxInput {
  /** The deployment's GREENTIC_ENV. */
  env: string;
  tenant: string;
  team?: string | undefined;
  /** The channel (provider) the message came through, e.g. `slack`, `webchat`. */
  channel?: string | undefined;
  user?: string | undefined;
  sessionId?: string | undefined;
  flowId?: string | undefined;
  nodeId?: string | undefined;
  traceId?: string | undefined;
  correlationId?: string | undefined;
  deadlineMs?: number | undefined;
  attempt?: number | undefined;
  idempotencyKey?: string | undefined;
  i18nId?: string | undefined;
  attributes?: Record<string, string> | undefined;
}

export class TenancyError extends CodedError<'InvalidTenancy'> {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super('InvalidTenancy', `InvalidTenancy: ${field}: ${message}`);
  }
}

function requireIdentifier(field: string, value: string): string {
  if (!IDENTIFIER.test(value)) {
    throw new TenancyError(field, `${JSON.stringify(value)} is not an identifier (${IDENTIFIER_RULE})`);
  }
  return value;
}

export function buildTenantCtx(input: TenantCtxInput): TenantCtx {
  const env = requireIdentifier('env', input.env);
  const tenant = requireIdentifier('tenant', input.tenant);
  const team = requireIdentifier('team', input.team ?? DEFAULT_TEAM);
  const ctx: TenantCtx = { env, tenant, tenant_id: tenant, team, team_id: team, attempt: input.attempt ?? 0 };
  if (input.user !== undefined) {
    ctx.user = input.user;
    ctx.user_id = input.user;
  }
  if (input.sessionId !== undefined) ctx.session_id = input.sessionId;
  if (input.flowId !== undefined) ctx.flow_id = input.flowId;
  if (input.nodeId !== undefined) ctx.node_id = input.nodeId;
  if (input.channel !== undefined) ctx.provider_id = input.channel;
  ctx.trace_id = input.traceId ?? randomHex(16);
  ctx.i18n_id = input.i18nId ?? DEFAULT_I18N;
  if (input.correlationId !== undefined) ctx.correlation_id = input.correlationId;
  if (input.attributes !== undefined && Object.keys(input.attributes).length > 0) ctx.attributes = { ...input.attributes };
  if (input.deadlineMs !== undefined) ctx.deadline = { unix_millis: input.deadlineMs };
  if (input.idempotencyKey !== undefined) ctx.idempotency_key = input.idempotencyKey;
  return ctx;
}

/** The same context narrowed to one flow node (what a component call sees). */
export function withNode(ctx: TenantCtx, flowId: string, nodeId: string, attempt?: number): TenantCtx {
  return { ...ctx, flow_id: flowId, node_id: nodeId, attempt: attempt ?? ctx.attempt };
}

/** `greentic:types-core/core@0.6.0` `tenant-ctx` (10 fields) as jco represents it. */
export interface WitTenantCtxV06 {
  tenantId: string;
  teamId: string | undefined;
  userId: string | undefined;
  envId: string;
  traceId: string;
  correlationId: string;
  deadlineMs: bigint;
  attempt: number;
  idempotencyKey: string | undefined;
  i18nId: string;
}

export function toWitTenantCtxV06(ctx: TenantCtx): WitTenantCtxV06 {
  return {
    tenantId: ctx.tenant_id,
    teamId: ctx.team_id,
    userId: ctx.user_id,
    envId: ctx.env,
    traceId: ctx.trace_id ?? '',
    correlationId: ctx.correlation_id ?? '',
    deadlineMs: BigInt(Math.max(0, Math.trunc(ctx.deadline?.unix_millis ?? 0))),
    attempt: ctx.attempt,
    idempotencyKey: ctx.idempotency_key,
    i18nId: ctx.i18n_id ?? DEFAULT_I18N,
  };
}

/** `greentic:interfaces-types/types@0.1.0` `tenant-ctx` (19 fields) as jco represents it. */
export interface WitTenantCtxV01 {
  env: string;
  tenant: string;
  tenantId: string;
  team: string | undefined;
  teamId: string | undefined;
  user: string | undefined;
  userId: string | undefined;
  traceId: string | undefined;
  i18nId: string | undefined;
  correlationId: string | undefined;
  attributes: [string, string][];
  sessionId: string | undefined;
  flowId: string | undefined;
  nodeId: string | undefined;
  providerId: string | undefined;
  deadlineMs: bigint | undefined;
  attempt: number;
  idempotencyKey: string | undefined;
  impersonation: { actorId: string; reason: string | undefined } | undefined;
}

export function toWitTenantCtxV01(ctx: TenantCtx): WitTenantCtxV01 {
  return {
    env: ctx.env,
    tenant: ctx.tenant,
    tenantId: ctx.tenant_id,
    team: ctx.team,
    teamId: ctx.team_id,
    user: ctx.user,
    userId: ctx.user_id,
    traceId: ctx.trace_id,
    i18nId: ctx.i18n_id,
    correlationId: ctx.correlation_id,
    attributes: Object.entries(ctx.attributes ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    sessionId: ctx.session_id,
    flowId: ctx.flow_id,
    nodeId: ctx.node_id,
    providerId: ctx.provider_id,
    deadlineMs: ctx.deadline === undefined ? undefined : BigInt(Math.trunc(ctx.deadline.unix_millis)),
    attempt: ctx.attempt,
    idempotencyKey: ctx.idempotency_key,
    impersonation: ctx.impersonation === undefined ? undefined : { actorId: ctx.impersonation.actor_id, reason: ctx.impersonation.reason },
  };
}

export function randomHex(bytes: number): string {
  const buf = new Uint8Array(bytes);
  crypto.getRandomValues(buf);
  return Array.from(buf, (b) => b.toString(16).padStart(2, '0')).join('');
}
