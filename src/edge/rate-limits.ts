// Rate limits on the public entry points (docs/security-limits.md): token minting per tenant and
// client address, conversation starts per tenant, WebChat posts per conversation, webhook calls
// per tenant, admin authentication failures per client address, and replies sent to providers
// per tenant. `RATE_LIMITS` holds the
// rules ("off", or JSON defaults with per-tenant overrides); each limited request costs one call
// to a RateLimiter object, and a limit may be spread over several objects (`shards`) so one hot
// tenant is not one object's traffic.
import { z } from 'zod';
import { errorMessage } from '../core/coded-error.js';
import { rateLimiter, type WorkerEnv } from '../objects.js';
import type { RateRule, RateVerdict } from './rate-limiter.js';
import { logEvent } from './telemetry.js';

export const LIMIT_NAMES = ['token', 'conversation', 'webchat_post', 'webhook', 'admin_auth', 'egress'] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

/** A rule as configured: `limit` per `period` seconds, spread over `shards` objects. */
export interface LimitRule extends RateRule {
  shards: number;
}

/** Built-in rules, used for every limit the configuration does not name. */
export const DEFAULT_LIMITS: Readonly<Record<LimitName, LimitRule>> = Object.freeze({
  /** Per tenant and client address: a page load mints one; this leaves room for an office behind one NAT. */
  token: { limit: 60, period: 60, shards: 1 },
  /** Per tenant: each start (or resume) of a Direct Line conversation. */
  conversation: { limit: 600, period: 60, shards: 1 },
  /** Per conversation: a person types far slower; typing indicators count too. */
  webchat_post: { limit: 60, period: 60, shards: 1 },
  /** Per tenant: every call of `/v1/webhook/{tenant}/…`, authenticated or not. */
  webhook: { limit: 3000, period: 60, shards: 1 },
  /** Per client address: failed admin authentications; past it even the right token waits. */
  admin_auth: { limit: 10, period: 300, shards: 1 },
  /** Per tenant: provider sends (Slack, Teams, Telegram, WhatsApp); upstream's 10/s with bursts of 20. */
  egress: { limit: 20, period: 2, shards: 1 },
});

const ruleSchema = z.strictObject({
  limit: z.int().min(1).max(1_000_000),
  period: z.int().min(1).max(86_400),
  shards: z.int().min(1).max(64).optional(),
});
const ruleOrOff = z.union([z.literal('off'), ruleSchema]);
const tenantLimitsSchema = z.strictObject({
  token: ruleOrOff.optional(),
  conversation: ruleOrOff.optional(),
  webchat_post: ruleOrOff.optional(),
  webhook: ruleOrOff.optional(),
  egress: ruleOrOff.optional(),
});
const configSchema = z.strictObject({
  defaults: tenantLimitsSchema.extend({ admin_auth: ruleOrOff.optional() }).optional(),
  tenants: z.record(z.string(), z.union([z.literal('off'), tenantLimitsSchema])).optional(),
});
export type RateLimitsConfig = z.infer<typeof configSchema>;

type Parsed = { off: true } | { off: false; config: RateLimitsConfig };

/** `RATE_LIMITS`: unset means the built-in rules, "off" none, else JSON `{defaults?, tenants?}`. */
export function parseRateLimits(raw: string | undefined): Parsed | { error: string } {
  if (raw === undefined || raw.trim() === '') return { off: false, config: {} };
  if (raw.trim() === 'off') return { off: true };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { error: 'RATE_LIMITS is neither "off" nor JSON' };
  }
  const parsed = configSchema.safeParse(json);
  if (!parsed.success) return { error: `RATE_LIMITS: ${z.prettifyError(parsed.error)}` };
  return { off: false, config: parsed.data };
}

let cached: { raw: string | undefined; parsed: Parsed } | undefined;

/** The configuration in force; an invalid one is reported once and the built-in rules apply, never none. */
function configOf(env: Pick<WorkerEnv, 'RATE_LIMITS'>): Parsed {
  if (cached !== undefined && cached.raw === env.RATE_LIMITS) return cached.parsed;
  const result = parseRateLimits(env.RATE_LIMITS);
  let parsed: Parsed;
  if ('error' in result) {
    logEvent('error', 'config.invalid', { name: 'RATE_LIMITS', reason: result.error, applied: 'built-in limits' });
    parsed = { off: false, config: {} };
  } else {
    parsed = result;
  }
  cached = { raw: env.RATE_LIMITS, parsed };
  return parsed;
}

/** The rule of `name` for `tenant` (none for admin_auth), or `undefined` when it is off. */
export function ruleFor(env: Pick<WorkerEnv, 'RATE_LIMITS'>, name: LimitName, tenant?: string): LimitRule | undefined {
  const parsed = configOf(env);
  if (parsed.off) return undefined;
  const tenantRules = tenant === undefined ? undefined : parsed.config.tenants?.[tenant];
  if (tenantRules === 'off' && name !== 'admin_auth') return undefined;
  const override =
    (tenantRules !== undefined && tenantRules !== 'off' && name !== 'admin_auth' ? tenantRules[name] : undefined) ??
    parsed.config.defaults?.[name];
  if (override === 'off') return undefined;
  if (override === undefined) return DEFAULT_LIMITS[name];
  return { limit: override.limit, period: override.period, shards: override.shards ?? 1 };
}

export type LimitOutcome =
  | { allowed: true }
  | { allowed: false; retryAfter: number; rule: LimitRule }
  /** The limiter could not be asked (its object failed); the caller decides whether that blocks. */
  | { allowed: 'unknown' };

export interface LimitKey {
  tenant?: string;
  /** What the limit counts per, besides the tenant (a client address, a conversation id). */
  scope?: string[];
}

/** The object (and the share of the rule it enforces) for one request under `rule`. */
function shardOf(env: WorkerEnv, name: LimitName, key: LimitKey, rule: LimitRule) {
  const shards = Math.min(rule.shards, rule.limit);
  // Any shard will do: requests spread evenly, so each enforces its share of the rule.
  const shard = shards > 1 ? Math.floor(Math.random() * shards) : 0;
  const objectName = JSON.stringify([env.GREENTIC_ENV, name, key.tenant ?? null, ...(key.scope ?? []), shard]);
  return { stub: rateLimiter(env, objectName), share: { limit: Math.ceil(rule.limit / shards), period: rule.period } };
}

async function ask(
  env: WorkerEnv,
  name: LimitName,
  key: LimitKey,
  call: (stub: ReturnType<typeof rateLimiter>, share: RateRule) => Promise<RateVerdict>,
): Promise<LimitOutcome> {
  const rule = ruleFor(env, name, key.tenant);
  if (rule === undefined) return { allowed: true };
  const { stub, share } = shardOf(env, name, key, rule);
  try {
    const verdict = await call(stub, share);
    return verdict.allowed ? { allowed: true } : { allowed: false, retryAfter: verdict.retryAfter, rule };
  } catch (err) {
    logEvent('warn', 'rate_limit.unavailable', { limit: name, 'greentic.tenant.id': key.tenant, error: errorMessage(err) });
    return { allowed: 'unknown' };
  }
}

/** Counts one request against `name`; one RateLimiter call, none when the limit is off. */
export function consume(env: WorkerEnv, name: LimitName, key: LimitKey): Promise<LimitOutcome> {
  return ask(env, name, key, (stub, share) => stub.hit(share));
}

/** Whether `name` would refuse a request now, without counting one. */
export function peek(env: WorkerEnv, name: LimitName, key: LimitKey): Promise<LimitOutcome> {
  return ask(env, name, key, (stub, share) => stub.check(share));
}

const WHAT: Record<LimitName, string> = {
  token: 'tokens minted from this address',
  conversation: 'conversations started',
  webchat_post: 'activities posted to this conversation',
  webhook: 'webhook calls',
  admin_auth: 'failed admin authentications from this address',
  egress: 'messages sent to providers',
};

/** The error text of a refusal: which limit, its rule, and when to retry. */
export function limitMessage(name: LimitName, outcome: { retryAfter: number; rule: LimitRule }, tenant?: string): string {
  const whose = tenant === undefined ? '' : ` for tenant "${tenant}"`;
  return `too many ${WHAT[name]}${whose}: the "${name}" limit allows ${outcome.rule.limit} per ${outcome.rule.period} s; retry after ${outcome.retryAfter} s`;
}

/** 429 with Retry-After and `{error: "rate_limited", limit, message, retry_after}`. */
export function rateLimitedResponse(name: LimitName, outcome: { retryAfter: number; rule: LimitRule }, tenant?: string): Response {
  return Response.json(
    { error: 'rate_limited', limit: name, message: limitMessage(name, outcome, tenant), retry_after: outcome.retryAfter },
    { status: 429, headers: { 'Retry-After': String(outcome.retryAfter) } },
  );
}

/**
 * The client address limits count per: Cloudflare's `CF-Connecting-IP` (set by the edge, not by
 * the client). An IPv6 address counts by its /64, since one subscriber usually holds the whole
 * /64. Without the header (local development) every request shares one address.
 */
export function clientAddress(request: Request): string {
  const ip = request.headers.get('cf-connecting-ip')?.trim();
  if (ip === undefined || ip === '') return 'unknown';
  if (!ip.includes(':')) return ip;
  const groups = expandIpv6(ip);
  return groups === undefined ? ip : `${groups.slice(0, 4).join(':')}::/64`;
}

function expandIpv6(ip: string): string[] | undefined {
  const [head, tail, more] = ip.toLowerCase().split('::');
  if (more !== undefined) return undefined;
  const left = head === '' || head === undefined ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return undefined;
  const groups = [...left, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...right];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return groups.map((g) => g.replace(/^0+(?=.)/, ''));
}
