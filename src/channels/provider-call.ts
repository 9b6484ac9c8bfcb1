// What every provider sender does the same way: read the tenant's credentials, respect the
// tenant's send rate, call the provider's API with a deadline, and classify what came back. No
// provider's send API is idempotent, so a call whose outcome is unknown (timeout, connection
// reset) is never retried blindly: it fails as `DeliveryUncertain`, not retryable, and the
// channel object dead-letters the reply with the message intact for an operator to check and
// replay. Known failures are retried per the provider's rules; the outbox key per reply keeps a
// retry after a known failure from posting twice.
import { EgressSendError } from '../bus/delivery.js';
import type { EgressMessage } from '../bus/messages.js';
import { errorMessage } from '../core/coded-error.js';
import { consume } from '../edge/rate-limits.js';
import type { WorkerEnv } from '../objects.js';
import { readTenantSecret } from '../session/webhook-auth.js';

/** How long a provider call may take before its outcome counts as unknown. */
const CALL_TIMEOUT_MS = 10_000;

/** The tenant's value of a provider credential; a reply without it cannot be sent, now or later. */
export async function credential(env: WorkerEnv, message: EgressMessage, name: string): Promise<string> {
  const tenant = message.envelope.tenant.tenant;
  const value = await readTenantSecret(env, tenant, name);
  if (value === null || value.byteLength === 0) {
    throw new EgressSendError('ChannelNotConfigured', `tenant "${tenant}" has no "${name}" secret set (admin API)`, false);
  }
  return new TextDecoder().decode(value);
}

/** Counts one send against the tenant's `egress` limit; over it, a retryable failure with the wait. */
export async function withinSendRate(env: WorkerEnv, message: EgressMessage): Promise<void> {
  const tenant = message.envelope.tenant.tenant;
  const outcome = await consume(env, 'egress', { tenant });
  if (outcome.allowed === false) {
    throw new EgressSendError(
      'SendRateLimited',
      `tenant "${tenant}" is over its send rate; retry after ${outcome.retryAfter} s`,
      true,
      outcome.retryAfter,
    );
  }
}

/** One provider call; a network failure or timeout is `DeliveryUncertain` (the provider may have posted). */
export async function providerCall(provider: string, url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
  } catch (err) {
    throw new EgressSendError(
      'DeliveryUncertain',
      `the ${provider} call to ${new URL(url).host} ended without an answer (${errorMessage(err)}); it may have been delivered, so it is not resent`,
      false,
    );
  }
}

/** Seconds of a `Retry-After` header given in seconds (an HTTP date is not used by these APIs). */
export function retryAfterHeader(res: Response): number | undefined {
  const raw = res.headers.get('retry-after');
  if (raw === null) return undefined;
  const n = Number.parseInt(raw, 10);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** The answer's body as JSON, or `undefined` when it is not JSON. */
export async function jsonOf(res: Response): Promise<Record<string, unknown> | undefined> {
  try {
    const value: unknown = await res.json();
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A failed provider answer as the error the channel object retries or dead-letters. */
export function sendFailure(provider: string, status: number, detail: string, retryable: boolean, retryAfter?: number): EgressSendError {
  return new EgressSendError(
    retryable ? 'ProviderRetryable' : 'ProviderRejected',
    `${provider} answered ${status}: ${detail.slice(0, 300)}`,
    retryable,
    retryAfter,
  );
}

/** A base URL var without its trailing slash, or the provider's real default. */
export function apiBase(value: string | undefined, fallback: string): string {
  return (value === undefined || value.trim() === '' ? fallback : value.trim()).replace(/\/+$/, '');
}
