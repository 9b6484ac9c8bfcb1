/**
 * What running one node yields (`Step`), and how a component's raw result becomes one: the
 * `{ok:false,error}`, MCP `{error}`, `greentic_control` and `outcome` conventions.
 */

import { isObject } from '../core/is-object.js';
import type { NodeError } from './execution-state.js';
import type { JsonObject, JsonValue } from './model.js';
import type { TemplateError } from './template-error.js';

/** What one node gives the walk: a payload to record and route on, an error, a pause, a jump or a direct reply. */
export type Step =
  | { out: 'ok'; payload: JsonValue; outcome?: string }
  | { out: 'error'; error: NodeError; outcome?: string }
  | { out: 'wait'; payload: JsonValue; reason: string }
  | { out: 'jump'; payload: JsonValue; flow: string; node?: string; input?: JsonValue; maxRedirects?: number }
  | { out: 'respond'; payload: JsonValue };

/** A non-empty string field, else undefined (an empty id or key counts as absent). */
export function str(value: JsonValue | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function nodeError(code: string, message: string, retryable?: boolean): NodeError {
  return retryable === undefined ? { code, message } : { code, message, retryable };
}

function errorFromValue(value: JsonValue | undefined, fallbackCode: string): NodeError {
  if (isObject(value)) {
    const err: NodeError = {
      code: str(value.code) ?? fallbackCode,
      message: str(value.message) ?? JSON.stringify(value),
    };
    if (typeof value.retryable === 'boolean') err.retryable = value.retryable;
    return err;
  }
  if (typeof value === 'string') return { code: fallbackCode, message: value };
  return { code: fallbackCode, message: 'the component reported a failure without details' };
}

/** Component result conventions: `{ok:false,error}`, MCP-style `{error}`, `greentic_control`, `outcome`. */
export function interpretResult(raw: JsonValue, currentFlowId: string): Step {
  if (!isObject(raw)) return { out: 'ok', payload: raw };
  const outcome = typeof raw.outcome === 'string' ? raw.outcome : undefined;
  if (raw.ok === false) {
    const step: Step = { out: 'error', error: errorFromValue(raw.error, 'component_error') };
    if (outcome !== undefined) step.outcome = outcome;
    return step;
  }
  const mcpError = raw.error;
  if (raw.ok !== true && isObject(mcpError) && (typeof mcpError.message === 'string' || typeof mcpError.code === 'string')) {
    const step: Step = { out: 'error', error: errorFromValue(mcpError, 'component_error') };
    if (outcome !== undefined) step.outcome = outcome;
    return step;
  }
  const ctl = raw.greentic_control;
  if (isObject(ctl) && (ctl.v === 1 || ctl.v === undefined)) {
    if (ctl.action === 'jump') {
      const step: Step = { out: 'jump', payload: raw, flow: str(ctl.flow) ?? currentFlowId };
      const node = str(ctl.node);
      if (node !== undefined) step.node = node;
      if (ctl.payload !== undefined) step.input = ctl.payload;
      if (typeof ctl.max_redirects === 'number') step.maxRedirects = ctl.max_redirects;
      return step;
    }
    if (ctl.action === 'respond') {
      const payload: JsonObject = {};
      for (const k of ['text', 'card_cbor', 'needs_user'] as const) {
        const v = ctl[k];
        if (v !== undefined && v !== null) payload[k] = v;
      }
      return { out: 'respond', payload };
    }
  }
  return outcome === undefined ? { out: 'ok', payload: raw } : { out: 'ok', payload: raw, outcome };
}

export function templateNodeError(err: TemplateError): NodeError {
  return nodeError(err.code === 'PointerNotFound' ? 'pointer_not_found' : 'template_error', err.message, false);
}

export function wrapOutput(step: Step, outputKey: string | undefined): Step {
  if (outputKey === undefined || step.out !== 'ok') return step;
  return { ...step, payload: { [outputKey]: step.payload } };
}
