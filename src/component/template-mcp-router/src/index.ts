// An MCP server as a component (wasix:mcp/router@25.6.18). The runner calls `listTools` and
// `callTool`; the other functions are there because the interface has them. `json` values are JSON
// text. `callTool` answers `{tag: 'completed', val}` (set `isError` for a failure the caller should
// see as the tool's answer) or throws a `ToolError` (`{tag: 'invalid-parameters' | 'not-found' | …, val}`).
import type { ContentBlock, Response, ServerDescription, Tool, ToolError } from 'wasix:mcp/router@25.6.18';

const NAME = '{{name}}';

const TOOLS: Tool[] = [
  {
    name: 'greet',
    title: 'Greet',
    description: 'Greets `name`',
    inputSchema: JSON.stringify({ type: 'object', properties: { name: { type: 'string' } }, required: ['name'] }),
    outputSchema: JSON.stringify({ type: 'object', properties: { greeting: { type: 'string' } }, required: ['greeting'] }),
    annotations: { readOnly: true, destructive: false, streaming: undefined, experimental: undefined },
    meta: undefined,
  },
];

function fail(error: ToolError): never {
  throw error;
}

function text(value: string): ContentBlock {
  return { tag: 'text', val: { text: value, annotations: undefined, meta: undefined } };
}

function greet(args: Record<string, unknown>): Response {
  if (typeof args.name !== 'string' || args.name === '')
    return fail({ tag: 'invalid-parameters', val: '"name" must be a non-empty string' });
  const greeting = `Hello, ${args.name}!`;
  return {
    tag: 'completed',
    val: {
      content: [text(greeting)],
      structuredContent: JSON.stringify({ greeting }),
      progress: undefined,
      meta: undefined,
      isError: undefined,
    },
  };
}

function parseArguments(json: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(json);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  return fail({ tag: 'invalid-parameters', val: 'arguments must be a JSON object' });
}

const server: ServerDescription = {
  name: NAME,
  title: undefined,
  version: '0.1.0',
  instructions: undefined,
  capabilities: { tools: true, resources: false, prompts: false, completions: false },
};

export const router = {
  name: () => NAME,
  title: () => undefined,
  instructions: () => '',
  describeServer: () => server,
  listTools: () => TOOLS,
  callTool(toolName: string, json: string): Response {
    const args = parseArguments(json);
    if (toolName === 'greet') return greet(args);
    return fail({ tag: 'not-found', val: `no tool "${toolName}"` });
  },
  listResources: () => [],
  readResource: (uri: string) => fail({ tag: 'not-found', val: uri } as never),
  listPrompts: () => [],
  getPrompt: (name: string) => fail({ tag: 'not-found', val: name } as never),
  complete: () => ({ values: [], total: undefined, hasMore: undefined }),
};
