import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type McpTestServer, startMcpTestServer } from '../../test/support/mcp-test-server.js';
import { runFlowCommand } from './flow-run.js';
import { main } from './greentic-flow.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flow-run-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runFlowCommand(args, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

async function flowFile(name: string, yaml: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, yaml);
  return file;
}

const CHAT = `id: onboarding
type: messaging
nodes:
  ask:
    emit.response: { text: "Hi {{in.text}}! What is your email?" }
    routing: [ { to: wait } ]
  wait:
    session.wait: { reason: need_email }
    routing: [ { to: remember } ]
  remember:
    state.set: { key: email, value: "{{in.text}}" }
    routing: [ { to: thanks } ]
  thanks:
    emit.response: { text: "Saved {{node.remember.value}}" }
    routing: out
`;

describe('greentic-flow run', () => {
  it('runs a flow to the end and prints exactly {status, output} with --json', async () => {
    const file = await flowFile(
      'hello.ygtc',
      `id: hello
type: messaging
nodes:
  greet:
    emit.response: { text: "Hello {{in.name}}" }
    routing: out
`,
    );
    const { code, out } = await run([file, '--input', '{"name":"Ada"}', '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({ status: 'done', output: [{ text: 'Hello Ada' }] });
  });

  it('pauses at session.wait and a second invocation with --resume finishes the conversation', async () => {
    const file = await flowFile('onboarding.ygtc', CHAT);
    const snapshotFile = join(dir, 'snapshot.json');
    const first = await run([file, '--input', '{"text":"Ada"}', '--json', '--snapshot-out', snapshotFile]);
    expect(first.code).toBe(0);
    const turn1 = JSON.parse(first.out) as { status: string; output: unknown; snapshot: { next_node: string } };
    expect(turn1.status).toBe('waiting');
    expect(turn1.output).toEqual([{ text: 'Hi Ada! What is your email?' }]);
    expect(turn1.snapshot.next_node).toBe('remember');
    expect(JSON.parse(await readFile(snapshotFile, 'utf8'))).toEqual(turn1.snapshot);

    const stateDir = join(dir, 'state');
    const second = await run([file, '--resume', snapshotFile, '--input', '{"text":"ada@example.com"}', '--state', stateDir, '--json']);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.out)).toEqual({ status: 'done', output: [{ text: 'Saved ada@example.com' }] });
    expect(JSON.parse(await readFile(join(stateDir, 'state.json'), 'utf8'))).toEqual({ email: 'ada@example.com' });
  });

  it('the snapshot printed on stdout can be saved by hand and resumed', async () => {
    const file = await flowFile('onboarding.ygtc', CHAT);
    const first = await run([file, '--input', '{"text":"Bo"}', '--json']);
    const snapshotFile = join(dir, 'saved.json');
    await writeFile(snapshotFile, JSON.stringify((JSON.parse(first.out) as { snapshot: unknown }).snapshot));
    const second = await run([file, '--resume', snapshotFile, '--input', '{"text":"bo@example.com"}', '--json']);
    expect(JSON.parse(second.out)).toEqual({ status: 'done', output: [{ text: 'Saved bo@example.com' }] });
  });

  it('--state keeps state.get/state.set values between separate runs', async () => {
    const file = await flowFile(
      'count.ygtc',
      `id: count
type: events
nodes:
  load:
    state.get: { key: last }
    routing: [ { to: save } ]
  save:
    state.set: { key: last, value: "{{in.v}}" }
    routing: [ { to: report } ]
  report:
    emit.response: { previous: "{{node.load.value}}", found: "{{node.load.found}}" }
    routing: out
`,
    );
    const stateDir = join(dir, 'st');
    const a = await run([file, '--input', '{"v":"one"}', '--state', stateDir, '--json']);
    expect(JSON.parse(a.out).output).toEqual([{ previous: null, found: false }]);
    const b = await run([file, '--input', '{"v":"two"}', '--state', stateDir, '--json']);
    expect(JSON.parse(b.out).output).toEqual([{ previous: 'one', found: true }]);
  });

  it('flow.call finds the called flow among the .ygtc files next to the main one', async () => {
    await flowFile(
      'format.ygtc',
      `id: format
type: events
nodes:
  fmt:
    emit.response: { text: "<{{in.word}}>" }
    routing: out
`,
    );
    const file = await flowFile(
      'main.ygtc',
      `id: main
type: events
nodes:
  call:
    flow.call: { flow: format, input: { word: "{{in.w}}" } }
    routing: [ { to: out_node } ]
  out_node:
    emit.response: { result: "{{node.call.data[0].text}}" }
    routing: out
`,
    );
    const { code, out } = await run([file, '--input', '{"w":"x"}', '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(out).output).toEqual([{ result: '<x>' }]);
  });

  it('a component node fails with a message pointing at greentic-component invoke or the runtime', async () => {
    const file = await flowFile(
      'comp.ygtc',
      `id: comp
type: messaging
nodes:
  call:
    component.exec: { component: weather, operation: forecast, input: { city: Oslo } }
    routing: out
`,
    );
    const { code, err } = await run([file, '--input', '{}', '--json']);
    expect(code).toBe(1);
    expect(err).toContain('unsupported_node_kind');
    expect(err).toContain('component nodes need greentic-component invoke or the runtime');
  });

  it('a flow that does not compile is reported with file:line:col and exit code 1', async () => {
    const file = await flowFile(
      'broken.ygtc',
      `id: broken
type: events
nodes:
  a:
    emit.response: { text: x }
    routing: [ { to: nowhere } ]
`,
    );
    const { code, err } = await run([file, '--input', '{}']);
    expect(code).toBe(1);
    expect(err).toMatch(/broken\.ygtc:\d+:\d+ MissingNode/);
  });

  it('invalid --input JSON and a missing file argument are usage errors', async () => {
    const file = await flowFile('onboarding.ygtc', CHAT);
    expect((await run([file, '--input', '{nope'])).code).toBe(2);
    expect((await run(['--input', '{}'])).code).toBe(2);
  });

  it('without --json a waiting run prints a readable summary with the snapshot', async () => {
    const file = await flowFile('onboarding.ygtc', CHAT);
    const { code, out } = await run([file, '--input', '{"text":"Ada"}']);
    expect(code).toBe(0);
    expect(out).toContain('status: waiting (need_email)');
    expect(out).toContain('"next_node": "remember"');
  });

  it('a step-budget overrun in a looping flow exits 1 naming the code', async () => {
    const file = await flowFile(
      'loop.ygtc',
      `id: loop
type: events
nodes:
  a:
    var.set: { name: n, value: 1 }
    routing: [ { to: b } ]
  b:
    var.set: { name: n, value: 2 }
    routing: [ { to: a } ]
`,
    );
    const { code, err } = await run([file, '--input', '{}']);
    expect(code).toBe(1);
    expect(err).toContain('step_budget_exceeded');
  });

  it('is reachable as `greentic-flow run` through main', async () => {
    const file = await flowFile(
      'hello.ygtc',
      `id: hello
type: events
nodes:
  greet: { emit.response: { text: "hi {{in.name}}" }, routing: out }
`,
    );
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    try {
      expect(await main(['run', file, '--input', '{"name":"Zed"}', '--json'])).toBe(0);
    } finally {
      spy.mockRestore();
    }
    expect(JSON.parse(out)).toEqual({ status: 'done', output: [{ text: 'hi Zed' }] });
  });
});

const MCP_FLOW = `id: weather
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
  let server: McpTestServer;
  beforeAll(async () => {
    server = await startMcpTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('runs mcp nodes against the server given on the command line (tools/list, tools/call)', async () => {
    const file = join(dir, 'weather.ygtc');
    await writeFile(file, MCP_FLOW);
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
    await writeFile(file, MCP_FLOW);
    const bad = await run([file, '--mcp', 'calc']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--mcp "calc" must be <server>=<http\(s\) URL>/);
    const twice = await run([file, '--mcp', `calc=${server.url}`, '--mcp', `calc=${server.url}`]);
    expect(twice.code).toBe(2);
    expect(twice.err).toMatch(/names server "calc" twice/);
  });
});
