// How a generic-webhook flow's output becomes the HTTP response (upstream's mapping: a string is a
// 200 text body; an object may carry `status`, `headers` and a body in `body` or `text`), with the
// limits a shared origin needs: the runner serves every tenant's flows and the WebChat page from
// one origin, so a flow may not set cookies, redirect, or serve active content there. The channel
// object checks the output before it records an Idempotency-Key, so an output that cannot be
// sent is an error the caller sees (502), never a replayed failure.
import { isObject } from '../core/is-object.js';
import type { JsonValue } from '../flow/model.js';

export interface WebhookResponsePlan {
  status: number;
  headers: [name: string, value: string][];
  body: string | Uint8Array | null;
  /** Flow-set headers left out because they are not on the allow-list (lowercase names). */
  dropped: string[];
}

export type WebhookResponseCheck = { ok: true; plan: WebhookResponsePlan } | { ok: false; reason: string };

/** Headers a flow may set; `x-*` names are allowed too, except the ones the runner sets itself. */
const ALLOWED_HEADERS = new Set([
  'cache-control',
  'content-disposition',
  'content-language',
  'content-type',
  'etag',
  'expires',
  'last-modified',
  'retry-after',
  'vary',
]);
const RUNNER_HEADERS = new Set(['x-content-type-options', 'x-frame-options']);

/** Sent with every flow response: nothing on it runs, frames, or is sniffed into active content. */
export const FLOW_RESPONSE_SECURITY_HEADERS: readonly [string, string][] = [
  ['content-security-policy', "default-src 'none'; frame-ancestors 'none'; sandbox"],
  ['x-content-type-options', 'nosniff'],
];

/** RFC 9110 field-name token. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Media types a browser runs or renders as a document with scripts. */
const ACTIVE_MEDIA_TYPE =
  /^\s*(text\/html|application\/xhtml\+xml|image\/svg\+xml|text\/xml|application\/xml|[a-z]+\/[a-z0-9.+-]*\+xml|[a-z]+\/(x-)?(java|ecma)script|text\/xsl)\s*(;|$)/i;
const TEXT_PLAIN = 'text/plain; charset=utf-8';

function allowedHeader(name: string): boolean {
  return ALLOWED_HEADERS.has(name) || (name.startsWith('x-') && !RUNNER_HEADERS.has(name));
}

function hexToBytes(hex: string): Uint8Array | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function checkWebhookResponse(output: JsonValue): WebhookResponseCheck {
  if (typeof output === 'string') return planned(200, [['content-type', TEXT_PLAIN]], output, []);
  if (!isObject(output)) return planned(200, [['content-type', 'application/json']], JSON.stringify(output), []);
  const status =
    typeof output['status'] === 'number' && Number.isInteger(output['status']) && output['status'] >= 200 && output['status'] <= 599
      ? output['status']
      : 200;
  const headers: [string, string][] = [];
  const dropped: string[] = [];
  if (isObject(output['headers'])) {
    for (const [rawName, value] of Object.entries(output['headers'])) {
      if (typeof value !== 'string') continue;
      if (!HEADER_NAME.test(rawName))
        return { ok: false, reason: `response header name ${JSON.stringify(rawName)} is not a valid HTTP field name` };
      if (/[\r\n\0]/.test(value)) return { ok: false, reason: `response header ${JSON.stringify(rawName)} contains CR, LF or NUL` };
      const name = rawName.toLowerCase();
      if (allowedHeader(name)) headers.push([name, value]);
      else dropped.push(name);
    }
  }
  const body = output['body'] ?? output['text'];
  const noBody = status === 204 || status === 304;
  if (body === undefined) return planned(noBody ? 200 : status, withType(headers, 'application/json'), JSON.stringify(output), dropped);
  if (noBody) return planned(status, headers, null, dropped);
  if (typeof body === 'string') return planned(status, withType(headers, TEXT_PLAIN), body, dropped);
  if (isObject(body) && typeof body['text'] === 'string') return planned(status, withType(headers, TEXT_PLAIN), body['text'], dropped);
  if (isObject(body) && typeof body['base16'] === 'string') {
    const bytes = hexToBytes(body['base16']);
    if (bytes !== undefined) return planned(status, withType(headers, 'application/octet-stream'), bytes, dropped);
  }
  return planned(status, withType(headers, 'application/json'), JSON.stringify(body), dropped);
}

/** The flow's content type if it set one, else `fallback`. */
function withType(headers: [string, string][], fallback: string): [string, string][] {
  return headers.some(([n]) => n === 'content-type') ? headers : [...headers, ['content-type', fallback]];
}

/** A content type that would run as a document on the runner's origin is sent as plain text. */
function planned(status: number, headers: [string, string][], body: string | Uint8Array | null, dropped: string[]): WebhookResponseCheck {
  const safe = headers.map(([n, v]): [string, string] => (n === 'content-type' && ACTIVE_MEDIA_TYPE.test(v) ? [n, TEXT_PLAIN] : [n, v]));
  return { ok: true, plan: { status, headers: safe, body, dropped } };
}

export function webhookHttpResponse(plan: WebhookResponsePlan, extraHeaders: readonly [string, string][] = []): Response {
  const headers = new Headers(plan.headers);
  for (const [name, value] of [...FLOW_RESPONSE_SECURITY_HEADERS, ...extraHeaders]) headers.set(name, value);
  return new Response(plan.body, { status: plan.status, headers });
}
