// The Worker's side of MCP: a turn's servers come from its pack's `assets/mcp-routes.json` (read
// from the stored archive once per pack digest and isolate) and then from the tenant's catalog
// (admin API, R2 `mcp-routes/{env}/{tenant}.json`); credentials from tenant secrets; reachable
// hosts from `MCP_ALLOW_HOSTS` (JSON map tenant → host patterns; a tenant not in it reaches none).
import { errorMessage } from '../core/coded-error.js';
import { logEvent } from '../edge/telemetry.js';
import type { Env } from '../env.js';
import { readZip } from '../pack/zip.js';
import { archiveKey } from '../pack-store/pack-store.js';
import { readTenantSecret } from '../session/webhook-auth.js';
import { mcpFailure } from './mcp-client.js';
import type { McpResolver } from './mcp-invoker.js';
import type { McpRouterFinder } from './mcp-router.js';
import { endpointOf, findRoute, type McpRoute, parseMcpRoutes } from './mcp-routes.js';

export const PACK_MCP_ROUTES = 'assets/mcp-routes.json';

const packRoutesCache = new Map<string, McpRoute[]>();

export function tenantRoutesKey(env: string, tenant: string): string {
  return `mcp-routes/${env}/${tenant}.json`;
}

/** The pack's sidecar routes; none when it has no sidecar or one that does not parse (logged). */
async function packRoutes(bucket: R2Bucket, digest: string): Promise<McpRoute[]> {
  const cached = packRoutesCache.get(digest);
  if (cached !== undefined) return cached;
  const object = await bucket.get(archiveKey(digest));
  let routes: McpRoute[] = [];
  if (object !== null) {
    const entry = readZip(new Uint8Array(await object.arrayBuffer())).find((e) => e.name === PACK_MCP_ROUTES);
    if (entry !== undefined) {
      const parsed = parseMcpRoutes(new TextDecoder().decode(entry.data));
      if (parsed.ok) routes = parsed.routes;
      else logEvent('warn', 'mcp.pack_routes_invalid', { digest, reason: parsed.reason });
    }
  }
  if (packRoutesCache.size > 500) packRoutesCache.delete(packRoutesCache.keys().next().value ?? '');
  packRoutesCache.set(digest, routes);
  return routes;
}

export async function tenantRoutes(bucket: R2Bucket, env: string, tenant: string): Promise<McpRoute[]> {
  const object = await bucket.get(tenantRoutesKey(env, tenant));
  if (object === null) return [];
  const parsed = parseMcpRoutes(await object.text());
  return parsed.ok ? parsed.routes : [];
}

export function mcpAllowHosts(env: Pick<Env, 'MCP_ALLOW_HOSTS'>, tenant: string): string[] {
  try {
    const hosts = (JSON.parse(env.MCP_ALLOW_HOSTS ?? '{}') as Record<string, unknown>)[tenant];
    return Array.isArray(hosts) ? hosts.filter((h): h is string => typeof h === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * Resolves a server name: a router component of the pack (by component id), then the pack's
 * sidecar, then the tenant's catalog.
 */
export function edgeMcpResolver(env: Env, tenant: string, packDigest: string, routers?: McpRouterFinder): McpResolver {
  return async (server, tool) => {
    let route: McpRoute | undefined;
    try {
      const router = await routers?.(server);
      if (router !== undefined) return router;
      route =
        findRoute(await packRoutes(env.PACKS, packDigest), server) ??
        findRoute(await tenantRoutes(env.PACKS, env.GREENTIC_ENV, tenant), server);
    } catch (err) {
      return mcpFailure('mcp_unreachable', tool, `the MCP servers could not be resolved: ${errorMessage(err)}`);
    }
    if (route === undefined)
      return mcpFailure(
        'mcp_server_unknown',
        tool,
        `no MCP server "${server}" in the pack's ${PACK_MCP_ROUTES} or the tenant's MCP servers`,
      );
    return endpointOf(route, server, tool, {
      allowHosts: mcpAllowHosts(env, tenant),
      secret: async (key) => {
        const value = await readTenantSecret(env, tenant, key);
        return value === null ? null : new TextDecoder().decode(value);
      },
    });
  };
}
