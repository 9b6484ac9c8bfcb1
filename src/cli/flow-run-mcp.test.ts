// `greentic-flow run --mcp <server>=<url>` against a local MCP server (the official SDK's server).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type McpTestServer, startMcpTestServer } from '../../test/support/mcp-test-server.js';
import { runFlowCommand } from './flow-run.js';

let server: McpTestServer;
let dir: string;

beforeAll(async () => {
  server = await startMcpTestServer();
  dir = await mkdtemp(join(tmpdir(), 'flow-run-mcp-'));
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runFlowCommand(args, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

const FLOW = `id: weather
type: messaging
nodes:
  add:
    mcp: { server: calc, tool: add, arguments: { a: "{{in.a}}", b: 4 }, output: sum }
    routing: [ { to: say } ]
  say:
    emit.response: { text: "sum={{node.add.sum.result.structuredContent.sum}}" }
    routing: out
`;

describe('greentic-flow run --mcp', () => {
  it('runs mcp nodes against the server given on the command line (tools/list, tools/call)', async () => {
    const file = join(dir, 'weather.ygtc');
    await writeFile(file, FLOW);
    const r = await run([file, '--input', '{"a": 3}', '--mcp', `calc=${server.url}`, '--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ status: 'done', output: [{ text: 'sum=7' }] });
  });

  it('an mcp node naming a server not given on the command line yields an error value saying which --mcp to pass', async () => {
    const file = join(dir, 'lonely.ygtc');
    await writeFile(file, 'id: lonely\ntype: messaging\nnodes:\n  call:\n    mcp: { server: calc, tool: add }\n    routing: out\n');
    const r = await run([file, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).output).toMatchObject({
      ok: false,
      error: { code: 'mcp_server_unknown', message: expect.stringMatching(/--mcp calc=<url>/) },
    });
  });

  it('a malformed or repeated --mcp is a usage error (exit 2)', async () => {
    const file = join(dir, 'weather.ygtc');
    await writeFile(file, FLOW);
    const bad = await run([file, '--mcp', 'calc']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--mcp "calc" must be <server>=<http\(s\) URL>/);
    const twice = await run([file, '--mcp', `calc=${server.url}`, '--mcp', `calc=${server.url}`]);
    expect(twice.code).toBe(2);
    expect(twice.err).toMatch(/names server "calc" twice/);
  });
});
