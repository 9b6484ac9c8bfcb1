// Generic webhook ingress: `ANY /v1/webhook/{tenant}/{flow}` runs an `http` or `event` flow
// synchronously and turns its output into the HTTP response, with the request and response
// mappings of the upstream runner (runner reference §2.1). The run happens in the tenant's
// `webhook` channel object, which checks the flow's own authentication when it declares one
// (session/webhook-auth.ts, our extension) and remembers `Idempotency-Key`s so a replay gets the
// first response without running the flow again. Calls count against the tenant's `webhook` rate
// limit before anything else.
import type { Context } from 'hono';
import { readBoundedBody } from '../edge/bounded-body.js';
import { consume, rateLimitedResponse } from '../edge/rate-limits.js';
import { logEvent } from '../edge/telemetry.js';
import { IDENTIFIER, notAnIdentifier } from '../edge/tenant-ctx.js';
import type { JsonObject, JsonValue } from '../flow/model.js';
import { type WorkerEnv, webhookObject } from '../objects.js';
import type { WebhookRunResult } from '../session/channel-session.js';
import { checkWebhookResponse, FLOW_RESPONSE_SECURITY_HEADERS, webhookHttpResponse } from '../session/webhook-response.js';

/** Request bodies above this are refused with 413 before they are read into memory. */
export const WEBHOOK_MAX_BODY_BYTES = 1024 * 1024;

/** Upstream's body shape: null when empty, `{text}` when valid UTF-8, else `{base16}`. */
export function webhookBody(bytes: Uint8Array): JsonValue {
  if (bytes.byteLength === 0) return null;
  try {
    return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes) };
  } catch {
    return { base16: Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('') };
  }
}

/** The flow's input: `{method, path, query, headers (lowercase names), body}`. */
export function webhookInput(request: Request, body: Uint8Array): JsonObject {
  const url = new URL(request.url);
  const query: JsonObject = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const headers: JsonObject = {};
  for (const [k, v] of request.headers) headers[k.toLowerCase()] = v;
  return { method: request.method, path: url.pathname, query, headers, body: webhookBody(body) };
}

/** The HTTP response for a flow output (see session/webhook-response.ts); an output that cannot be sent is a 502. */
export function webhookResponse(output: JsonValue, extraHeaders: readonly [string, string][] = []): Response {
  const checked = checkWebhookResponse(output);
  if (!checked.ok) return problem(502, 'InvalidFlowOutput', `the flow's output is not a valid HTTP response: ${checked.reason}`);
  // The count only: a flow may set header names from the request, and logs never hold request data.
  if (checked.plan.dropped.length > 0) logEvent('warn', 'webhook.headers_dropped', { dropped: checked.plan.dropped.length });
  return webhookHttpResponse(checked.plan, extraHeaders);
}

function withSecurityHeaders(res: Response): Response {
  for (const [name, value] of FLOW_RESPONSE_SECURITY_HEADERS) res.headers.set(name, value);
  return res;
}

function problem(status: number, error: string, message: string): Response {
  return Response.json({ error, message }, { status, headers: FLOW_RESPONSE_SECURITY_HEADERS as [string, string][] });
}

const STATUS_OF: Record<string, number> = {
  NoActivePack: 404,
  FlowNotFound: 404,
  AmbiguousEntryFlow: 409,
  WrongFlowKind: 409,
  FlowFailed: 500,
  TurnBudgetExceeded: 500,
  Unauthorized: 401,
  WebhookAuthUnavailable: 503,
  InvalidWebhookAuth: 500,
  InvalidFlowOutput: 502,
};

export async function handleWebhook(c: Context<{ Bindings: WorkerEnv }>): Promise<Response> {
  const tenant = c.req.param('tenant') ?? '';
  const flowId = c.req.param('flow') ?? '';
  if (!IDENTIFIER.test(tenant)) return problem(400, 'invalid_tenant', notAnIdentifier('tenant', tenant));
  if (!IDENTIFIER.test(flowId)) return problem(400, 'invalid_flow', notAnIdentifier('flow', flowId));
  // Counted before the body is read: a flood is refused for the price of one counter call.
  const limit = await consume(c.env, 'webhook', { tenant });
  if (limit.allowed === false) return withSecurityHeaders(rateLimitedResponse('webhook', limit, tenant));
  const body = await readBoundedBody(c.req.raw, WEBHOOK_MAX_BODY_BYTES);
  if (body === undefined) return problem(413, 'payload_too_large', `request body exceeds ${WEBHOOK_MAX_BODY_BYTES} bytes`);
  const idempotencyKey = c.req.header('idempotency-key');
  if (idempotencyKey !== undefined && (idempotencyKey.length === 0 || idempotencyKey.length > 256)) {
    return problem(400, 'invalid_idempotency_key', 'header Idempotency-Key must be 1 to 256 characters');
  }
  const env = c.env;
  const stub = webhookObject(env, tenant, flowId);
  const result = (await stub.runWebhook({
    tenant,
    flowId,
    input: webhookInput(c.req.raw, body),
    rawBody: body,
    ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
  })) as WebhookRunResult;
  const replayed = result.replayed ? { 'idempotent-replayed': 'true' } : undefined;
  if (result.status === 'error') {
    const res = problem(STATUS_OF[result.code] ?? 500, result.code, result.message);
    if (replayed !== undefined) res.headers.set('idempotent-replayed', 'true');
    if (result.challenge !== undefined) res.headers.set('www-authenticate', result.challenge);
    return res;
  }
  if (result.status === 'waiting') {
    return Response.json(
      { status: 'pending', reason: result.reason, output: result.output },
      { status: 202, ...(replayed === undefined ? {} : { headers: replayed }) },
    );
  }
  return webhookResponse(result.output, replayed === undefined ? [] : [['idempotent-replayed', 'true']]);
}
