// One Durable Object per `{env}:{tenant}` holds the tenant's timers (upstream tenant bindings
// `timers: [{flow_id, cron, schedule_id?}]`) and fires them from its alarm: unlike upstream, where
// every replica fires every schedule, a fire happens in one place. Each fire runs the named flow
// in the tenant's events object with upstream's payload `{now, schedule_id}` under the activity id
// `{schedule_id}@{rfc3339}`, which that object runs once: an alarm that fires twice, or fires again
// after the object restarted mid-fire, finds the run already recorded.
//
// Fires missed while nothing ran (an outage, a deploy) are not replayed one by one: the latest
// missed due time runs once, then the schedule continues from now.
import { DurableObject } from 'cloudflare:workers';
import { errorMessage } from '../core/coded-error.js';
import { logEvent } from '../edge/telemetry.js';
import type { EventReplyScope } from '../events/envelope.js';
import type { ScheduledRunRequest, ScheduledRunResult } from '../events/events-object.js';
import { eventsObject, type WorkerEnv } from '../objects.js';
import { type CronSchedule, latestFire, nextFire, parseCron } from './cron.js';
import type { FireRecord, ScheduleView, TimerBinding } from './timer-types.js';

/** Where a fire runs (the tenant's events object); tests may pass their own. */
export type FireRunner = (req: ScheduledRunRequest) => Promise<ScheduledRunResult>;

/** A fire's time as the activity id spells it: RFC 3339 UTC with whole seconds. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const SCHEMA = `CREATE TABLE IF NOT EXISTS timers (
  schedule_id TEXT PRIMARY KEY,
  flow_id TEXT NOT NULL,
  cron TEXT NOT NULL,
  reply_scope_json TEXT,
  next_fire_at INTEGER
)`;

interface TimerRow {
  schedule_id: string;
  flow_id: string;
  cron: string;
  reply_scope_json: string | null;
  next_fire_at: number | null;
  [key: string]: SqlStorageValue;
}

export class SchedulerObject extends DurableObject<WorkerEnv> {
  constructor(
    ctx: DurableObjectState,
    env: WorkerEnv,
    private readonly runFire?: FireRunner,
  ) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      ctx.storage.sql.exec(SCHEMA);
      ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    });
  }

  private get sql(): SqlStorage {
    return this.ctx.storage.sql;
  }

  private rows(): TimerRow[] {
    return this.sql.exec<TimerRow>('SELECT * FROM timers ORDER BY schedule_id').toArray();
  }

  /** Replaces the tenant's timers; each keeps its next fire time if its flow and cron did not change. */
  async setSchedules(tenant: string, timers: TimerBinding[], nowMs: number = Date.now()): Promise<ScheduleView[]> {
    const parsed = timers.map((t) => ({ timer: t, schedule: parseCron(t.cron) }));
    const before = new Map(this.rows().map((r) => [r.schedule_id, r]));
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("INSERT INTO meta (key, value) VALUES ('tenant', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", tenant);
      this.sql.exec('DELETE FROM timers');
      for (const { timer, schedule } of parsed) {
        const old = before.get(timer.schedule_id);
        const keep = old !== undefined && old.flow_id === timer.flow_id && old.cron === timer.cron && old.next_fire_at !== null;
        this.sql.exec(
          'INSERT INTO timers (schedule_id, flow_id, cron, reply_scope_json, next_fire_at) VALUES (?, ?, ?, ?, ?)',
          timer.schedule_id,
          timer.flow_id,
          timer.cron,
          timer.reply_scope === undefined ? null : JSON.stringify(timer.reply_scope),
          keep ? old.next_fire_at : (nextFire(schedule, nowMs) ?? null),
        );
      }
    });
    await this.armAlarm();
    return this.schedules();
  }

  /** The timers with their next fire times. */
  async schedules(): Promise<ScheduleView[]> {
    return this.rows().map((r) => ({
      schedule_id: r.schedule_id,
      flow_id: r.flow_id,
      cron: r.cron,
      cron_expression: parseCron(r.cron).expression,
      next_fire_at: r.next_fire_at === null ? null : rfc3339(r.next_fire_at),
      ...(r.reply_scope_json === null ? {} : { reply_scope: JSON.parse(r.reply_scope_json) as EventReplyScope }),
    }));
  }

  private async armAlarm(): Promise<void> {
    const next = this.sql.exec<{ t: number | null }>('SELECT MIN(next_fire_at) AS t FROM timers').one().t;
    if (next === null) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(next);
  }

  override async alarm(): Promise<void> {
    await this.fireDue(Date.now());
  }

  /**
   * Fires every timer due at `nowMs` (the alarm passes the clock; tests pass a fake one). A timer
   * whose run fails for a reason a retry may fix (storage) keeps its due time and is tried again.
   */
  async fireDue(nowMs: number): Promise<FireRecord[]> {
    const tenant = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'tenant'").toArray()[0]?.value;
    if (tenant === undefined) return [];
    const fired: FireRecord[] = [];
    for (const row of this.rows()) {
      if (row.next_fire_at === null || row.next_fire_at > nowMs) continue;
      const schedule: CronSchedule = parseCron(row.cron);
      // Missed fires collapse into the latest one due.
      const due = latestFire(schedule, row.next_fire_at - 1000, nowMs) ?? row.next_fire_at;
      const activityId = `${row.schedule_id}@${rfc3339(due)}`;
      const request: ScheduledRunRequest = {
        tenant,
        flowId: row.flow_id,
        activityId,
        input: { now: rfc3339(due), schedule_id: row.schedule_id },
        ...(row.reply_scope_json === null ? {} : { replyScope: JSON.parse(row.reply_scope_json) as EventReplyScope }),
      };
      let record: FireRecord;
      try {
        const result = await this.run(request);
        record = { schedule_id: row.schedule_id, activity_id: activityId, status: result.status };
        if (result.status === 'not_routed') {
          record.code = result.code;
          logEvent('error', 'timer.not_routed', {
            'greentic.tenant.id': tenant,
            schedule_id: row.schedule_id,
            code: result.code,
            reason: result.message,
          });
        }
      } catch (err) {
        logEvent('warn', 'timer.fire_failed', {
          'greentic.tenant.id': tenant,
          schedule_id: row.schedule_id,
          activity_id: activityId,
          error: errorMessage(err),
        });
        fired.push({ schedule_id: row.schedule_id, activity_id: activityId, status: 'failed' });
        continue;
      }
      fired.push(record);
      this.sql.exec(
        'UPDATE timers SET next_fire_at = ? WHERE schedule_id = ?',
        nextFire(schedule, Math.max(due, nowMs)) ?? null,
        row.schedule_id,
      );
    }
    const failed = fired.some((f) => f.status === 'failed');
    if (failed) await this.ctx.storage.setAlarm(nowMs + 30_000);
    else await this.armAlarm();
    return fired;
  }

  private run(req: ScheduledRunRequest): Promise<ScheduledRunResult> {
    if (this.runFire !== undefined) return this.runFire(req);
    return eventsObject(this.env, req.tenant, 'default').runScheduled(req);
  }
}
