// The rate limiter Durable Object: one object per (limit, key, shard), holding one number, the
// theoretical arrival time of GCRA (a token bucket kept as a single timestamp). The Workers Rate
// Limiting binding has one fixed limit per binding and no retry time, so per-tenant limits and an
// exact Retry-After need objects of our own. The rule comes with every call, so a changed
// RATE_LIMITS applies on the next request; the object keeps no configuration.
import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../env.js';

/** `limit` requests per `period` seconds, up to `limit` of them at once. */
export interface RateRule {
  limit: number;
  period: number;
}

export type RateVerdict = { allowed: true; remaining: number } | { allowed: false; retryAfter: number };

/**
 * GCRA: each request moves the theoretical arrival time `tat` on by one emission interval
 * (period / limit); a request that would move it more than one period past now is refused, and
 * the refusal knows exactly when the next request fits.
 */
export function gcra(tat: number, now: number, rule: RateRule): { verdict: RateVerdict; tat: number } {
  const interval = (rule.period * 1000) / rule.limit;
  const burst = rule.period * 1000;
  const next = Math.max(tat, now) + interval;
  if (next - now > burst) {
    return { verdict: { allowed: false, retryAfter: Math.max(1, Math.ceil((next - now - burst) / 1000)) }, tat };
  }
  return { verdict: { allowed: true, remaining: Math.floor((burst - (next - now)) / interval) }, tat: next };
}

const TAT = 'tat';

export class RateLimiter extends DurableObject<Env> {
  /** GCRA state in ms; read from storage once per instance. */
  private tat: number | undefined;
  private alarmSet = false;

  private current(): number {
    this.tat ??= this.ctx.storage.kv.get<number>(TAT) ?? 0;
    return this.tat;
  }

  /** Counts one request: allowed (and recorded) or refused with the seconds until one fits. */
  hit(rule: RateRule): RateVerdict {
    const { verdict, tat } = gcra(this.current(), Date.now(), rule);
    if (verdict.allowed) {
      this.tat = tat;
      // A counter that loses its last write to a crash only forgets one request; the caller's
      // response need not wait for the write to be confirmed.
      void this.ctx.storage.put(TAT, tat, { allowUnconfirmed: true });
      this.expireAt(tat);
    }
    return verdict;
  }

  /** Whether a request would be allowed now, without counting it. */
  check(rule: RateRule): RateVerdict {
    return gcra(this.current(), Date.now(), rule).verdict;
  }

  /** Once the bucket is full again the object's state means nothing: the alarm deletes it. */
  private expireAt(tat: number): void {
    if (this.alarmSet) return;
    this.alarmSet = true;
    void this.ctx.storage.setAlarm(tat, { allowUnconfirmed: true });
  }

  override async alarm(): Promise<void> {
    this.alarmSet = false;
    const tat = this.current();
    if (tat > Date.now()) {
      this.expireAt(tat);
      return;
    }
    this.tat = undefined;
    await this.ctx.storage.deleteAll();
  }
}
