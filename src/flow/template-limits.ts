/**
 * The bounds that keep a hostile template from exhausting a Worker: output, step and nesting
 * limits, a cap on warnings, and size-bounded caches (templates repeat across every run of a
 * flow, so each is parsed once).
 */

/** Per-render bounds (output, evaluation steps, nesting, value depth) and the cache sizes. */
export const TEMPLATE_LIMITS = Object.freeze({
  maxOutputChars: 1024 * 1024,
  maxSteps: 1_000_000,
  maxNesting: 64,
  maxValueDepth: 256,
  maxWarnings: 100,
  cacheEntries: 512,
  cacheMaxTemplateChars: 64 * 1024,
});

/** Adds a template warning; past `maxWarnings` one last line says the rest were dropped. */
export function warn(warnings: string[] | undefined, message: string): void {
  if (warnings === undefined) return;
  if (warnings.length < TEMPLATE_LIMITS.maxWarnings) warnings.push(message);
  else if (warnings.length === TEMPLATE_LIMITS.maxWarnings) warnings.push('further template warnings suppressed');
}

/** Insertion-ordered cache that drops its oldest entry when full and never keeps oversized templates. */
export class BoundedCache<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly limit: number) {}

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  set(key: string, value: V): void {
    if (key.length > TEMPLATE_LIMITS.cacheMaxTemplateChars) return;
    if (this.map.size >= this.limit) {
      const oldest = this.map.keys().next().value;
      if (oldest !== undefined) this.map.delete(oldest);
    }
    this.map.set(key, value);
  }
}
