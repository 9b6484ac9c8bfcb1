/** The object member of a union (`JsonValue | undefined` → `JsonObject`); a string-keyed record for `unknown`. */
export type ObjectMember<T> = [Extract<T, Record<string, unknown>>] extends [never]
  ? Record<string, unknown>
  : Extract<T, Record<string, unknown>>;

/** True for a plain object value: not null, not an array. */
export function isObject<T>(value: T): value is ObjectMember<T> & T {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
