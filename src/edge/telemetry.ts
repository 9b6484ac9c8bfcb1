// OpenTelemetry-shaped spans and events written as one JSON line each (Workers Logs / Logpush pick
// them up). Attribute keys follow greentic-telemetry (`greentic.tenant.id`, `greentic.flow.id`, …).
// Callers pass identifiers and counts only: message bodies, payloads and secrets are never given
// to these functions, and keys that look like credentials are redacted as a second line of defence.
// Errors are described by `errorFacts` (code and location), never by a message that may quote input.

import { randomHex, type TenantCtx } from './tenant-ctx.js';

export type Attributes = Record<string, string | number | boolean | undefined>;
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const SECRET_KEY = /(token|secret|password|authorization|cookie|api[-_]?key|signature)/i;

function clean(attributes: Attributes): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(attributes)) {
    if (v === undefined) continue;
    out[k] = SECRET_KEY.test(k) ? '[redacted]' : v;
  }
  return out;
}

/** Sink for tests; production writes to console. */
let sink: (line: string, level: LogLevel) => void = (line, level) => {
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else console.log(line);
};

export function setTelemetrySink(next: (line: string, level: LogLevel) => void): () => void {
  const previous = sink;
  sink = next;
  return () => {
    sink = previous;
  };
}

/**
 * What a log line or span may say about an error: its code and where it happened. A coded
 * error's message is left out, since it tells a caller what was wrong with their input and may
 * quote it (a flow name templated from a request, a component's answer); so is a parse error's.
 * A platform exception (storage, RPC) keeps its message, which names the failure an operator
 * has to see.
 */
export function errorFacts(err: unknown): Attributes {
  if (!(err instanceof Error)) return { error_code: 'unknown' };
  const fields = err as Error & { code?: unknown; flowId?: unknown; nodeId?: unknown };
  if (typeof fields.code === 'string') {
    return {
      error_code: fields.code,
      error_flow: typeof fields.flowId === 'string' ? fields.flowId : undefined,
      error_node: typeof fields.nodeId === 'string' ? fields.nodeId : undefined,
    };
  }
  if (err instanceof SyntaxError) return { error_code: err.name };
  return { error_code: err.name, error: err.message.slice(0, 300) };
}

/** `errorFacts` as one line, for a span's `error` field. */
function describeError(err: unknown): string {
  const facts = errorFacts(err);
  const where = [
    facts.error_flow === undefined ? '' : `flow "${facts.error_flow}"`,
    facts.error_node === undefined ? '' : `node "${facts.error_node}"`,
  ]
    .filter((part) => part !== '')
    .join(', ');
  return `${facts.error_code}${where === '' ? '' : ` (${where})`}${facts.error === undefined ? '' : `: ${facts.error}`}`;
}

export function logEvent(level: LogLevel, name: string, attributes: Attributes = {}): void {
  sink(JSON.stringify({ level, event: name, time: new Date().toISOString(), attributes: clean(attributes) }), level);
}

export function tenantAttributes(ctx: TenantCtx): Attributes {
  return {
    'greentic.env': ctx.env,
    'greentic.tenant.id': ctx.tenant_id,
    'greentic.team.id': ctx.team_id,
    'greentic.session.id': ctx.session_id,
    'greentic.provider': ctx.provider_id,
  };
}

export interface Span {
  readonly traceId: string;
  readonly spanId: string;
  setAttributes(attributes: Attributes): void;
  /** Child span sharing the trace. */
  child<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T>;
}

/**
 * Runs `fn` inside a span and writes the span when it ends, with status `error` and the error's
 * code and location (`errorFacts`) when `fn` throws.
 */
export async function withSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  parent?: { traceId: string; spanId: string },
): Promise<T> {
  const traceId = parent?.traceId ?? (typeof attributes['trace_id'] === 'string' ? attributes['trace_id'] : randomHex(16));
  const spanId = randomHex(8);
  const attrs: Attributes = { ...attributes };
  delete attrs['trace_id'];
  const start = Date.now();
  const span: Span = {
    traceId,
    spanId,
    setAttributes(more) {
      Object.assign(attrs, more);
    },
    child(childName, childAttributes, childFn) {
      return withSpan(childName, childAttributes, childFn, { traceId, spanId });
    },
  };
  let status: 'ok' | 'error' = 'ok';
  let errorText: string | undefined;
  try {
    return await fn(span);
  } catch (err) {
    status = 'error';
    errorText = describeError(err).slice(0, 500);
    throw err;
  } finally {
    const record = {
      span: name,
      trace_id: traceId,
      span_id: spanId,
      parent_span_id: parent?.spanId,
      start_time: new Date(start).toISOString(),
      duration_ms: Date.now() - start,
      status,
      error: errorText,
      attributes: clean(attrs),
    };
    sink(JSON.stringify(record), status === 'error' ? 'warn' : 'info');
  }
}

/** Writes a span that was measured elsewhere (e.g. the executor's per-node trace hook). */
export function recordSpan(
  name: string,
  attributes: Attributes,
  durationMs: number,
  status: 'ok' | 'error',
  parent: { traceId: string; spanId: string },
  error?: string,
): void {
  const end = Date.now();
  const record = {
    span: name,
    trace_id: parent.traceId,
    span_id: randomHex(8),
    parent_span_id: parent.spanId,
    start_time: new Date(end - durationMs).toISOString(),
    duration_ms: durationMs,
    status,
    error,
    attributes: clean(attributes),
  };
  sink(JSON.stringify(record), status === 'error' ? 'warn' : 'info');
}
