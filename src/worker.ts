import { Hono } from 'hono';
import { adminApi } from './admin/admin-api.js';
import type { AuthFailureLimit } from './admin/auth.js';
import { readiness } from './admin/health.js';
import { packUploadPipeline } from './admin/pack-ingest.js';
import type { PackUploadPipeline } from './admin/upload.js';
import { deadLetter, handleDeadLetterBatch } from './bus/dead-letters.js';
import { handleEgressBatch } from './bus/egress.js';
import { handleIngressBatch } from './bus/ingress.js';
import { replySender } from './channels/channel.js';
import { messagingIngress } from './channels/ingress-route.js';
import { channels, egressSenders } from './channels/senders.js';
import { webchatApi } from './channels/webchat/index.js';
import { clientAddress, consume, type LimitOutcome, peek, rateLimitedResponse } from './edge/rate-limits.js';
import { errorFacts, logEvent } from './edge/telemetry.js';
import { handleEventsBatch } from './events/events-bus.js';
import { handleEventsWebhook } from './events/ingress.js';
import { eventsObject, previousShardOf, type WorkerEnv } from './objects.js';
import { ChannelSession as ChannelSessionObject } from './session/channel-session.js';
import { productionDependencies } from './session/dependencies.js';
import { handleWebhook } from './webhook/webhook.js';

export { WebchatConversation } from './channels/webchat/index.js';
export { ComponentHost } from './component/edge/host-entrypoint.js';
export { ComponentStateObject } from './component/edge/state-object.js';
export { RateLimiter } from './edge/rate-limiter.js';
export { EventsObject } from './events/events-object.js';
export { SchedulerObject } from './timers/scheduler-object.js';

const uploadPipeline: PackUploadPipeline = packUploadPipeline;

/** The deployed channel object: the session machinery with every provider's sender wired in. */
export class ChannelSession extends ChannelSessionObject {
  constructor(ctx: DurableObjectState, env: WorkerEnv) {
    super(
      ctx,
      env,
      productionDependencies(
        replySender(egressSenders, env),
        (letter, reason, attempts) =>
          letter.source === 'ingress'
            ? deadLetter(env, 'ingress', letter.message, reason, attempts)
            : deadLetter(env, 'egress', letter.message, reason, attempts),
        previousShardOf(env),
      ),
    );
  }
}

/**
 * Failed admin authentications per client address (RATE_LIMITS `admin_auth`). When the limiter
 * cannot be asked, admin calls wait (503) rather than let guesses through unlimited.
 */
function adminRefusal(outcome: LimitOutcome): Response | undefined {
  if (outcome.allowed === true) return undefined;
  if (outcome.allowed === 'unknown')
    return Response.json(
      { error: 'rate_limiter_unavailable', message: 'admin authentication is limited and the limiter did not answer; retry shortly' },
      { status: 503, headers: { 'Retry-After': '1' } },
    );
  return rateLimitedResponse('admin_auth', outcome);
}

// The admin API is typed with the bindings every layer reads; this app's are the full WorkerEnv.
const adminAuthLimit: AuthFailureLimit = {
  failed: async (c) => adminRefusal(await consume(c.env as WorkerEnv, 'admin_auth', { scope: [clientAddress(c.req.raw)] })),
  blocked: async (c) => adminRefusal(await peek(c.env as WorkerEnv, 'admin_auth', { scope: [clientAddress(c.req.raw)] })),
};

export const app = new Hono<{ Bindings: WorkerEnv }>();

app.get('/healthz', (c) => c.json({ status: 'ok', env: c.env.GREENTIC_ENV }));

app.get('/readyz', async (c) => {
  const r = await readiness(c.env);
  return c.json({ status: r.ready ? 'ready' : 'not_ready', ...r }, r.ready ? 200 : 503);
});

app.route(
  '/admin/v1',
  adminApi(() => uploadPipeline, adminAuthLimit),
);
app.route('/v1/messaging/webchat/:tenant', webchatApi());
app.route('/v1/messaging/ingress', messagingIngress(channels));

app.all('/v1/webhook/:tenant/:flow', handleWebhook);
app.post('/v1/events/ingress/webhook/:tenant/:team?', handleEventsWebhook);

app.notFound((c) => c.json({ error: 'not_found', message: `no route for ${c.req.method} ${new URL(c.req.url).pathname}` }, 404));

// Hono's default handler prints the whole exception, whose message may quote the request.
app.onError((err, c) => {
  logEvent('error', 'http.unhandled', { 'http.request.method': c.req.method, 'http.route': c.req.routePath, ...errorFacts(err) });
  return c.json({ error: 'internal_error', message: 'the runner failed to handle the request; the logs have its error code' }, 500);
});

export default {
  fetch: app.fetch,
  async queue(batch: MessageBatch<unknown>, env: WorkerEnv): Promise<void> {
    if (batch.queue.startsWith('greentic-ingress')) return handleIngressBatch(batch, env);
    if (batch.queue.startsWith('greentic-egress')) return handleEgressBatch(batch, env, egressSenders);
    if (batch.queue.startsWith('greentic-dlq')) return handleDeadLetterBatch(batch, env);
    if (batch.queue.startsWith('greentic-events')) return handleEventsBatch(batch, (tenant, team) => eventsObject(env, tenant, team));
    logEvent('error', 'queue.unknown', { queue: batch.queue, messages: batch.messages.length });
    batch.retryAll();
  },
} satisfies ExportedHandler<WorkerEnv>;
