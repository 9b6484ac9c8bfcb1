// UTC cron expressions as upstream's timers take them: six fields `sec min hour day-of-month month
// day-of-week`; a five-field (Unix) expression gets a leading `0` seconds field. Each field takes
// `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n`, and comma lists; months and days also take
// names (`JAN`, `MON`). Day of week 0 and 7 are Sunday. When both day fields are restricted a day
// matches either (Vixie cron).
import { CodedError } from '../core/coded-error.js';

export class CronError extends CodedError<'InvalidCron'> {
  constructor(message: string) {
    super('InvalidCron', message);
  }
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] },
  { name: 'day of week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

export interface CronSchedule {
  /** The six-field expression it was read as. */
  expression: string;
  fields: readonly Set<number>[];
  /** Whether day of month / day of week were `*` (unrestricted). */
  anyDom: boolean;
  anyDow: boolean;
}

function value(token: string, spec: FieldSpec, expression: string): number {
  const named = spec.names?.indexOf(token.toUpperCase()) ?? -1;
  const n = named >= 0 ? named + (spec.min === 1 ? 1 : 0) : /^\d+$/.test(token) ? Number(token) : Number.NaN;
  if (!Number.isInteger(n) || n < spec.min || n > spec.max)
    throw new CronError(`cron "${expression}": ${spec.name} "${token}" is not ${spec.min}-${spec.max}${spec.names ? ' or a name' : ''}`);
  return n;
}

function parseField(text: string, spec: FieldSpec, expression: string): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1)
      throw new CronError(`cron "${expression}": ${spec.name} step "${stepText}" is not a positive integer`);
    let lo: number;
    let hi: number;
    if (range === '*' || range === '?') {
      lo = spec.min;
      hi = spec.max;
    } else if (range.includes('-')) {
      const [a = '', b = ''] = range.split('-');
      lo = value(a, spec, expression);
      hi = value(b, spec, expression);
      if (lo > hi) throw new CronError(`cron "${expression}": ${spec.name} range "${range}" runs backwards`);
    } else {
      lo = value(range, spec, expression);
      hi = stepText === undefined ? lo : spec.max;
    }
    for (let n = lo; n <= hi; n += step) out.add(n);
  }
  return out;
}

export function parseCron(raw: string): CronSchedule {
  const parts = raw.trim().split(/\s+/);
  if (parts.length === 5) parts.unshift('0');
  if (parts.length !== 6)
    throw new CronError(
      `cron "${raw}": expected 5 fields (min hour dom month dow) or 6 (sec min hour dom month dow), found ${parts.length}`,
    );
  const fields = parts.map((p, i) => parseField(p, FIELDS[i] as FieldSpec, raw));
  const dow = fields[5] as Set<number>;
  if (dow.has(7)) dow.add(0);
  return {
    expression: parts.join(' '),
    fields,
    anyDom: parts[3] === '*' || parts[3] === '?',
    anyDow: parts[5] === '*' || parts[5] === '?',
  };
}

function dayMatches(s: CronSchedule, d: Date): boolean {
  const dom = (s.fields[3] as Set<number>).has(d.getUTCDate());
  const dow = (s.fields[5] as Set<number>).has(d.getUTCDay());
  if (s.anyDom && s.anyDow) return true;
  if (s.anyDom) return dow;
  if (s.anyDow) return dom;
  return dom || dow;
}

/** Fire times searched ahead at most this far (an expression like `0 0 0 31 2 *` never fires). */
const HORIZON_MS = 5 * 366 * 24 * 3600 * 1000;

/** The first fire time strictly after `afterMs` (whole seconds, UTC), or undefined if none within five years. */
export function nextFire(s: CronSchedule, afterMs: number): number | undefined {
  const d = new Date(Math.floor(afterMs / 1000) * 1000 + 1000);
  const limit = afterMs + HORIZON_MS;
  const [sec, min, hour, , month] = s.fields as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  while (d.getTime() <= limit) {
    if (!month.has(d.getUTCMonth() + 1)) {
      d.setUTCMonth(d.getUTCMonth() + 1, 1);
      d.setUTCHours(0, 0, 0, 0);
    } else if (!dayMatches(s, d)) {
      d.setUTCDate(d.getUTCDate() + 1);
      d.setUTCHours(0, 0, 0, 0);
    } else if (!hour.has(d.getUTCHours())) {
      d.setUTCHours(d.getUTCHours() + 1, 0, 0, 0);
    } else if (!min.has(d.getUTCMinutes())) {
      d.setUTCMinutes(d.getUTCMinutes() + 1, 0, 0);
    } else if (!sec.has(d.getUTCSeconds())) {
      d.setUTCSeconds(d.getUTCSeconds() + 1, 0);
    } else return d.getTime();
  }
  return undefined;
}

/** The latest fire time in `(afterMs, uptoMs]`, or undefined when none is due. */
export function latestFire(s: CronSchedule, afterMs: number, uptoMs: number): number | undefined {
  let latest: number | undefined;
  let t = nextFire(s, afterMs);
  // Bounded walk: a schedule that fires every second over a long downtime is capped, not looped forever.
  for (let i = 0; t !== undefined && t <= uptoMs && i < 100_000; i++) {
    latest = t;
    t = nextFire(s, t);
  }
  return latest;
}
