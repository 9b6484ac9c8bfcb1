// Calls a tool of a remote MCP server over Streamable HTTP with the official TypeScript SDK's
// client (JSON-RPC `initialize`, `tools/list`, `tools/call`, `Mcp-Session-Id`, SSE or JSON
// responses). The SDK's default JSON-schema validator (Ajv) compiles code with `new Function`,
// which workerd forbids, so the client is built with the SDK's Cloudflare-safe validator. Runs the
// same in Node (greentic-flow run) and in the Worker. Every outcome is a value in upstream's shape,
// `{ok: true, result}` or `{ok: false, error: {code, message, status, tool}}`, never a throw.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { CfWorkerJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/cfworker';
import { errorMessage } from '../core/coded-error.js';
import { MCP_LIST_TOOLS } from '../flow/identifiers.js';
import type { JsonObject, JsonValue } from '../flow/model.js';

/** A resolved server: where it is, the headers a call carries (credentials), its time limit. */
export interface McpEndpoint {
  /** The name the flow uses (`server:` of the node). */
  server: string;
  url: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export type McpErrorCode =
  | 'mcp_server_unknown'
  | 'mcp_host_not_allowed'
  | 'mcp_timeout'
  | 'mcp_unauthorized'
  | 'mcp_http_error'
  | 'mcp_unreachable'
  | 'mcp_protocol_error'
  | 'mcp_tool_error'
  | 'mcp_router_error';

export type McpToolResult =
  | { ok: true; result: JsonValue }
  /** A packaged router asked for more input instead of answering (upstream's adapter: `elicitation`). */
  | { ok: true; elicitation: JsonValue }
  | { ok: false; error: { code: McpErrorCode; message: string; status: number | null; tool: string } };

export const DEFAULT_MCP_TIMEOUT_MS = 10_000;
const CLIENT_INFO = { name: 'greentic-runner', version: '1.0.0' };

export function mcpFailure(code: McpErrorCode, tool: string, message: string, status: number | null = null): McpToolResult {
  return { ok: false, error: { code, message, status, tool } };
}

class Timeout extends Error {}

function failureOf(err: unknown, tool: string, server: string, timeoutMs: number): McpToolResult {
  if (err instanceof Timeout) return mcpFailure('mcp_timeout', tool, `MCP server "${server}" did not answer within ${timeoutMs} ms`);
  if (err instanceof StreamableHTTPError) {
    const status = typeof err.code === 'number' && err.code > 0 ? err.code : null;
    if (status === 401 || status === 403)
      return mcpFailure(
        'mcp_unauthorized',
        tool,
        `MCP server "${server}" refused the credentials (HTTP ${status}); check the tenant secret it is given`,
        status,
      );
    return mcpFailure('mcp_http_error', tool, `MCP server "${server}": ${err.message}`, status);
  }
  if (err instanceof McpError) {
    if (err.code === -32001) return mcpFailure('mcp_timeout', tool, `MCP server "${server}" did not answer within ${timeoutMs} ms`);
    return mcpFailure('mcp_protocol_error', tool, `MCP server "${server}": ${err.message}`);
  }
  return mcpFailure('mcp_unreachable', tool, `MCP server "${server}" could not be reached: ${errorMessage(err)}`);
}

/**
 * Connects (initialize), checks the tool is listed (tools/list), calls it (tools/call) and closes
 * the session, all within the endpoint's time limit; for `MCP_LIST_TOOLS` the listing is the result. `fetcher` is where the requests go (the
 * caller enforces host rules there).
 */
export async function callMcpTool(
  endpoint: McpEndpoint,
  tool: string,
  args: JsonValue,
  fetcher: typeof fetch = fetch,
): Promise<McpToolResult> {
  const timeoutMs = endpoint.timeoutMs ?? DEFAULT_MCP_TIMEOUT_MS;
  const abort = new AbortController();
  const boundFetch: typeof fetch = (input, init) => fetcher(input, { ...init, signal: abort.signal });
  const transport = new StreamableHTTPClientTransport(new URL(endpoint.url), {
    fetch: boundFetch,
    requestInit: { headers: endpoint.headers ?? {} },
  });
  const client = new Client(CLIENT_INFO, { jsonSchemaValidator: new CfWorkerJsonSchemaValidator() });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(new Timeout());
    }, timeoutMs);
  });
  const call = async (): Promise<McpToolResult> => {
    await client.connect(transport, { timeout: timeoutMs });
    const listed = await client.listTools(undefined, { timeout: timeoutMs });
    if (tool === MCP_LIST_TOOLS) return { ok: true, result: listed as unknown as JsonValue };
    if (!listed.tools.some((t) => t.name === tool)) {
      const names = listed.tools.map((t) => t.name).join(', ');
      return mcpFailure('mcp_tool_error', tool, `MCP server "${endpoint.server}" has no tool "${tool}" (it lists: ${names || 'none'})`);
    }
    const result = await client.callTool({ name: tool, arguments: (args ?? {}) as JsonObject }, undefined, { timeout: timeoutMs });
    if (result.isError === true) {
      const text = Array.isArray(result.content) ? result.content.flatMap((c) => (c.type === 'text' ? [c.text] : [])).join('\n') : '';
      return mcpFailure('mcp_tool_error', tool, text || `tool "${tool}" reported an error`);
    }
    return { ok: true, result: result as unknown as JsonValue };
  };
  try {
    return await Promise.race([call(), deadline]);
  } catch (err) {
    return failureOf(err, tool, endpoint.server, timeoutMs);
  } finally {
    clearTimeout(timer);
    // Ends the session (DELETE with its Mcp-Session-Id) without letting a slow server hold the run.
    void Promise.race([client.close(), new Promise((r) => setTimeout(r, 1_000))]).catch(() => undefined);
  }
}
