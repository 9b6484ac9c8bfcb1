// Puts `mcp` nodes on the MCP client: an invoker that serves `target.kind === 'mcp'` calls (the
// node's `server` and `tool`) and hands every other call to the component invoker it wraps. A
// failure comes back as a node error carrying upstream's error value in `details`, which the mcp
// node turns into its output when it has no error route (flow/invoke-node.ts).
import type { ComponentInvoker, InvokeResult } from '../flow/ports.js';
import { callMcpTool, type McpEndpoint, type McpToolResult } from './mcp-client.js';
import { callRouterTool, type McpRouterTarget } from './mcp-router.js';

/**
 * Finds a server for a tool call: a router component of the pack, a remote endpoint, or the
 * failure the node gets (unknown server, host refused, no credentials).
 */
export type McpResolver = (server: string, tool: string) => Promise<McpEndpoint | McpRouterTarget | McpToolResult>;

function asInvokeResult(result: McpToolResult): InvokeResult {
  if (result.ok) return { ok: true, output: result as never };
  return { ok: false, error: { code: result.error.code, message: result.error.message, retryable: false, details: result.error as never } };
}

export function mcpInvoker(inner: ComponentInvoker | undefined, resolve: McpResolver, fetcher?: typeof fetch): ComponentInvoker {
  return {
    async invoke(target, operation, input, ctx) {
      if (target.kind !== 'mcp') {
        if (inner !== undefined) return inner.invoke(target, operation, input, ctx);
        return {
          ok: false,
          error: {
            code: 'unsupported_node_kind',
            message: `"${target.id}" is a ${target.kind} call and this pack has no components`,
            retryable: false,
          },
        };
      }
      const endpoint = await resolve(target.id, operation);
      if ('ok' in endpoint) return asInvokeResult(endpoint);
      if ('router' in endpoint) return asInvokeResult(await callRouterTool(endpoint, operation, input));
      return asInvokeResult(await callMcpTool(endpoint, operation, input, fetcher));
    },
  };
}
