// Admin API for a tenant's timers, mounted under /admin/v1 (admin-api.ts):
//   PUT /tenants/{tenant}/schedules  body {"timers": [{flow_id, cron, schedule_id?, reply_scope?}]}
//       replaces the tenant's timers (upstream tenant bindings `timers[]`); `[]` removes them all
//   GET /tenants/{tenant}/schedules  the timers with their next fire times (RFC 3339, UTC)
import { Hono } from 'hono';
import { z } from 'zod';
import { readBoundedBody } from '../edge/bounded-body.js';
import { IDENTIFIER, notAnIdentifier } from '../edge/tenant-ctx.js';
import type { Env } from '../env.js';
import { eventReplyScopeSchema } from '../events/envelope.js';
import { schedulerObject, type WorkerEnv } from '../objects.js';
import { CronError, parseCron } from './cron.js';
import type { TimerBinding } from './timer-types.js';

/** Timers a tenant may have: each is a row of its scheduler and a candidate of every alarm. */
export const MAX_TIMERS = 100;
const MAX_BODY_BYTES = 64 * 1024;

const identifier = z.string().regex(IDENTIFIER, 'must be 1-128 letters, digits, ".", "_" or "-"');
const timersBody = z.strictObject({
  timers: z
    .array(
      z.strictObject({
        flow_id: identifier,
        cron: z.string().min(1).max(200),
        schedule_id: identifier.optional(),
        reply_scope: eventReplyScopeSchema.optional(),
      }),
    )
    .max(MAX_TIMERS),
});

function pointer(path: readonly PropertyKey[]): string {
  return `/${path.map(String).join('/')}`;
}

/** The timers of a valid body, or what is wrong and where (JSON pointer). */
export function parseTimers(raw: unknown): { ok: true; timers: TimerBinding[] } | { ok: false; message: string } {
  const parsed = timersBody.safeParse(raw);
  if (!parsed.success) return { ok: false, message: parsed.error.issues.map((i) => `${pointer(i.path)}: ${i.message}`).join('; ') };
  const timers: TimerBinding[] = [];
  const seen = new Set<string>();
  for (const [i, t] of parsed.data.timers.entries()) {
    try {
      parseCron(t.cron);
    } catch (err) {
      if (err instanceof CronError) return { ok: false, message: `/timers/${i}/cron: ${err.message}` };
      throw err;
    }
    // An unnamed timer is named after its flow (the references do not say what upstream uses).
    const scheduleId = t.schedule_id ?? t.flow_id;
    if (seen.has(scheduleId))
      return { ok: false, message: `/timers/${i}/schedule_id: "${scheduleId}" is used by an earlier timer; give each its own schedule_id` };
    seen.add(scheduleId);
    timers.push({
      flow_id: t.flow_id,
      cron: t.cron,
      schedule_id: scheduleId,
      ...(t.reply_scope === undefined ? {} : { reply_scope: t.reply_scope }),
    });
  }
  return { ok: true, timers };
}

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
