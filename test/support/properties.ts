// Shared settings of the fast-check properties that feed hostile input to the parsers facing the
// internet. Runs are few (each property takes seconds, not minutes); a failure prints its seed,
// and `FC_SEED=<seed> npx vitest run <file>` replays the same inputs.
import type fc from 'fast-check';
import { expect, inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** FC_SEED from the environment of `vitest run`, or '' (see vitest.config.ts). */
    fcSeed: string;
  }
}

export function propertyParameters<T>(numRuns: number): fc.Parameters<T> {
  const seed = Number.parseInt(inject('fcSeed'), 10);
  return Number.isSafeInteger(seed) ? { numRuns, seed } : { numRuns };
}

/** Runs `fn` and fails the property when it takes longer than `limitMs` (hostile input must not stall a parser). */
export async function withinTime<T>(limitMs: number, what: string, fn: () => Promise<T>): Promise<T> {
  const start = Date.now();
  const value = await fn();
  expect(Date.now() - start, `${what} took too long`).toBeLessThan(limitMs);
  return value;
}

/** The same for synchronous parsers. */
export function withinTimeSync<T>(limitMs: number, what: string, fn: () => T): T {
  const start = Date.now();
  const value = fn();
  expect(Date.now() - start, `${what} took too long`).toBeLessThan(limitMs);
  return value;
}

/** A refusal as the HTTP APIs give it: a 4xx whose JSON body names an error code. */
export async function expectTypedRefusal(res: Response, codeOf: (body: unknown) => unknown): Promise<void> {
  expect(res.status, 'a refusal is a 4xx').toBeGreaterThanOrEqual(400);
  expect(res.status, 'a refusal is a 4xx').toBeLessThan(500);
  const body: unknown = await res.json();
  expect(typeof codeOf(body), `an error code in ${JSON.stringify(body).slice(0, 200)}`).toBe('string');
}
