import { describe, expect, it } from 'vitest';
import type { FlowSnapshot } from './execution-state.js';
import { FlowExecutor } from './executor.js';
import { done, failure, flowOf, noSleep, waiting } from './executor-fixtures.js';
import type { Flow } from './model.js';
import type { ComponentInvoker } from './ports.js';

describe('session.wait and resume', () => {
  const flow = flowOf(`
id: chat
type: messaging
nodes:
  greet:
    emit.response: { text: "What is your name?" }
    routing: [ { to: wait } ]
  wait:
    session.wait: { reason: need_name }
    routing: [ { to: thank } ]
  thank:
    emit.response: { text: "Thanks {{in.text}} (first said {{node.greet.text}})" }
    routing: out
`);

  it('pauses with the egress as output and a snapshot pointing at the successor', async () => {
    const first = waiting(await new FlowExecutor().run(flow, { text: 'hi' }));
    expect(first.reason).toBe('need_name');
    expect(first.output).toEqual([{ text: 'What is your name?' }]);
    expect(first.snapshot).toMatchObject({ pack_id: 'local', flow_id: 'chat', next_node: 'thank', awaiting_submit: false });
    expect(first.snapshot.state.egress).toEqual([]);
    expect(first.snapshot.next_flow).toBeUndefined();
  });

  it('resume replaces input and entry and continues at next_node', async () => {
    const executor = new FlowExecutor();
    const first = waiting(await executor.run(flow, { text: 'hi' }));
    const second = done(await executor.resume(first.snapshot, { text: 'Ada' }, { flow }));
    expect(second.output).toEqual([{ text: 'Thanks Ada (first said What is your name?)' }]);
  });

  it('a snapshot that went through JSON gives the same result as the in-memory one', async () => {
    const executor = new FlowExecutor();
    const first = waiting(await executor.run(flow, { text: 'hi' }));
    const direct = await executor.resume(first.snapshot, { text: 'Ada' }, { flow });
    const viaJson = await executor.resume(JSON.parse(JSON.stringify(first.snapshot)) as FlowSnapshot, { text: 'Ada' }, { flow });
    expect(viaJson).toEqual(direct);
    // Resuming never mutates the caller's snapshot, so it can be resumed again.
    expect(first.snapshot.state.input).toEqual({ text: 'hi' });
  });

  it('a session.wait without a successor route is an error', async () => {
    const bad = flowOf(`
id: stuck
type: events
nodes:
  wait:
    session.wait: parked
    routing: out
`);
    const err = await failure(new FlowExecutor(noSleep).run(bad, {}));
    expect(err.code).toBe('wait_without_successor');
  });

  it('a malformed snapshot is rejected with invalid_snapshot naming the field', async () => {
    const err = await failure(new FlowExecutor().resume({ pack_id: 'local', flow_id: 'chat', state: {} }, {}, { flow }));
    expect(err.code).toBe('invalid_snapshot');
    expect(err.message).toContain('/next_node');
  });

  it('a snapshot of another pack is refused', async () => {
    const first = waiting(await new FlowExecutor().run(flow, {}));
    const err = await failure(new FlowExecutor({ packId: 'other' }).resume(first.snapshot, {}, { flow }));
    expect(err.code).toBe('pack_mismatch');
  });
});

describe('whole-run retry policy', () => {
  const flow = flowOf(`
id: flaky
type: events
nodes:
  call:
    component.exec: { component: svc, operation: run }
    routing: out
`);

  it('retries a fresh run on transient errors with exponential backoff and a fresh state', async () => {
    const sleeps: number[] = [];
    let calls = 0;
    const invoker: ComponentInvoker = {
      invoke() {
        calls++;
        return calls < 3
          ? { ok: false, error: { code: 'E_UPSTREAM', message: 'service unavailable' } }
          : { ok: true, output: { ok: true, n: calls } };
      },
    };
    const executor = new FlowExecutor({
      invoker,
      retry: { maxAttempts: 4, baseDelayMs: 100 },
      sleep: async (ms) => void sleeps.push(ms),
      random: () => 0,
    });
    const result = done(await executor.run(flow, {}));
    expect(result.attempts).toBe(3);
    expect(result.output).toEqual({ ok: true, n: 3 });
    expect(sleeps).toEqual([100, 200]);
  });

  it('gives up after maxAttempts and rethrows the last error for non-messaging flows', async () => {
    const sleeps: number[] = [];
    const invoker: ComponentInvoker = { invoke: () => ({ ok: false, error: { code: 'E', message: 'request timeout' } }) };
    const executor = new FlowExecutor({
      invoker,
      retry: { maxAttempts: 3, baseDelayMs: 10 },
      sleep: async (ms) => void sleeps.push(ms),
      random: () => 0.5,
    });
    const err = await failure(executor.run(flow, {}));
    expect(err.message).toContain('request timeout');
    // base is raised to 50 ms; jitter adds up to one base.
    expect(sleeps).toEqual([75, 125]);
  });

  it('does not retry errors whose text is not transient', async () => {
    let calls = 0;
    const invoker: ComponentInvoker = {
      invoke() {
        calls++;
        return { ok: false, error: { code: 'E_INPUT', message: 'summary is required' } };
      },
    };
    await failure(new FlowExecutor({ invoker, ...noSleep }).run(flow, {}));
    expect(calls).toBe(1);
  });

  it('an explicit retryable=false wins over transient-looking text', async () => {
    let calls = 0;
    const invoker: ComponentInvoker = {
      invoke() {
        calls++;
        return { ok: false, error: { code: 'E', message: 'internal', retryable: false } };
      },
    };
    await failure(new FlowExecutor({ invoker, ...noSleep }).run(flow, {}));
    expect(calls).toBe(1);
  });

  it('a resumed run is never retried', async () => {
    const chat = flowOf(`
id: chat2
type: events
nodes:
  wait: { session.wait: later, routing: [ { to: call } ] }
  call: { component.exec: { component: svc, operation: run }, routing: out }
`);
    let calls = 0;
    const invoker: ComponentInvoker = {
      invoke() {
        calls++;
        return { ok: false, error: { code: 'E', message: 'transient glitch' } };
      },
    };
    const executor = new FlowExecutor({ invoker, retry: { maxAttempts: 5 }, ...noSleep });
    const first = waiting(await executor.run(chat, {}));
    await failure(executor.resume(first.snapshot, {}, { flow: chat }));
    expect(calls).toBe(1);
  });

  it('a messaging run that still fails returns the generic failure text instead of throwing', async () => {
    const messaging: Flow = { ...flow, id: 'flaky-chat', kind: 'messaging' };
    const invoker: ComponentInvoker = { invoke: () => ({ ok: false, error: { code: 'E', message: 'backend unavailable' } }) };
    const result = done(await new FlowExecutor({ invoker, retry: { maxAttempts: 2 }, failureText: 'Oops', ...noSleep }).run(messaging, {}));
    expect(result.attempts).toBe(2);
    expect(result.output).toEqual({
      text: 'Oops',
      metadata: {
        error_kind: 'flow_execution_failed',
        error_message: 'node "call" of flow "flaky-chat" failed: backend unavailable',
        flow_id: 'flaky-chat',
      },
    });
    expect(result.error?.code).toBe('E');
  });
});
