// Admin API for a tenant's MCP servers (its catalog, consulted after the pack's own sidecar),
// mounted under /admin/v1 (admin-api.ts):
//   PUT /tenants/{tenant}/mcp-servers  body: the routes array, in upstream's mcp-routes.json format
//   GET /tenants/{tenant}/mcp-servers  the routes as stored
import { Hono } from 'hono';
import { readBoundedBody } from '../edge/bounded-body.js';
import { IDENTIFIER, notAnIdentifier } from '../edge/tenant-ctx.js';
import type { Env } from '../env.js';
import { tenantRoutes, tenantRoutesKey } from './edge-mcp.js';
import { parseMcpRoutes } from './mcp-routes.js';

const MAX_BODY_BYTES = 64 * 1024;

export function mcpServersApi(): Hono<{ Bindings: Env }> {
  const api = new Hono<{ Bindings: Env }>();
  api.put('/tenants/:tenant/mcp-servers', async (c) => {
    const tenant = c.req.param('tenant');
    if (!IDENTIFIER.test(tenant)) return c.json({ error: 'invalid_tenant', message: notAnIdentifier('tenant', tenant) }, 400);
    const bytes = await readBoundedBody(c.req.raw, MAX_BODY_BYTES);
    if (bytes === undefined) return c.json({ error: 'payload_too_large', message: `the body exceeds ${MAX_BODY_BYTES} bytes` }, 413);
    const parsed = parseMcpRoutes(new TextDecoder().decode(bytes));
    if (!parsed.ok) return c.json({ error: 'invalid_mcp_servers', message: parsed.reason }, 400);
    await c.env.PACKS.put(tenantRoutesKey(c.env.GREENTIC_ENV, tenant), JSON.stringify(parsed.routes), {
      httpMetadata: { contentType: 'application/json' },
    });
    return c.json({ tenant, servers: parsed.routes });
  });
  api.get('/tenants/:tenant/mcp-servers', async (c) => {
    const tenant = c.req.param('tenant');
    if (!IDENTIFIER.test(tenant)) return c.json({ error: 'invalid_tenant', message: notAnIdentifier('tenant', tenant) }, 400);
    return c.json({ tenant, servers: await tenantRoutes(c.env.PACKS, c.env.GREENTIC_ENV, tenant) });
  });
  return api;
}
