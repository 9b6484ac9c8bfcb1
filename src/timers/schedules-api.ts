// Admin API for a tenant's timers, mounted under /admin/v1 (admin-api.ts):
//   PUT /tenants/{tenant}/schedules  body {"timers": [{flow_id, cron, schedule_id?, reply_scope?}]}
//       replaces the tenant's timers (upstream tenant bindings `timers[]`); `[]` removes them all
//   GET /tenants/{tenant}/schedules  the timers with their next fire times (RFC 3339, UTC)
import { Hono } from 'hono';
import { readBoundedBody } from '../edge/bounded-body.js';
import { IDENTIFIER, notAnIdentifier } from '../edge/tenant-ctx.js';
import type { Env } from '../env.js';
import { schedulerObject, type WorkerEnv } from '../objects.js';
import { parseTimers } from './timer-bindings.js';

const MAX_BODY_BYTES = 64 * 1024;

export function schedulesApi(): Hono<{ Bindings: Env }> {
  const api = new Hono<{ Bindings: Env }>();
  api.put('/tenants/:tenant/schedules', async (c) => {
    const tenant = c.req.param('tenant');
    if (!IDENTIFIER.test(tenant)) return c.json({ error: 'invalid_tenant', message: notAnIdentifier('tenant', tenant) }, 400);
    const bytes = await readBoundedBody(c.req.raw, MAX_BODY_BYTES);
    if (bytes === undefined) return c.json({ error: 'payload_too_large', message: `the body exceeds ${MAX_BODY_BYTES} bytes` }, 413);
    let raw: unknown;
    try {
      raw = JSON.parse(new TextDecoder().decode(bytes));
    } catch (err) {
      return c.json({ error: 'invalid_json', message: `the body is not JSON: ${(err as Error).message}` }, 400);
    }
    const timers = parseTimers(raw);
    if (!timers.ok) return c.json({ error: 'invalid_schedules', message: timers.message }, 400);
    const schedules = await schedulerObject(c.env as WorkerEnv, tenant).setSchedules(tenant, timers.timers);
    return c.json({ tenant, schedules });
  });
  api.get('/tenants/:tenant/schedules', async (c) => {
    const tenant = c.req.param('tenant');
    if (!IDENTIFIER.test(tenant)) return c.json({ error: 'invalid_tenant', message: notAnIdentifier('tenant', tenant) }, 400);
    return c.json({ tenant, schedules: await schedulerObject(c.env as WorkerEnv, tenant).schedules() });
  });
  return api;
}
