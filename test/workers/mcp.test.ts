// `mcp` nodes against a real MCP server (the official SDK's, on 127.0.0.1, started by
// test/workers/mcp.global-setup.ts), called from flows run by the events ingress in workerd.
import { SELF } from 'cloudflare:test';
import { describe, expect, inject, it } from 'vitest';
import { buildPack } from '../../src/pack/builder.js';
import { activate, seedPack, uploadAndActivate } from '../support/runtime-fixtures.js';

const AUTH = { authorization: 'Bearer test-admin-token' };
const server = inject('mcpServer');

async function putServers(tenant: string, routes: unknown[]): Promise<void> {
  const res = await SELF.fetch(`http://runner/admin/v1/tenants/${tenant}/mcp-servers`, {
    method: 'PUT',
    headers: AUTH,
    body: JSON.stringify(routes),
  });
  expect(res.status, await res.clone().text()).toBe(200);
}

async function putSecret(tenant: string, key: string, value: string): Promise<void> {
  const res = await SELF.fetch(`http://runner/admin/v1/tenants/${tenant}/secrets/${key}`, { method: 'PUT', headers: AUTH, body: value });
  expect(res.status).toBeLessThan(300);
}

/** A flow whose last node is one mcp call: its output is the node's value. */
function callFlow(id: string, serverName: string, tool: string, args: string): string {
  return `id: ${id}
type: events
parameters: { subscribes_to: ["webhook.received"] }
nodes:
  call:
    mcp: { server: ${serverName}, tool: ${tool}, arguments: ${args} }
    routing: out
`;
}

describe('mcp nodes over Streamable HTTP (official SDK client in workerd)', () => {
  it('lists and calls a tool (tools/list, tools/call) and routes on its structured result', async () => {
    await putServers('mcp-t', [{ server_id: 'calc', transport: 'http', transport_url: server.url }]);
    const flow = `id: sum
type: events
parameters: { subscribes_to: ["webhook.received"] }
nodes:
  add:
    mcp: { server: calc, tool: add, arguments: { a: 2, b: 3 }, output: sum }
    routing: [ { to: say } ]
  say:
    emit.response: { text: "sum is {{node.add.sum.result.structuredContent.sum}}" }
    routing: out
`;
    const outputs = await runFlowsAs('mcp-t', 'sum-pack', [flow]);
    expect(outputs['sum']).toEqual([{ text: 'sum is 5' }]);
  });

  it("operation: list returns the server's tools/list result", async () => {
    await putServers('mcp-t', [{ server_id: 'calc', transport: 'http', transport_url: server.url }]);
    const outputs = await runFlowsAs('mcp-t', 'list-pack', [
      `id: tools
type: events
parameters: { subscribes_to: ["webhook.received"] }
nodes:
  list:
    mcp: { server: calc, operation: list }
    routing: out
`,
    ]);
    const listed = outputs['tools'] as { ok: boolean; result: { tools: { name: string; inputSchema: unknown }[] } };
    expect(listed.ok).toBe(true);
    expect(listed.result.tools.find((t) => t.name === 'add')).toMatchObject({ inputSchema: { type: 'object' } });
  });

  it('returns failures as values {ok:false, error:{code, message, status, tool}}: tool error, timeout, unknown server', async () => {
    await putServers('mcp-err', [
      { server_id: 'calc', transport: 'http', transport_url: server.url },
      { server_id: 'tight', transport: 'http', transport_url: server.url, timeout_ms: 300 },
    ]);
    const outputs = await runFlowsAs('mcp-err', 'err-pack', [
      callFlow('broken', 'calc', 'fail', '{}'),
      callFlow('late', 'tight', 'slow', '{ ms: 3000 }'),
      callFlow('nowhere', 'nope', 'add', '{}'),
      callFlow('missing', 'calc', 'no_such_tool', '{}'),
    ]);
    expect(outputs['broken']).toEqual({
      ok: false,
      error: { code: 'mcp_tool_error', message: 'the tool broke', status: null, tool: 'fail' },
    });
    expect(outputs['late']).toMatchObject({
      ok: false,
      error: { code: 'mcp_timeout', tool: 'slow', message: expect.stringMatching(/within 300 ms/) },
    });
    expect(outputs['nowhere']).toMatchObject({ ok: false, error: { code: 'mcp_server_unknown', tool: 'add' } });
    expect(outputs['missing']).toMatchObject({
      ok: false,
      error: { code: 'mcp_tool_error', message: expect.stringMatching(/no tool "no_such_tool".*add/) },
    });
  });

  it('refuses a server outside the tenant host allow-list before any request leaves', async () => {
    const local = server.url.replace('127.0.0.1', 'localhost');
    await putServers('mcp-t', [{ server_id: 'elsewhere', transport: 'http', transport_url: local }]);
    const outputs = await runFlowsAs('mcp-t', 'host-pack', [callFlow('far', 'elsewhere', 'echo', '{ text: hi }')]);
    expect(outputs['far']).toMatchObject({
      ok: false,
      error: { code: 'mcp_host_not_allowed', message: expect.stringMatching(/"localhost"/) },
    });
  });

  it('sends the tenant secret as the credential: a wrong one is mcp_unauthorized with status 401, the right one works', async () => {
    await putServers('mcp-t', [{ server_id: 'vault', transport: 'http', transport_url: server.secureUrl, auth_secret: 'vault_token' }]);
    await putSecret('mcp-t', 'vault_token', 'Bearer wrong-token');
    const bad = await runFlowsAs('mcp-t', 'cred-pack', [callFlow('guarded', 'vault', 'echo', '{ text: hi }')]);
    expect(bad['guarded']).toMatchObject({ ok: false, error: { code: 'mcp_unauthorized', status: 401, tool: 'echo' } });
    await putSecret('mcp-t', 'vault_token', 'Bearer good-token');
    const good = await runFlowsAs('mcp-t', 'cred-pack2', [callFlow('guarded', 'vault', 'echo', '{ text: hi }')]);
    expect(good['guarded']).toMatchObject({ ok: true, result: { content: [{ type: 'text', text: 'echo: hi' }] } });
  });

  it('a failing mcp node with an error route takes it', async () => {
    await putServers('mcp-err', [{ server_id: 'calc', transport: 'http', transport_url: server.url }]);
    const flow = `id: routed
type: events
parameters: { subscribes_to: ["webhook.received"] }
nodes:
  call:
    mcp: { server: calc, tool: fail }
    routing:
      - { condition: "event == \\"on_error\\"", to: sorry }
      - { to: fine }
  sorry:
    emit.response: { text: "tool failed" }
    routing: out
  fine:
    emit.response: { text: "tool ok" }
    routing: out
`;
    const outputs = await runFlowsAs('mcp-err', 'route-pack', [flow]);
    expect(outputs['routed']).toEqual([{ text: 'tool failed' }]);
  });
});

describe("a pack's own MCP servers (assets/mcp-routes.json)", () => {
  const utf8 = new TextEncoder();
  async function uploadAndRun(tenant: string, packId: string, sidecar: string): Promise<unknown> {
    const pack = buildPack(
      new Map([
        [
          'pack.yaml',
          utf8.encode(
            `pack_id: ${packId}\nversion: 1.0.0\nkind: application\npublisher: tests\nflows:\n  - id: tools\n    file: flows/tools.ygtc\n`,
          ),
        ],
        ['flows/tools.ygtc', utf8.encode(callFlow('tools', 'packcalc', 'add', '{ a: 20, b: 22 }'))],
        ['assets/mcp-routes.json', utf8.encode(sidecar)],
      ]),
    );
    await uploadAndActivate(tenant, packId, pack.bytes);
    const res = await SELF.fetch(`http://runner/v1/events/ingress/webhook/${tenant}`, { method: 'POST', body: '{}' });
    const answer = (await res.json()) as { runs: { output: unknown }[] };
    await SELF.fetch(`http://runner/admin/v1/tenants/${tenant}/packs/${packId}`, { method: 'DELETE', headers: AUTH });
    return answer.runs[0]?.output;
  }

  it("an mcp node finds its server in the pack's sidecar, in upstream's format", async () => {
    const sidecar = JSON.stringify([{ server_id: 'packcalc', name: 'Pack calculator', transport: 'http', transport_url: server.url }]);
    expect(await uploadAndRun('mcp-t', 'sidecar-pack', sidecar)).toMatchObject({ ok: true, result: { structuredContent: { sum: 42 } } });
  });

  it('a malformed sidecar does not stop the pack: the node reports the server unknown', async () => {
    expect(await uploadAndRun('mcp-t', 'bad-sidecar-pack', '{ not an array }')).toMatchObject({
      ok: false,
      error: { code: 'mcp_server_unknown', tool: 'add' },
    });
  });
});

let packs = 0;
async function runFlowsAs(tenant: string, packId: string, flows: string[]): Promise<Record<string, unknown>> {
  const id = `${packId}-${++packs}`;
  const digest = await seedPack(id, '1.0.0', flows);
  await activate(tenant, id, digest);
  const res = await SELF.fetch(`http://runner/v1/events/ingress/webhook/${tenant}`, { method: 'POST', body: '{}' });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  const answer = JSON.parse(text) as { runs: { flow_id: string; output: unknown }[] };
  const outputs = Object.fromEntries(answer.runs.map((r) => [r.flow_id, r.output]));
  // The next test of this tenant activates its own pack instead.
  await SELF.fetch(`http://runner/admin/v1/tenants/${tenant}/packs/${id}`, { method: 'DELETE', headers: AUTH });
  return outputs;
}
