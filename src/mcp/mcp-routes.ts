// Where an `mcp` node's `server` points. Upstream's pack sidecar `assets/mcp-routes.json`
// (greentic-runner-host `runner::mcp_pack_routes::PackMcpRoutes`) is a JSON array of
// `{server_id, name?, transport: "http", transport_url, auth_header_name?}`; a node's server
// matches `server_id` (or `name`). A missing or malformed sidecar yields no routes (upstream: the
// pack must still load; the node then falls back to the tenant's catalog). Ours adds, per route,
// `auth_secret` (the tenant secret whose value is sent in `auth_header_name`, default
// `Authorization`) and `timeout_ms`. A tenant declares the same array through the admin API.
import { z } from 'zod';
import { hostAllowed } from '../component/edge/host-policy.js';
import type { JsonValue } from '../flow/model.js';
import { type McpEndpoint, type McpToolResult, mcpFailure } from './mcp-client.js';

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;

export const mcpRouteSchema = z.looseObject({
  server_id: z.string().min(1).max(128),
  name: z.string().min(1).max(128).optional(),
  transport: z.literal('http'),
  transport_url: z.url({ protocol: /^https?$/ }),
  auth_header_name: z.string().regex(HEADER_NAME, 'must be an HTTP header name').optional(),
  auth_secret: z.string().min(1).max(256).optional(),
  timeout_ms: z.int().min(100).max(120_000).optional(),
});
export type McpRoute = z.infer<typeof mcpRouteSchema>;
export const mcpRoutesSchema = z.array(mcpRouteSchema).max(100);

/** The routes of a sidecar's text, or undefined (with why) when it cannot be used. */
export function parseMcpRoutes(text: string): { ok: true; routes: McpRoute[] } | { ok: false; reason: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  const parsed = mcpRoutesSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, reason: parsed.error.issues.map((i) => `/${i.path.join('/')}: ${i.message}`).join('; ') };
  return { ok: true, routes: parsed.data };
}

export function findRoute(routes: readonly McpRoute[], server: string): McpRoute | undefined {
  return routes.find((r) => r.server_id === server) ?? routes.find((r) => r.name === server);
}

export interface RouteContext {
  /** Hosts the tenant's MCP calls may reach. */
  allowHosts: readonly string[];
  /** A tenant secret's value, or null when it is not set. */
  secret(key: string): Promise<string | null>;
}

/** The endpoint of a route (credentials read, host checked), or the failure the node gets instead. */
export async function endpointOf(route: McpRoute, server: string, tool: string, ctx: RouteContext): Promise<McpEndpoint | McpToolResult> {
  const url = new URL(route.transport_url);
  if (!hostAllowed(url, [...ctx.allowHosts]))
    return mcpFailure(
      'mcp_host_not_allowed',
      tool,
      `MCP server "${server}" at host "${url.hostname}" is not in the tenant's MCP host allow-list (MCP_ALLOW_HOSTS)`,
    );
  const endpoint: McpEndpoint = { server, url: route.transport_url };
  if (route.timeout_ms !== undefined) endpoint.timeoutMs = route.timeout_ms;
  if (route.auth_secret !== undefined) {
    const value = await ctx.secret(route.auth_secret);
    if (value === null)
      return mcpFailure(
        'mcp_unauthorized',
        tool,
        `MCP server "${server}" needs the tenant secret "${route.auth_secret}", which is not set`,
      );
    endpoint.headers = { [route.auth_header_name ?? 'Authorization']: value };
  }
  return endpoint;
}

/** A fetch that refuses hosts outside the allow-list (redirects included) before any request leaves. */
export function allowListedFetch(allowHosts: readonly string[], inner: typeof fetch = fetch): typeof fetch {
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (!hostAllowed(url, [...allowHosts])) return Promise.reject(new Error(`host "${url.hostname}" is not in the MCP allow-list`));
    return inner(input, init);
  };
}

/** JSON a flow may see of a result (the SDK's result objects are plain JSON already). */
export function resultValue(result: McpToolResult): JsonValue {
  return result as unknown as JsonValue;
}
