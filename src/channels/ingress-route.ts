// `/v1/messaging/ingress/{provider}/{tenant}/{team?}`: the webhook of every registered provider.
// The tenant and team must be identifiers and the provider one that takes webhooks; everything
// else (verification, parsing, the answer the provider expects) is the provider's own ingress.
import { Hono } from 'hono';
import { IDENTIFIER, notAnIdentifier } from '../edge/tenant-ctx.js';
import type { WorkerEnv } from '../objects.js';
import type { Channel, IngressHandler } from './channel.js';
import { refusal } from './ingress-request.js';

export function messagingIngress(channels: readonly Channel[]): Hono<{ Bindings: WorkerEnv }> {
  const handlers = new Map<string, IngressHandler>();
  for (const c of channels) if (c.ingress !== undefined) handlers.set(c.name, c.ingress);
  const api = new Hono<{ Bindings: WorkerEnv }>();
  api.all('/:provider/:tenant/:team?', async (c) => {
    const provider = c.req.param('provider');
    const handler = handlers.get(provider);
    if (handler === undefined) {
      return refusal(404, 'UnknownProvider', `no webhook for provider "${provider}"; known: ${[...handlers.keys()].join(', ')}`);
    }
    const tenant = c.req.param('tenant');
    if (!IDENTIFIER.test(tenant)) return refusal(400, 'InvalidTenant', notAnIdentifier('tenant', tenant));
    const team = c.req.param('team');
    if (team !== undefined && !IDENTIFIER.test(team)) return refusal(400, 'InvalidTeam', notAnIdentifier('team', team));
    return handler({
      request: c.req.raw,
      env: c.env,
      tenant,
      team,
      receivedAt: Date.now(),
      waitUntil: (promise) => c.executionCtx.waitUntil(promise),
    });
  });
  return api;
}
