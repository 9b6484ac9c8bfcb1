/** Checks of a flow's `slot_schema` that both the loader and the compiler report. */
import { isObject } from '../core/is-object.js';
import type { DiagnosticSink } from './diagnostic-sink.js';
import { dottedPath } from './errors.js';
import type { JsonValue } from './model.js';

/** Regexes in slot patterns use Rust `regex` syntax; a leading inline-flag group is not JS syntax. */
export function isValidSlotPattern(pattern: string): boolean {
  const stripped = pattern.replace(/^\(\?[imsxU]+\)/, '');
  try {
    new RegExp(stripped, 'u');
    return true;
  } catch {
    try {
      new RegExp(stripped);
      return true;
    } catch {
      return false;
    }
  }
}

/** Duplicate slot names and invalid patterns (compile-time checks upstream). */
export function checkSlotSchema(slots: JsonValue | undefined, sink: DiagnosticSink): void {
  if (!Array.isArray(slots)) return;
  const seen = new Set<string>();
  slots.forEach((slot, index) => {
    if (!isObject(slot) || typeof slot.name !== 'string') return;
    const pointer = `/slot_schema/${index}`;
    if (seen.has(slot.name)) {
      sink.error('Schema', `${pointer}/name`, `${dottedPath(pointer)}: duplicate slot name "${slot.name}"`);
    }
    seen.add(slot.name);
    if (typeof slot.pattern === 'string' && !isValidSlotPattern(slot.pattern)) {
      sink.error('Schema', `${pointer}/pattern`, `${dottedPath(pointer)}: invalid regex pattern for slot "${slot.name}"`);
    }
  });
}
