// Nesting bound for JSON that arrives from the internet. JSON.parse itself copes with any depth,
// but what runs after it (structured clone for RPC, JSON.stringify, schema checks, templates) is
// recursive and overflows the stack on a value nested a hundred thousand levels deep. The check
// walks with its own stack, so it is safe on exactly the values it exists to refuse.

/** Where a value first nests deeper than allowed, as a JSON pointer; `undefined` when it does not. */
export function tooDeepAt(value: unknown, maxDepth: number): string | undefined {
  const stack: { value: unknown; depth: number; pointer: string }[] = [{ value, depth: 0, pointer: '' }];
  for (;;) {
    const top = stack.pop();
    if (top === undefined) return undefined;
    if (typeof top.value !== 'object' || top.value === null) continue;
    const depth = top.depth + 1;
    if (depth > maxDepth) return top.pointer === '' ? '/' : top.pointer;
    const entries: [string, unknown][] = Array.isArray(top.value)
      ? top.value.map((item, i) => [String(i), item])
      : Object.entries(top.value as Record<string, unknown>);
    // Reversed, so the first child is looked at first and the pointer names the first offender.
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i]!;
      if (typeof child === 'object' && child !== null) stack.push({ value: child, depth, pointer: `${top.pointer}/${escapePointer(key)}` });
    }
  }
}

/** RFC 6901 escaping of one reference token. */
function escapePointer(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** A pointer short enough to quote in an error message (keys come from the request and can be long). */
export function quotablePointer(pointer: string, max = 200): string {
  return pointer.length <= max ? pointer : `${pointer.slice(0, max)}…`;
}
