// Events ingress: `POST /v1/events/ingress/webhook/{tenant}/{team?}` mints upstream's webhook
// event envelope (`webhook.received` from `events.webhook`, the JSON body as payload) and has the
// tenant's events object run the flows it routes to; the answer lists each run's outcome.
// Authentication is opt-in per tenant: once the tenant secret `events_webhook_hmac` is set, a call
// must carry `X-Greentic-Signature: sha256=<hex HMAC-SHA256 of the body>` under it.
import type { Context } from 'hono';
import { readBoundedBody } from '../edge/bounded-body.js';
import { consume, rateLimitedResponse } from '../edge/rate-limits.js';
import { logEvent } from '../edge/telemetry.js';
import { DEFAULT_TEAM, IDENTIFIER, notAnIdentifier } from '../edge/tenant-ctx.js';
import type { JsonValue } from '../flow/model.js';
import { eventsObject, type WorkerEnv } from '../objects.js';
import { authenticateWebhook, readTenantSecret } from '../session/webhook-auth.js';
import { webhookEvent } from './envelope.js';

/** The tenant secret that turns signature checks on for the tenant's events ingress. */
export const EVENTS_WEBHOOK_SECRET = 'events_webhook_hmac';
export const EVENTS_MAX_BODY_BYTES = 1024 * 1024;

function problem(status: number, error: string, message: string): Response {
  return Response.json({ error, message }, { status });
}

const NOT_ROUTED_STATUS: Record<string, number> = { NoActivePack: 404, NoEntryFlow: 404, FlowNotFound: 404, AmbiguousEntryFlow: 409 };

function parseBody(bytes: Uint8Array): { ok: true; value: JsonValue } | { ok: false; message: string } {
  if (bytes.byteLength === 0) return { ok: true, value: null };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return { ok: false, message: 'the request body is not UTF-8 text' };
  }
  try {
    return { ok: true, value: JSON.parse(text) as JsonValue };
  } catch (err) {
    return { ok: false, message: `the request body is not JSON: ${(err as Error).message}` };
  }
}

export async function handleEventsWebhook(c: Context<{ Bindings: WorkerEnv }>): Promise<Response> {
  const tenant = c.req.param('tenant') ?? '';
  const team = c.req.param('team');
  if (!IDENTIFIER.test(tenant)) return problem(400, 'invalid_tenant', notAnIdentifier('tenant', tenant));
  if (team !== undefined && !IDENTIFIER.test(team)) return problem(400, 'invalid_team', notAnIdentifier('team', team));
  const limit = await consume(c.env, 'webhook', { tenant });
  if (limit.allowed === false) return rateLimitedResponse('webhook', limit, tenant);
  const bytes = await readBoundedBody(c.req.raw, EVENTS_MAX_BODY_BYTES);
  if (bytes === undefined) return problem(413, 'payload_too_large', `request body exceeds ${EVENTS_MAX_BODY_BYTES} bytes`);
  const eventId = c.req.header('idempotency-key') ?? crypto.randomUUID();
  if (eventId.length === 0 || eventId.length > 256)
    return problem(400, 'invalid_idempotency_key', 'header Idempotency-Key must be 1 to 256 characters');

  const headers: Record<string, string> = {};
  for (const [k, v] of c.req.raw.headers) headers[k.toLowerCase()] = v;
  const auth = await authenticateWebhook(
    { scheme: 'hmac-sha256', secret: EVENTS_WEBHOOK_SECRET },
    { headers, body: bytes },
    (key) => readTenantSecret(c.env, tenant, key),
    Date.now(),
  );
  // Without the tenant's secret the check is off (opt-in); with it, a call that fails is refused.
  if (!auth.ok && auth.code !== 'WebhookAuthUnavailable') {
    logEvent('info', 'events.auth_failed', { 'greentic.tenant.id': tenant, code: auth.code });
    return problem(401, auth.code, auth.message);
  }

  const body = parseBody(bytes);
  if (!body.ok) return problem(400, 'invalid_body', body.message);
  const teamName = team ?? DEFAULT_TEAM;
  const event = webhookEvent(eventId, tenant, team, body.value, new Date());
  const result = await eventsObject(c.env, tenant, teamName).dispatch({ tenant, team: teamName, event, hop: 0 });
  if (result.status === 'not_routed')
    return problem(NOT_ROUTED_STATUS[result.code ?? ''] ?? 404, result.code ?? 'NotRouted', result.message ?? 'no flow takes this event');
  return Response.json({
    event_id: result.event_id,
    event_type: result.event_type,
    runs: result.runs.map((r) => ({
      pack_id: r.pack_id,
      flow_id: r.flow_id,
      status: r.status,
      output: r.output,
      ...(r.error_code === undefined ? {} : { error_code: r.error_code }),
      emitted: r.emitted.length,
      ...(r.replayed === true ? { replayed: true } : {}),
    })),
  });
}
