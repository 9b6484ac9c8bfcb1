/**
 * What a run hands back (greentic-flow reference §4.9): the last node's payload alone when nothing
 * was emitted, otherwise every emitted payload plus the last payload, flattened, with the last
 * payload dropped when it repeats the last emitted item (so an emit node ending the flow, or a
 * card that was both emitted and returned, is not sent twice).
 */

import { isObject } from '../core/is-object.js';
import { jsonEqual } from './json-compare.js';
import type { JsonObject, JsonValue } from './model.js';

function pushFlat(out: JsonValue[], value: JsonValue): void {
  if (Array.isArray(value)) for (const item of value) out.push(item);
  else out.push(value);
}

/**
 * `lastPayload` undefined means "no node payload to append" (a `session.wait` pause returns the
 * egress only).
 */
export function assembleOutput(egress: readonly JsonValue[], lastPayload: JsonValue | undefined): JsonValue {
  if (egress.length === 0) return lastPayload ?? null;
  const out: JsonValue[] = [];
  for (const item of egress) pushFlat(out, item);
  if (lastPayload !== undefined && !jsonEqual(lastPayload, egress[egress.length - 1] as JsonValue)) {
    pushFlat(out, lastPayload);
  }
  return out;
}

export interface FirstFailure {
  nodeId: string;
  code: string;
  message: string;
}

/**
 * Upstream marks the final output object with the first failed node so channels can see that an
 * error route was taken. Arrays and scalars are left alone: there is no object to annotate.
 */
export function withFailureMetadata(output: JsonValue, failure: FirstFailure | null): JsonValue {
  if (failure === null || !isObject(output)) return output;
  const previous = isObject(output.metadata) ? output.metadata : {};
  return {
    ...output,
    metadata: { ...previous, error_kind: failure.code, error_message: failure.message, node_id: failure.nodeId },
  };
}

export const DEFAULT_FAILURE_TEXT = 'Sorry, something went wrong while handling your message. Please try again later.';

/** The completed output a messaging run returns after its last failed attempt. */
export function messagingFailureOutput(text: string, errorMessage: string, flowId: string): JsonObject {
  return {
    text,
    metadata: { error_kind: 'flow_execution_failed', error_message: errorMessage, flow_id: flowId },
  };
}
