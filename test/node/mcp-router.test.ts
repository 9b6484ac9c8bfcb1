// How a router component's values (jco's lifting of wasix:mcp/router@25.6.18) become the JSON an
// MCP client sees. The end-to-end path (componentize-js router in a pack's Dynamic Worker) is
// test/workers/mcp-router.test.ts; these cases cover the shapes that fixture does not return.
import { describe, expect, it } from 'vitest';
import type { McpRouterReply, McpRouterValue } from '../../src/component/isolate/protocol.js';
import { callRouterTool, type McpRouterTarget } from '../../src/mcp/mcp-router.js';

/** A router that answers every call with `value` (a lifted WIT value, as the isolate returns it). */
function answering(value: McpRouterValue): McpRouterTarget {
  return { server: 'r', router: async () => ({ ok: true, value, logs: [] }) };
}

function failing(reply: Extract<McpRouterReply, { ok: false }>): McpRouterTarget {
  return { server: 'r', router: async () => reply };
}

const meta = [{ key: 'trace', value: '{"id":7}' }];

describe('router values as MCP JSON', () => {
  it('every content-block case maps to its MCP content type, with annotations, _meta and u64 sizes as numbers', async () => {
    const response = {
      tag: 'completed',
      val: {
        content: [
          { tag: 'image', val: { data: 'iVBO', mimeType: 'image/png', annotations: { audience: ['user'], priority: 0.5 }, meta } },
          { tag: 'audio', val: { data: 'UklG', mimeType: 'audio/wav' } },
          { tag: 'resource-link', val: { uri: 'file:///a.txt', name: 'a', mimeType: 'text/plain', size: 12n } },
          { tag: 'embedded-resource', val: { resource: { tag: 'text', val: { uri: 'mem://x', text: 'hello' } } } },
          {
            tag: 'embedded-resource',
            val: { resource: { tag: 'blob', val: { uri: 'mem://y', mimeType: 'application/octet-stream', blob: 'AAE=' } } },
          },
        ],
        structuredContent: '{"n":1}',
        progress: [{ progress: 1, total: 2, message: 'half' }],
        meta,
        isError: false,
      },
    };
    expect(await callRouterTool(answering({ fn: 'call-tool', response }), 'media', {})).toEqual({
      ok: true,
      result: {
        content: [
          {
            type: 'image',
            data: 'iVBO',
            mimeType: 'image/png',
            annotations: { audience: ['user'], priority: 0.5 },
            _meta: { trace: { id: 7 } },
          },
          { type: 'audio', data: 'UklG', mimeType: 'audio/wav' },
          { type: 'resource_link', uri: 'file:///a.txt', name: 'a', mimeType: 'text/plain', size: 12 },
          { type: 'resource', resource: { uri: 'mem://x', text: 'hello' } },
          { type: 'resource', resource: { uri: 'mem://y', mimeType: 'application/octet-stream', blob: 'AAE=' } },
        ],
        structuredContent: { n: 1 },
        isError: false,
        _meta: { trace: { id: 7 } },
        progress: [{ progress: 1, total: 2, message: 'half' }],
      },
    });
  });

  it('a tool listing carries output schemas, streaming/experimental annotations and _meta', async () => {
    const tools = [
      {
        name: 't',
        title: 'T',
        description: 'd',
        inputSchema: '{"type":"object"}',
        outputSchema: '{"type":"string"}',
        annotations: { streaming: true, experimental: false },
        meta,
      },
    ];
    expect(await callRouterTool(answering({ fn: 'list-tools', tools }), 'tools/list', {})).toEqual({
      ok: true,
      result: {
        tools: [
          {
            name: 't',
            title: 'T',
            description: 'd',
            inputSchema: { type: 'object' },
            outputSchema: { type: 'string' },
            annotations: { streaming: true, experimental: false },
            _meta: { trace: { id: 7 } },
          },
        ],
      },
    });
  });

  it('a json field that is not JSON is mcp_protocol_error naming the field', async () => {
    const response = { tag: 'completed', val: { content: [], structuredContent: '{oops' } };
    expect(await callRouterTool(answering({ fn: 'call-tool', response }), 'x', {})).toMatchObject({
      ok: false,
      error: {
        code: 'mcp_protocol_error',
        tool: 'x',
        status: null,
        message: expect.stringMatching(/tool-result\.structured-content is not JSON/),
      },
    });
  });

  it('schema-error and execution-error are mcp_tool_error with the case in the message', async () => {
    for (const tag of ['schema-error', 'execution-error']) {
      expect(await callRouterTool(answering({ fn: 'call-tool', toolError: { tag, val: 'no' } }), 'x', {})).toEqual({
        ok: false,
        error: { code: 'mcp_tool_error', message: `${tag}: no`, status: null, tool: 'x' },
      });
    }
  });

  it('a router that traps is mcp_router_error; one that runs out of CPU is mcp_timeout', async () => {
    const trap = failing({ ok: false, error: { code: 'trap', message: 'component r trapped: unreachable', retryable: false }, logs: [] });
    expect(await callRouterTool(trap, 'x', {})).toEqual({
      ok: false,
      error: { code: 'mcp_router_error', message: 'MCP router "r": component r trapped: unreachable', status: null, tool: 'x' },
    });
    const slow = failing({ ok: false, error: { code: 'timeout', message: 'over budget', retryable: false }, logs: [] });
    expect(await callRouterTool(slow, 'x', {})).toMatchObject({ ok: false, error: { code: 'mcp_timeout' } });
  });
});
