/** Runs in Node before the workers pool: the local MCP server the MCP tests call (test/support/mcp-test-server.ts). */
import type { TestProject } from 'vitest/node';
import { startMcpTestServer } from '../support/mcp-test-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    mcpServer: { url: string; secureUrl: string };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startMcpTestServer();
  project.provide('mcpServer', { url: server.url, secureUrl: server.secureUrl });
  return () => server.close();
}
