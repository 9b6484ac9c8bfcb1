// Logs and spans never hold request data, failures included: a failure's code and location are
// logged, while the message that may quote the request goes only to the caller. Each case puts a
// marker in a request, makes the run fail on it, and searches every line the telemetry sink got.
import { SELF } from 'cloudflare:test';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setTelemetrySink, spansOfLine } from '../../src/edge/telemetry.js';
import { FlowRunError } from '../../src/flow/execution-state.js';
import { channelObject, channelObjectFor, WEBHOOK_CHANNEL } from '../../src/objects.js';
import type { FlowEngine } from '../../src/session/flow-engine.js';
import { webhookResponse } from '../../src/webhook/webhook.js';
import { injectedSession, RecordingEgress } from '../support/channel-session.js';
import { activate, ECHO_FLOW, seedPack, testEnv, webchatMessage } from '../support/runtime-fixtures.js';
import { until } from '../support/until.js';

let lines: string[] = [];
let restore: () => void = () => {};

beforeEach(() => {
  lines = [];
  restore = setTelemetrySink((line) => lines.push(line));
});

afterEach(() => {
  restore();
});

function expectNoLineHolds(marker: string): void {
  expect(lines.length).toBeGreaterThan(0);
  expect(lines.filter((line) => line.includes(marker))).toEqual([]);
}

describe('webhook failures are logged by code and location, never with request data', () => {
  it('a flow that fails on a flow name taken from the body tells the caller, while its spans say only flow_not_found and where', async () => {
    const flow = `id: jump
type: http
nodes:
  go:
    flow.goto: { flow: "{{in.body.text}}" }
    routing: out
`;
    await activate('redact-goto', 'redact-goto', await seedPack('redact-goto', '1.0.0', [flow]));
    const marker = 'MARKER-goto-7f3a';
    const res = await SELF.fetch('http://runner/v1/webhook/redact-goto/jump', { method: 'POST', body: marker });
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: string; message: string };
    expect(body.error).toBe('FlowFailed');
    expect(body.message).toContain(marker);

    expectNoLineHolds(marker);
    const failed = lines.flatMap(spansOfLine).find((l) => l.span === 'flow.execute');
    expect(failed?.error).toBe('flow_not_found (flow "jump")');
  });

  it("a component's error quoting the request reaches the caller but no log line or span", async () => {
    const flow = `id: parse
type: http
nodes:
  parse:
    component.exec: { component: parser, operation: run, input: { raw: "{{in.query.q}}" } }
    routing: out
`;
    await activate('redact-comp', 'redact-comp', await seedPack('redact-comp', '1.0.0', [flow]));
    const session = injectedSession(
      channelObject(testEnv, { env: testEnv.GREENTIC_ENV, tenant: 'redact-comp', team: 'default', channel: WEBHOOK_CHANNEL }, 'parse'),
      {
        invoker: () => ({
          invoke: async (_target, _op, input) => ({
            ok: false,
            error: { code: 'bad_input', message: `cannot parse ${JSON.stringify(input)}`, retryable: false },
          }),
        }),
      },
    );
    const marker = 'MARKER-component-91c2';
    const result = await session.runWebhook({ tenant: 'redact-comp', flowId: 'parse', input: { query: { q: marker } } });
    expect(result).toMatchObject({ status: 'error', code: 'FlowFailed' });
    expect(result.status === 'error' ? result.message : '').toContain(marker);
    expectNoLineHolds(marker);
  });

  it('an output header named by the request is refused (502 reason to the caller) or dropped (logged as a count), never logged by name', async () => {
    const flow = `id: mirror
type: http
nodes:
  answer:
    component.exec: { component: echo, operation: run, input: { status: 200, headers: "{{in.query}}", body: "ok" } }
    routing: out
`;
    await activate('redact-hdr', 'redact-hdr', await seedPack('redact-hdr', '1.0.0', [flow]));
    const session = injectedSession(
      channelObject(testEnv, { env: testEnv.GREENTIC_ENV, tenant: 'redact-hdr', team: 'default', channel: WEBHOOK_CHANNEL }, 'mirror'),
      { invoker: () => ({ invoke: async (_target, _op, input) => ({ ok: true, output: input }) }) },
    );
    const invalid = 'MARKER invalid name';
    const refused = await session.runWebhook({ tenant: 'redact-hdr', flowId: 'mirror', input: { query: { [invalid]: 'v' } } });
    expect(refused).toMatchObject({ status: 'error', code: 'InvalidFlowOutput' });
    expect(refused.status === 'error' ? refused.message : '').toContain(invalid);

    const dropped = 'marker-dropped-5d1e';
    const ran = await session.runWebhook({ tenant: 'redact-hdr', flowId: 'mirror', input: { query: { [dropped]: 'v' } } });
    expect(ran.status).toBe('done');
    const res = webhookResponse(ran.status === 'done' ? ran.output : null);
    expect(res.status).toBe(200);
    expect(res.headers.get(dropped)).toBeNull();

    expectNoLineHolds('MARKER');
    expectNoLineHolds(dropped);
    expect(lines.some((l) => l.includes('"event":"webhook.headers_dropped"') && l.includes('"dropped":1'))).toBe(true);
  });
});

describe('messaging turns that fail on their input are logged by code only', () => {
  it('a turn whose engine throws an error quoting the message logs session.turn_failed and its spans by code and location only', async () => {
    await activate('redact-chat', 'redact-chat', await seedPack('redact-chat', '1.0.0', [ECHO_FLOW('bot')]));
    // The executor wraps what it did not expect as `executor_failure: flow "…": <message>`; here
    // that message quotes the user's text, as a failing template or component may.
    const quoting: FlowEngine = {
      start: async (_turn, input) => {
        throw new FlowRunError({ code: 'executor_failure', message: `flow "echo": cannot use ${JSON.stringify(input)}`, flowId: 'echo' });
      },
      resume: async () => {
        throw new Error('not parked');
      },
    };
    const message = webchatMessage('redact-chat', 'conv-1', 'MARKER-chat-44b0');
    const session = injectedSession(channelObjectFor(testEnv, message.envelope), { engine: quoting, egress: new RecordingEgress() });
    await session.accept(message);
    const failed = await until(() => lines.find((l) => l.includes('"event":"session.turn_failed"')), 'the failed turn in the log');
    expect(JSON.parse(failed)).toMatchObject({
      attributes: { code: 'executor_failure', error_code: 'executor_failure', error_flow: 'echo' },
    });
    const turn = lines.flatMap(spansOfLine).find((l) => l.span === 'session.turn');
    expect(turn?.error).toBe('executor_failure (flow "echo")');
    expectNoLineHolds('MARKER-chat-44b0');
  });
});
