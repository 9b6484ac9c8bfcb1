// The shapes of a tenant's timers as the admin API and the scheduler object exchange them.
import type { EventReplyScope } from '../events/envelope.js';
import type { ScheduledRunResult } from '../events/events-object.js';

export interface TimerBinding {
  flow_id: string;
  cron: string;
  schedule_id: string;
  /** Our extension: the conversation the flow's messages go to. */
  reply_scope?: EventReplyScope;
}

export interface ScheduleView extends TimerBinding {
  /** The six-field expression the cron was read as. */
  cron_expression: string;
  /** RFC 3339 (UTC), or null when the expression never fires again. */
  next_fire_at: string | null;
}

export interface FireRecord {
  schedule_id: string;
  activity_id: string;
  status: ScheduledRunResult['status'] | 'failed';
  code?: string;
}
