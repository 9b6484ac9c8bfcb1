/**
 * True for a plain object value: not null, not an array. It narrows a union to its object members
 * (`JsonValue | undefined` → `JsonObject`) and `unknown` to a string-keyed record.
 */
export function isObject<T>(value: T): value is unknown extends T ? T & Record<string, unknown> : Extract<T, Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
