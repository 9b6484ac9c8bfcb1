// A tenant's timers as upstream's tenant bindings declare them (`timers: [{flow_id, cron,
// schedule_id?}]`), checked before anything is stored: the admin API and `greentic-pack publish`
// (a bundle's `tenants.<tenant>.timers`) read them with this.
import { z } from 'zod';
import { IDENTIFIER } from '../edge/tenant-ctx.js';
import { eventReplyScopeSchema } from '../events/envelope.js';
import { CronError, parseCron } from './cron.js';
import type { TimerBinding } from './timer-types.js';

/** Timers a tenant may have: each is a row of its scheduler and a candidate of every alarm. */
export const MAX_TIMERS = 100;

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
export function parseTimers(raw: unknown, where = ''): { ok: true; timers: TimerBinding[] } | { ok: false; message: string } {
  const parsed = timersBody.safeParse(raw);
  if (!parsed.success) return { ok: false, message: parsed.error.issues.map((i) => `${where}${pointer(i.path)}: ${i.message}`).join('; ') };
  const timers: TimerBinding[] = [];
  const seen = new Set<string>();
  for (const [i, t] of parsed.data.timers.entries()) {
    try {
      parseCron(t.cron);
    } catch (err) {
      if (err instanceof CronError) return { ok: false, message: `${where}/timers/${i}/cron: ${err.message}` };
      throw err;
    }
    // An unnamed timer is named after its flow (the references do not say what upstream uses).
    const scheduleId = t.schedule_id ?? t.flow_id;
    if (seen.has(scheduleId))
      return {
        ok: false,
        message: `${where}/timers/${i}/schedule_id: "${scheduleId}" is used by an earlier timer; give each its own schedule_id`,
      };
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
