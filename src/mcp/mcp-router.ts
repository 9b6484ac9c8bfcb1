// An MCP server packaged in the pack as a component (`wasix:mcp/router@25.6.18`): an `mcp` node
// whose server names it calls its `list-tools` / `call-tool` in the pack's Dynamic Worker instead of
// going over HTTP. What the router returns (jco's lifting of the WIT types) is turned into the JSON
// shapes an MCP client sees (`Tool`, `CallToolResult`), so a flow reads the same `{ok, result}`
// whichever way the server is reached.

import {
  type Dialect,
  MCP_ROUTER_DIALECT,
  type McpRouterCallWire,
  type McpRouterReply,
  type McpRouterValue,
} from '../component/isolate/protocol.js';
import { MCP_LIST_TOOLS } from '../flow/identifiers.js';
import type { JsonObject, JsonValue } from '../flow/model.js';
import { type McpToolResult, mcpFailure } from './mcp-client.js';

/** A pack's router component, bound to the runner that calls it. */
export interface McpRouterTarget {
  server: string;
  router: (call: McpRouterCallWire) => Promise<McpRouterReply>;
}

/** Finds the pack's router component a server name names (its component id), or undefined. */
export type McpRouterFinder = (server: string) => Promise<McpRouterTarget | undefined>;

/** The runner calls a router needs (edge/runner.ts `ComponentRunner`). */
export interface McpRouterRunner {
  dialectOf(componentId: string): Promise<Dialect | undefined>;
  mcpRouter(componentId: string, call: McpRouterCallWire): Promise<McpRouterReply>;
}

/** A server name that is the id of one of the pack's router components is served by it, in-process. */
export function packRouters(runner: McpRouterRunner): McpRouterFinder {
  return async (server) =>
    (await runner.dialectOf(server)) === MCP_ROUTER_DIALECT ? { server, router: (call) => runner.mcpRouter(server, call) } : undefined;
}

class BadRouterValue extends Error {}

type Lifted = Record<string, unknown>;

function record(value: unknown, where: string): Lifted {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new BadRouterValue(`${where} is not a record`);
  return value as Lifted;
}

function json(text: unknown, where: string): JsonValue {
  if (typeof text !== 'string') throw new BadRouterValue(`${where} is not a json string`);
  try {
    return JSON.parse(text) as JsonValue;
  } catch (err) {
    throw new BadRouterValue(`${where} is not JSON: ${(err as Error).message}`);
  }
}

/** Copies the fields that are set, converting u64 sizes (bigint) to numbers. */
function defined(fields: Record<string, unknown>): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    out[key] = typeof value === 'bigint' ? Number(value) : (value as JsonValue);
  }
  return out;
}

/** `meta: option<list<meta-entry>>` → MCP's `_meta` object. */
function metaOf(value: unknown, where: string): JsonObject | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw new BadRouterValue(`${where} is not a list`);
  const out: JsonObject = {};
  value.forEach((entry, i) => {
    const e = record(entry, `${where}[${i}]`);
    out[String(e.key)] = json(e.value, `${where}[${i}].value`);
  });
  return out;
}

function annotationsOf(value: unknown): JsonObject | undefined {
  if (value === undefined) return undefined;
  const a = record(value, 'annotations');
  return defined({ audience: a.audience, priority: a.priority, lastModified: a.lastModified });
}

function resourceContentsOf(value: unknown, where: string): JsonObject {
  const v = record(value, where);
  const c = record(v.val, where);
  const common = { uri: c.uri, mimeType: c.mimeType, _meta: metaOf(c.meta, `${where}.meta`) };
  return defined(v.tag === 'blob' ? { ...common, blob: c.blob } : { ...common, text: c.text });
}

/** One `content-block` → MCP `ContentBlock` (`text`, `image`, `audio`, `resource_link`, `resource`). */
function contentOf(value: unknown, where: string): JsonObject {
  const block = record(value, where);
  const c = record(block.val, `${where}.${String(block.tag)}`);
  const tail = { annotations: annotationsOf(c.annotations), _meta: metaOf(c.meta, `${where}.meta`) };
  switch (block.tag) {
    case 'text':
      return defined({ type: 'text', text: c.text, ...tail });
    case 'image':
    case 'audio':
      return defined({ type: block.tag, data: c.data, mimeType: c.mimeType, ...tail });
    case 'resource-link':
      return defined({
        type: 'resource_link',
        uri: c.uri,
        name: c.name,
        title: c.title,
        description: c.description,
        mimeType: c.mimeType,
        size: c.size,
        ...tail,
      });
    case 'embedded-resource':
      return defined({ type: 'resource', resource: resourceContentsOf(c.resource, `${where}.resource`), ...tail });
    default:
      throw new BadRouterValue(`${where} has unknown case ${String(block.tag)}`);
  }
}

/** `list<tool>` → MCP `ListToolsResult`. */
export function toolsListOf(value: unknown): JsonObject {
  if (!Array.isArray(value)) throw new BadRouterValue('list-tools did not return a list');
  const tools = value.map((item, i): JsonObject => {
    const t = record(item, `tools[${i}]`);
    const a = t.annotations === undefined ? undefined : record(t.annotations, `tools[${i}].annotations`);
    return defined({
      name: t.name,
      title: t.title,
      description: t.description,
      inputSchema: json(t.inputSchema, `tools[${i}].input-schema`),
      outputSchema: t.outputSchema === undefined ? undefined : json(t.outputSchema, `tools[${i}].output-schema`),
      annotations:
        a === undefined
          ? undefined
          : defined({ readOnlyHint: a.readOnly, destructiveHint: a.destructive, streaming: a.streaming, experimental: a.experimental }),
      _meta: metaOf(t.meta, `tools[${i}].meta`),
    });
  });
  return { tools };
}

/** `tool-result` → MCP `CallToolResult` (plus `progress` when the router reports any). */
export function callToolResultOf(value: unknown): JsonObject {
  const r = record(value, 'tool-result');
  if (!Array.isArray(r.content)) throw new BadRouterValue('tool-result.content is not a list');
  return defined({
    content: r.content.map((c, i) => contentOf(c, `content[${i}]`)),
    structuredContent: r.structuredContent === undefined ? undefined : json(r.structuredContent, 'tool-result.structured-content'),
    isError: r.isError,
    _meta: metaOf(r.meta, 'tool-result.meta'),
    progress: r.progress === undefined ? undefined : (r.progress as unknown[]).map((p, i) => defined(record(p, `progress[${i}]`))),
  });
}

function toolErrorOf(server: string, tool: string, error: { tag: string; val: unknown }): McpToolResult {
  const detail = String(error.val);
  if (error.tag === 'not-found') return mcpFailure('mcp_tool_error', tool, `MCP server "${server}" has no tool "${tool}": ${detail}`);
  return mcpFailure('mcp_tool_error', tool, `${error.tag}: ${detail}`);
}

function resultOf(server: string, tool: string, value: McpRouterValue): McpToolResult {
  if (value.fn === 'list-tools') return { ok: true, result: toolsListOf(value.tools) };
  if ('toolError' in value) return toolErrorOf(server, tool, value.toolError);
  const response = record(value.response, 'response');
  if (response.tag === 'elicit') {
    const e = record(response.val, 'elicitation-request');
    return {
      ok: true,
      elicitation: defined({
        message: e.message,
        requestedSchema: json(e.requestedSchema, 'elicitation-request.requested-schema'),
        _meta: metaOf(e.meta, 'elicitation-request.meta'),
      }),
    };
  }
  if (response.tag !== 'completed') throw new BadRouterValue(`response has unknown case ${String(response.tag)}`);
  const result = callToolResultOf(response.val);
  if (result.isError === true) {
    const content = Array.isArray(result.content) ? result.content : [];
    const text = content.flatMap((c) =>
      c !== null && typeof c === 'object' && !Array.isArray(c) && c.type === 'text' ? [String(c.text)] : [],
    );
    return mcpFailure('mcp_tool_error', tool, text.join('\n') || `tool "${tool}" reported an error`);
  }
  return { ok: true, result };
}

/** Lists the router's tools (`operation` = MCP_LIST_TOOLS) or calls one, in upstream's result shape. */
export async function callRouterTool(target: McpRouterTarget, operation: string, args: JsonValue): Promise<McpToolResult> {
  const call: McpRouterCallWire =
    operation === MCP_LIST_TOOLS ? { fn: 'list-tools' } : { fn: 'call-tool', tool: operation, argumentsJson: JSON.stringify(args ?? {}) };
  const reply = await target.router(call);
  if (!reply.ok) {
    const code = reply.error.code === 'timeout' ? 'mcp_timeout' : 'mcp_router_error';
    return mcpFailure(code, operation, `MCP router "${target.server}": ${reply.error.message}`);
  }
  try {
    return resultOf(target.server, operation, reply.value);
  } catch (err) {
    if (!(err instanceof BadRouterValue)) throw err;
    return mcpFailure('mcp_protocol_error', operation, `MCP router "${target.server}" returned a malformed value: ${err.message}`);
  }
}
