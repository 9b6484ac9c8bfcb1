import { runDurableObjectAlarm, runInDurableObject, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { eventsObject, schedulerObject, webchatConversation } from '../../src/objects.js';
import { deactivatePack } from '../../src/pack-store/pack-index.js';
import { CronError, nextFire, parseCron } from '../../src/timers/cron.js';
import { SchedulerObject } from '../../src/timers/scheduler-object.js';
import { activate, seedPack, testEnv } from '../support/runtime-fixtures.js';
import { until } from '../support/until.js';

const AUTH = { authorization: 'Bearer test-admin-token', 'content-type': 'application/json' };

const TICK = `id: tick
type: events
nodes:
  read:
    state.get: { key: ticks }
    routing: [ { to: bump } ]
  bump:
    state.set: { key: ticks, value: "{{node.read.value}}|{{in.now}}" }
    routing: [ { to: say } ]
  say:
    emit.response: { text: "tick {{in.schedule_id}} at {{in.now}}" }
    routing: out
`;

const T0 = Date.UTC(2026, 0, 1, 12, 0, 30);
/**
 * The fake clock of the fire tests, years ahead of the real one: the alarms the scheduler sets are
 * then never due during the test, and only the fake clock (fireDue) fires.
 */
const FIRE_T0 = Date.UTC(2030, 0, 1, 12, 0, 30);

async function tenantWithTick(tenant: string): Promise<void> {
  const digest = await seedPack(`timers-${tenant}`, '1.0.0', [TICK]);
  await activate(tenant, `timers-${tenant}`, digest);
}

async function tickRuns(tenant: string) {
  return (await eventsObject(testEnv, tenant, 'default').recordedRuns()).filter((r) => r.outcome.flow_id === 'tick');
}

describe('cron expressions', () => {
  it('reads a five-field expression with a leading 0 seconds field, in UTC', () => {
    const s = parseCron('*/15 9 * * MON-FRI');
    expect(s.expression).toBe('0 */15 9 * * MON-FRI');
    // 2026-01-01 is a Thursday; the next fire after noon is Friday 09:00:00.
    expect(new Date(nextFire(s, T0) ?? 0).toISOString()).toBe('2026-01-02T09:00:00.000Z');
    expect(new Date(nextFire(parseCron('30 * * * * *'), T0) ?? 0).toISOString()).toBe('2026-01-01T12:01:30.000Z');
    expect(new Date(nextFire(parseCron('0 0 1 JAN *'), T0) ?? 0).toISOString()).toBe('2027-01-01T00:00:00.000Z');
  });

  it('names the field that is wrong', () => {
    expect(() => parseCron('61 * * * *')).toThrow(CronError);
    expect(() => parseCron('61 * * * *')).toThrow(/minute "61" is not 0-59/);
    expect(() => parseCron('* * *')).toThrow(/expected 5 fields/);
    expect(() => parseCron('0 0 * * FUNDAY')).toThrow(/day of week "FUNDAY"/);
  });
});

describe('PUT|GET /admin/v1/tenants/{tenant}/schedules', () => {
  it('stores the timers and lists each with its next fire time', async () => {
    const put = await SELF.fetch('http://runner/admin/v1/tenants/tm-api/schedules', {
      method: 'PUT',
      headers: AUTH,
      body: JSON.stringify({
        timers: [
          { flow_id: 'tick', cron: '0 * * * *', schedule_id: 'hourly' },
          { flow_id: 'tick', cron: '0 0 6 * * *' },
        ],
      }),
    });
    expect(put.status).toBe(200);
    const listed = (await (await SELF.fetch('http://runner/admin/v1/tenants/tm-api/schedules', { headers: AUTH })).json()) as {
      schedules: { schedule_id: string; cron_expression: string; next_fire_at: string }[];
    };
    expect(listed.schedules.map((s) => [s.schedule_id, s.cron_expression])).toEqual([
      ['hourly', '0 0 * * * *'],
      ['tick', '0 0 6 * * *'],
    ]);
    const hourly = Date.parse(listed.schedules[0]?.next_fire_at ?? '');
    expect(hourly).toBeGreaterThan(Date.now());
    expect(hourly - Date.now()).toBeLessThanOrEqual(3600_000);
    expect(new Date(hourly).getUTCMinutes()).toBe(0);
  });

  it('refuses a bad cron or a repeated schedule id with 400 naming where (JSON pointer)', async () => {
    const bad = await SELF.fetch('http://runner/admin/v1/tenants/tm-api/schedules', {
      method: 'PUT',
      headers: AUTH,
      body: JSON.stringify({
        timers: [
          { flow_id: 'tick', cron: '0 * * * *' },
          { flow_id: 'tick', cron: '0 99 * * *' },
        ],
      }),
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      error: 'invalid_schedules',
      message: expect.stringMatching(/^\/timers\/1\/cron: .*hour "99"/),
    });
    const twice = await SELF.fetch('http://runner/admin/v1/tenants/tm-api/schedules', {
      method: 'PUT',
      headers: AUTH,
      body: JSON.stringify({
        timers: [
          { flow_id: 'tick', cron: '0 * * * *' },
          { flow_id: 'tick', cron: '5 * * * *' },
        ],
      }),
    });
    expect(twice.status).toBe(400);
    expect(await twice.json()).toMatchObject({ message: expect.stringMatching(/^\/timers\/1\/schedule_id: "tick"/) });
  });
});

describe('timer fires (scheduler object, fake clock)', () => {
  it("runs the flow with upstream's payload {now, schedule_id} under activity id {schedule_id}@{rfc3339}, once per due time", async () => {
    await tenantWithTick('tm1');
    const scheduler = schedulerObject(testEnv, 'tm1');
    const [view] = await scheduler.setSchedules('tm1', [{ flow_id: 'tick', cron: '0 * * * * *', schedule_id: 'every-minute' }], FIRE_T0);
    expect(view?.next_fire_at).toBe('2030-01-01T12:01:00Z');
    expect(await scheduler.fireDue(FIRE_T0 + 10_000)).toEqual([]);
    const due = Date.UTC(2030, 0, 1, 12, 1, 0);
    expect(await scheduler.fireDue(due + 500)).toEqual([
      { schedule_id: 'every-minute', activity_id: 'every-minute@2030-01-01T12:01:00Z', status: 'ran' },
    ]);
    // The alarm firing again for the same time finds nothing due.
    expect(await scheduler.fireDue(due + 900)).toEqual([]);
    const runs = await tickRuns('tm1');
    expect(runs.map((r) => r.key)).toEqual(['timer:every-minute@2030-01-01T12:01:00Z']);
    expect(runs[0]?.outcome.output).toEqual([{ text: 'tick every-minute at 2030-01-01T12:01:00Z' }]);
    expect((await scheduler.schedules())[0]?.next_fire_at).toBe('2030-01-01T12:02:00Z');
  });

  it('a fire that ran before its object restarted (its next time not advanced yet) does not run again', async () => {
    await tenantWithTick('tm2');
    const stub = testEnv.SCHEDULER.get(testEnv.SCHEDULER.idFromName(`${testEnv.GREENTIC_ENV}:tm2`));
    await schedulerObject(testEnv, 'tm2').setSchedules('tm2', [{ flow_id: 'tick', cron: '0 * * * * *', schedule_id: 's' }], FIRE_T0);
    const due = Date.UTC(2030, 0, 1, 12, 1, 0);
    // What the previous instance did before it was reset: the run, but not the update of its row.
    await eventsObject(testEnv, 'tm2', 'default').runScheduled({
      tenant: 'tm2',
      flowId: 'tick',
      activityId: 's@2030-01-01T12:01:00Z',
      input: { now: '2030-01-01T12:01:00Z', schedule_id: 's' },
    });
    // A new instance over the same storage fires the same due time from its alarm.
    const fired = await runInDurableObject(stub, (_instance, state) => new SchedulerObject(state, testEnv).fireDue(due + 100));
    expect(fired).toEqual([{ schedule_id: 's', activity_id: 's@2030-01-01T12:01:00Z', status: 'ran' }]);
    const runs = await tickRuns('tm2');
    expect(runs).toHaveLength(1);
    expect(runs[0]?.outcome.output).toEqual([{ text: 'tick s at 2030-01-01T12:01:00Z' }]);
  });

  it('fires missed while nothing ran collapse into one run of the latest due time', async () => {
    await tenantWithTick('tm3');
    const scheduler = schedulerObject(testEnv, 'tm3');
    await scheduler.setSchedules('tm3', [{ flow_id: 'tick', cron: '0 * * * * *', schedule_id: 'm' }], FIRE_T0);
    // Five due times (12:01 … 12:05) passed before the alarm ran.
    const fired = await scheduler.fireDue(Date.UTC(2030, 0, 1, 12, 5, 20));
    expect(fired).toEqual([{ schedule_id: 'm', activity_id: 'm@2030-01-01T12:05:00Z', status: 'ran' }]);
    expect(await tickRuns('tm3')).toHaveLength(1);
    expect((await scheduler.schedules())[0]?.next_fire_at).toBe('2030-01-01T12:06:00Z');
  });

  it('a removed schedule stops firing, and so does one whose pack was deactivated', async () => {
    await tenantWithTick('tm4');
    const scheduler = schedulerObject(testEnv, 'tm4');
    await scheduler.setSchedules('tm4', [{ flow_id: 'tick', cron: '0 * * * * *', schedule_id: 'a' }], FIRE_T0);
    await scheduler.setSchedules('tm4', [], FIRE_T0);
    expect(await scheduler.fireDue(FIRE_T0 + 3600_000)).toEqual([]);

    await tenantWithTick('tm5');
    const other = schedulerObject(testEnv, 'tm5');
    await other.setSchedules('tm5', [{ flow_id: 'tick', cron: '0 * * * * *', schedule_id: 'b' }], FIRE_T0);
    await deactivatePack(testEnv.PACK_INDEX, testEnv.GREENTIC_ENV, 'tm5', 'timers-tm5');
    const fired = await other.fireDue(Date.UTC(2030, 0, 1, 12, 1, 0));
    expect(fired).toEqual([{ schedule_id: 'b', activity_id: 'b@2030-01-01T12:01:00Z', status: 'not_routed', code: 'NoActivePack' }]);
    expect(await tickRuns('tm5')).toHaveLength(0);
  });
});

describe("the scheduler's alarm", () => {
  it('fires a due timer from the object alarm on the real clock, once', async () => {
    await tenantWithTick('tm7');
    const scheduler = schedulerObject(testEnv, 'tm7');
    // Hourly, set an hour ago: its first due time has passed (the alarm is due now), the next is up to an hour away.
    await scheduler.setSchedules('tm7', [{ flow_id: 'tick', cron: '0 0 * * * *', schedule_id: 'hourly' }], Date.now() - 3_600_000);
    const stub = testEnv.SCHEDULER.get(testEnv.SCHEDULER.idFromName(`${testEnv.GREENTIC_ENV}:tm7`));
    await runDurableObjectAlarm(stub);
    const runs = await until(async () => {
      const found = await tickRuns('tm7');
      return found.length > 0 ? found : undefined;
    }, 'the alarm to fire');
    expect(runs).toHaveLength(1);
    expect(Date.parse((await scheduler.schedules())[0]?.next_fire_at ?? '')).toBeGreaterThan(Date.now());
  });
});

describe('messages of timer runs', () => {
  it("go to the conversation named in the timer's reply scope (here a WebChat conversation)", async () => {
    await tenantWithTick('tm6');
    const scheduler = schedulerObject(testEnv, 'tm6');
    await scheduler.setSchedules(
      'tm6',
      [{ flow_id: 'tick', cron: '0 * * * * *', schedule_id: 'chatty', reply_scope: { channel: 'webchat', conversation: 'conv-tm6' } }],
      FIRE_T0,
    );
    // The conversation a user opened earlier (Direct Line start).
    const conversation = webchatConversation(testEnv, 'tm6', 'conv-tm6');
    await conversation.start('tm6', 'conv-tm6', 'u1');
    expect(await scheduler.fireDue(Date.UTC(2030, 0, 1, 12, 1, 0))).toMatchObject([{ status: 'ran' }]);
    const texts = await until(async () => {
      const set = (await conversation.activities(undefined)) as { activities: { text?: string }[] } | null;
      const found = (set?.activities ?? []).map((a) => a.text);
      return found.length > 0 ? found : undefined;
    }, 'the timer message in the conversation');
    expect(texts).toEqual(['tick chatty at 2030-01-01T12:01:00Z']);
  });
});
