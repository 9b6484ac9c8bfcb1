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
  /** A child span measured elsewhere (e.g. the executor's per-node trace hook). */
  measured(name: string, attributes: Attributes, durationMs: number, status: 'ok' | 'error', error?: string): void;
}

/** Where a span belongs: its trace, its parent, and the root's collector of finished spans. */
export interface SpanParent {
  readonly traceId: string;
  readonly spanId: string;
  readonly collect?: (record: SpanRecord) => void;
}

export interface SpanRecord {
  span: string;
  trace_id: string;
  span_id: string;
  parent_span_id?: string | undefined;
  start_time: string;
  duration_ms: number;
  status: 'ok' | 'error';
  error?: string | undefined;
  attributes: Record<string, string | number | boolean>;
  /** On a root span only: the trace's other spans, in the order they ended. */
  spans?: SpanRecord[];
  spans_dropped?: number;
  /**
   * On a root span only: the attributes every span of the trace shares (env, tenant, team,
   * session, provider, pack), written once; a span's own `attributes` leave them out.
   */
  resource?: Record<string, string | number | boolean>;
}

/** Attributes that describe where a trace runs rather than one step of it (OTel "resource"). */
const RESOURCE_KEYS = [
  'greentic.env',
  'greentic.tenant.id',
  'greentic.team.id',
  'greentic.session.id',
  'greentic.provider',
  'greentic.pack.id',
] as const;

/** Moves the root's resource attributes to `record.resource` and drops them from spans that repeat them. */
function hoistResource(record: SpanRecord): void {
  const resource: Record<string, string | number | boolean> = {};
  for (const key of RESOURCE_KEYS) {
    const value = record.attributes[key];
    if (value === undefined) continue;
    resource[key] = value;
    delete record.attributes[key];
  }
  if (Object.keys(resource).length === 0) return;
  record.resource = resource;
  for (const child of record.spans ?? [])
    for (const key of RESOURCE_KEYS) if (child.attributes[key] === resource[key]) delete child.attributes[key];
}

/**
 * A trace is written as one line: the root span, carrying the spans of its children in
 * `spans`. Writing each span as its own line costs a log write per node; one line per request
 * is what Workers Logs indexes best ("wide events"). Past this many children the rest are
 * counted in `spans_dropped`.
 */
export const MAX_SPANS_PER_LINE = 200;

function writeRecord(record: SpanRecord, parent: SpanParent | undefined): void {
  if (parent?.collect !== undefined) parent.collect(record);
  else sink(JSON.stringify(record), record.status === 'error' || record.spans?.some((s) => s.status === 'error') ? 'warn' : 'info');
}

/**
 * Runs `fn` inside a span and writes the span when it ends, with status `error` and the error's
 * code and location (`errorFacts`) when `fn` throws. A root span (no parent) collects its
 * descendants and writes them with itself in one line.
 */
export async function withSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>, parent?: SpanParent): Promise<T> {
  const traceId = parent?.traceId ?? (typeof attributes['trace_id'] === 'string' ? attributes['trace_id'] : randomHex(16));
  const spanId = randomHex(8);
  const attrs: Attributes = { ...attributes };
  delete attrs['trace_id'];
  const start = Date.now();
  const children: SpanRecord[] = [];
  let dropped = 0;
  const collect =
    parent?.collect ??
    ((record: SpanRecord) => {
      if (children.length < MAX_SPANS_PER_LINE) children.push(record);
      else dropped++;
    });
  const span: Span = {
    traceId,
    spanId,
    setAttributes(more) {
      Object.assign(attrs, more);
    },
    child(childName, childAttributes, childFn) {
      return withSpan(childName, childAttributes, childFn, { traceId, spanId, collect });
    },
    measured(childName, childAttributes, durationMs, childStatus, error) {
      const end = Date.now();
      collect({
        span: childName,
        trace_id: traceId,
        span_id: randomHex(8),
        parent_span_id: spanId,
        start_time: new Date(end - durationMs).toISOString(),
        duration_ms: durationMs,
        status: childStatus,
        error,
        attributes: clean(childAttributes),
      });
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
    const record: SpanRecord = {
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
    if (parent === undefined) {
      if (children.length > 0) record.spans = children;
      if (dropped > 0) record.spans_dropped = dropped;
      hoistResource(record);
    }
    writeRecord(record, parent);
  }
}

/**
 * Every span a log line holds (a trace's root and the children it carries), each with the line's
 * resource attributes merged back into its own, for readers of the log.
 */
export function spansOfLine(line: string): SpanRecord[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return [];
  }
  if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { span?: unknown }).span !== 'string') return [];
  const root = parsed as SpanRecord;
  const resource = root.resource ?? {};
  return [root, ...(Array.isArray(root.spans) ? root.spans : [])].map((span) => ({
    ...span,
    attributes: { ...resource, ...span.attributes },
  }));
}
