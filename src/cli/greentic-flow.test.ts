import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { main } from './greentic-flow.js';

const FIXTURES = join(import.meta.dirname, '../flow/fixtures');
const fixture = (name: string): string => join(FIXTURES, name);

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { out: (t) => (stdout += t), err: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

async function tempFlow(name: string, source: string, sidecars: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'greentic-flow-'));
  const file = join(dir, name);
  await writeFile(file, source);
  for (const [suffix, text] of Object.entries(sidecars)) await writeFile(`${file}${suffix}`, text);
  return file;
}

describe('greentic-flow validate', () => {
  it('exits 0 and reports ok for valid flows', async () => {
    const result = await run(['validate', fixture('hello.ygtc'), fixture('helpdesk-ticket.ygtc')]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${fixture('hello.ygtc')}: ok\n${fixture('helpdesk-ticket.ygtc')}: ok\n`);
    expect(result.stderr).toBe('');
  });

  it('exits 1 and prints one file:line:col CODE message line per problem', async () => {
    const file = fixture('invalid-many.ygtc');
    const result = await run(['validate', file]);
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[1]).toBe(`${file}:7:15 MissingNode nodes.ask.routing[0].to "confirm" does not exist`);
  });

  it('--json prints the diagnostics of every file', async () => {
    const result = await run(['validate', '--json', fixture('hello.ygtc'), fixture('invalid-many.ygtc')]);
    expect(result.code).toBe(1);
    const reports = JSON.parse(result.stdout) as { file: string; ok: boolean; diagnostics: { code: string; pointer: string }[] }[];
    expect(reports.map((r) => r.ok)).toEqual([true, false]);
    expect(reports[1]?.diagnostics.map((d) => d.code)).toEqual([
      'InvalidIdentifier',
      'MissingNode',
      'Schema',
      'NodeComponentShape',
      'McpConfig',
    ]);
  });

  it("validate reports a `next:` route as a warning and exits 0; compile keeps upstream's custom route", async () => {
    const source =
      'id: on_message\ntype: messaging\nnodes:\n  a:\n    component.exec: { component: c, operation: o }\n    routing:\n      - next: b\n  b:\n    emit.response: { text: hi }\n    routing: out\n';
    const file = await tempFlow('next.ygtc', source);
    const result = await run(['validate', file]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`${file}:7:9 Routing (warning) nodes.a.routing[0] uses "next"`);
    expect(result.stdout).toBe(`${file}: ok\n`);
    const compiled = await run(['compile', file]);
    expect(compiled.code).toBe(0);
    expect((JSON.parse(compiled.stdout) as { nodes: { a: { routing: unknown } } }).nodes.a.routing).toEqual({ custom: [{ next: 'b' }] });
  });

  it('a file that cannot be read is an error for that file', async () => {
    const result = await run(['validate', fixture('does-not-exist.ygtc')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/does-not-exist\.ygtc:1:1 Internal cannot read file/);
  });

  it('an invalid resolve sidecar next to the flow is reported', async () => {
    const file = await tempFlow('main.ygtc', await readFile(fixture('hello.ygtc'), 'utf8'), { '.resolve.json': '{"schema_version": 1}' });
    const result = await run(['validate', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${file}.resolve.json:1:1 Sidecar`);
  });

  it('without files it is a usage error (exit 2)', async () => {
    expect((await run(['validate'])).code).toBe(2);
  });

  it('--help prints the verb usage and exits 0', async () => {
    const result = await run(['validate', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('greentic-flow validate <file.ygtc>...');
  });
});

describe('greentic-flow compile', () => {
  it('prints the compiled flow JSON', async () => {
    const result = await run(['compile', fixture('hello.ygtc')]);
    expect(result.code).toBe(0);
    const flow = JSON.parse(result.stdout) as { schema_version: string; entrypoints: unknown; nodes: Record<string, unknown> };
    expect(flow.schema_version).toBe('flow-v1');
    expect(flow.entrypoints).toEqual({ default: 'start' });
    expect(Object.keys(flow.nodes)).toEqual(['start']);
  });

  it('--json wraps the flow with its diagnostics', async () => {
    const result = await run(['compile', '--json', fixture('weather-mcp.ygtc')]);
    const out = JSON.parse(result.stdout) as { flow: { id: string }; diagnostics: unknown[] };
    expect(out.flow.id).toBe('flow_get_weather');
    expect(out.diagnostics).toEqual([]);
  });

  it('applies the resolve summary found next to the flow', async () => {
    const summary = {
      schema_version: 1,
      flow: 'main.ygtc',
      nodes: Object.fromEntries(
        ['llm_default', 'llm_personalized'].map((n) => [
          n,
          { component_id: 'ai.greentic.chat2data', source: { kind: 'repo', ref: 'repo://x' }, digest: `sha256:${'b'.repeat(64)}` },
        ]),
      ),
    };
    const file = await tempFlow('main.ygtc', await readFile(fixture('wizard-steps.ygtc'), 'utf8'), {
      '.resolve.summary.json': JSON.stringify(summary),
    });
    const result = await run(['compile', file]);
    expect(result.code).toBe(0);
    const flow = JSON.parse(result.stdout) as { nodes: Record<string, { component: unknown }> };
    expect(flow.nodes.llm_default?.component).toEqual({ id: 'ai.greentic.chat2data', operation: 'run' });
  });

  it('exits 1 with diagnostics and no output when the flow does not compile', async () => {
    const file = await tempFlow('bad.ygtc', 'id: x\ntype: timer\nnodes:\n  a: { run: {} }\n');
    const result = await run(['compile', file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `${file}:2:7 UnknownFlowType type "timer" is not a known flow type (messaging, event, events, component-config, job, http)\n`,
    );
  });

  it('more than one file is a usage error', async () => {
    expect((await run(['compile', fixture('hello.ygtc'), fixture('hello.ygtc')])).code).toBe(2);
  });
});

describe('greentic-flow (tool)', () => {
  it('--help lists the verbs', async () => {
    const result = await run(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/validate[\s\S]*compile[\s\S]*run/);
  });

  it('an unknown verb is a usage error', async () => {
    const result = await run(['lint']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown verb "lint"');
  });

  it('the installed bin validates a flow end to end', async () => {
    const exec = promisify(execFile);
    const bin = join(import.meta.dirname, '../../bin/greentic-flow.js');
    const { stdout } = await exec(process.execPath, [bin, 'validate', fixture('config-flow.ygtc')]);
    expect(stdout).toBe(`${fixture('config-flow.ygtc')}: ok\n`);
  });
});
