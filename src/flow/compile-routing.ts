/**
 * One node's `routing` value → the compiled `Routing` (reference §1.3). The loader runs it to
 * report routing problems with their positions; the compiler runs it to build the routing table.
 */
import { isObject } from '../core/is-object.js';
import type { DiagnosticSink } from './diagnostic-sink.js';
import { dottedPath, escapePointerSegment } from './errors.js';
import type { JsonValue, Routing } from './model.js';
import { legacyRouteSchema, type RouteDoc, routeSchema } from './schema.js';

/**
 * Compiles one node's `routing` value. Reports shape errors (`Routing`; an unknown route key in a
 * schema-v2 document is upstream's JSON-schema error, `Schema`) and unknown targets
 * (`MissingNode`); `to: out` is accepted as the sole route only, like upstream. A route written
 * `next: X` compiles as upstream compiles it (a `custom` route) and runs as `to: X` here
 * (builtins.ts); `reportNext` (the loader) warns about it once.
 */
export function compileRouting(
  raw: JsonValue | undefined,
  nodeIds: ReadonlySet<string>,
  nodeId: string,
  sink: DiagnosticSink,
  opts: { legacy?: boolean; reportNext?: boolean } = {},
): Routing | undefined {
  const base = `/nodes/${escapePointerSegment(nodeId)}/routing`;
  if (raw === undefined || raw === null) return 'end';
  if (typeof raw === 'string') {
    if (raw === 'out') return 'end';
    if (raw === 'reply') return 'reply';
    sink.error('Routing', base, `${dottedPath(base)} has invalid routing shorthand "${raw}" (expected out, reply or a list of routes)`);
    return undefined;
  }
  if (!Array.isArray(raw)) {
    sink.error('Routing', base, `${dottedPath(base)} must be out, reply or a list of routes`);
    return undefined;
  }

  const routes: RouteDoc[] = [];
  let shapeOk = true;
  raw.forEach((item, index) => {
    const pointer = `${base}/${index}`;
    if (!isObject(item)) {
      sink.error('Routing', pointer, `${dottedPath(pointer)} must be a mapping with to/out/status/reply/condition`);
      shapeOk = false;
      return;
    }
    const { next, ...route } = item;
    if (next !== undefined) {
      if (typeof next !== 'string') {
        sink.error(opts.legacy ? 'Routing' : 'Schema', `${pointer}/next`, `${dottedPath(`${pointer}/next`)} must be a string`);
        shapeOk = false;
        return;
      }
      if (opts.reportNext) {
        sink.warning(
          'Routing',
          `${pointer}/next`,
          `${dottedPath(pointer)} uses "next", which upstream ignores (its flow ends after this node); this runner runs it as "to: ${next}" — write "to: ${next}"`,
          'key',
        );
      }
    }
    const parsed = (opts.legacy ? legacyRouteSchema : routeSchema).safeParse(route);
    if (!parsed.success) {
      shapeOk = false;
      for (const issue of parsed.error.issues) {
        if (issue.code === 'unrecognized_keys') {
          for (const key of issue.keys) {
            const keyPointer = `${pointer}/${escapePointerSegment(key)}`;
            sink.error(
              'Schema',
              keyPointer,
              `${dottedPath(pointer)} has unknown key "${key}" (allowed: to, out, status, reply, condition, on_message)`,
              'key',
            );
          }
        } else {
          const fieldPointer = `${pointer}${issue.path.map((s) => `/${escapePointerSegment(String(s))}`).join('')}`;
          const expected = issue.code === 'invalid_type' ? issue.expected : 'valid';
          sink.error('Routing', fieldPointer, `${dottedPath(fieldPointer)} must be a ${expected}`);
        }
      }
      return;
    }
    routes.push(parsed.data);
  });
  let targetsOk = shapeOk;
  const missing = (index: number, to: string, hint = '', key = 'to'): void => {
    const pointer = `${base}/${index}/${key}`;
    sink.error('MissingNode', pointer, `${dottedPath(pointer)} "${to}" does not exist${hint}`);
    targetsOk = false;
  };
  raw.forEach((item, index) => {
    // Targets of well-formed routes are checked even when a sibling route is malformed.
    const to = isObject(item) ? item.to : undefined;
    if (typeof to === 'string' && to !== 'out' && !nodeIds.has(to)) missing(index, to);
    const next = isObject(item) && to === undefined ? item.next : undefined;
    if (typeof next === 'string' && !nodeIds.has(next)) missing(index, next, '', 'next');
  });
  if (!shapeOk) return undefined;
  const outHint = ' (the target "out" ends the flow only as the sole route; use `out: true`)';
  const checkOut = (route: RouteDoc, index: number): void => {
    if (route.to === 'out' && !nodeIds.has('out')) missing(index, 'out', outHint);
  };

  if (routes.some((r) => r.condition !== undefined || r.on_message === true)) {
    routes.forEach(checkOut);
    return targetsOk ? { custom: raw } : undefined;
  }
  if (!targetsOk) return undefined;

  if (routes.length === 0) return 'end';
  if (routes.length === 1) {
    const route = routes[0] as RouteDoc;
    const isOut = route.out === true;
    if (route.reply === true) return 'reply';
    // A single status route is still conditional; upstream keeps it raw rather than a plain next-hop.
    if (route.status !== undefined) return { custom: raw };
    if (route.to !== undefined) {
      if (route.to === 'out' || isOut) return 'end';
      return { next: { node_id: route.to } };
    }
    if (isOut) return 'end';
    return { custom: raw };
  }

  const onStatus: Record<string, string> = {};
  let defaultTarget: string | null = null;
  let anyStatus = false;
  for (const [index, route] of routes.entries()) {
    if (route.reply === true || route.out === true) return { custom: raw };
    if (route.to === undefined) return { custom: raw };
    checkOut(route, index);
    if (!targetsOk) return undefined;
    if (route.status !== undefined) {
      anyStatus = true;
      onStatus[route.status] = route.to;
    } else {
      // Upstream keeps the LAST plain target: multi-`to` arrays do not fan out.
      defaultTarget = route.to;
    }
  }
  const sorted: Record<string, string> = {};
  for (const key of Object.keys(onStatus).sort(compareBytes)) sorted[key] = onStatus[key] as string;
  if (anyStatus || defaultTarget !== null) return { branch: { on_status: sorted, default: defaultTarget } };
  return { custom: raw };
}

/** Byte-wise string order (Rust `BTreeMap<String, _>`). */
export function compareBytes(a: string, b: string): number {
  const ea = new TextEncoder().encode(a);
  const eb = new TextEncoder().encode(b);
  const n = Math.min(ea.length, eb.length);
  for (let i = 0; i < n; i++) {
    const d = (ea[i] as number) - (eb[i] as number);
    if (d !== 0) return d;
  }
  return ea.length - eb.length;
}
