// Component state (the state-store host import) commits with the turn: a real component writes
// through the turn's buffer, the channel object records the writes in its commit and applies them
// to the scope's state object afterwards (or from its alarm).
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { adminApi } from '../../src/admin/admin-api.js';
import { packUploadPipeline } from '../../src/admin/pack-ingest.js';
import type { IngressMessage } from '../../src/bus/messages.js';
import { type StateScope, stateKeyPrefix, stateStorageKey } from '../../src/component/edge/host-policy.js';
import { type ComponentStateObject, componentStateObject } from '../../src/component/edge/state-object.js';
import { errorMessage } from '../../src/core/coded-error.js';
import { setTelemetrySink } from '../../src/edge/telemetry.js';
import { channelObject, channelObjectFor, shardOf, type WorkerEnv } from '../../src/objects.js';
import { buildPack } from '../../src/pack/builder.js';
import { decodeCbor, encodeCanonicalCbor } from '../../src/pack/cbor.js';
import type { ChannelSession, DeliveryResult } from '../../src/session/channel-session.js';
import { createFlowEngine, edgeInvokerFactory } from '../../src/session/engine-binding.js';
import { injectedSession, RecordingEgress, type SessionOverrides } from '../support/channel-session.js';
import { componentPackSource } from '../support/pack-sources.js';
import { testEnv, webchatMessage } from '../support/runtime-fixtures.js';

const fixtures = inject('componentFixtures');
const nodeWasm = Uint8Array.from(atob(fixtures.node), (c) => c.charCodeAt(0));
const echoB64 = inject('componentizeEcho');
const AUTH = { authorization: 'Bearer test-admin-token' };
const admin = adminApi(() => packUploadPipeline);

const MANIFEST = {
  id: 'echoer',
  version: '1.0.0',
  supports: ['messaging'],
  world: 'greentic:component/component@0.6.0',
  profiles: { supported: [] },
  capabilities: { wasi: {}, host: { state: { read: true, write: true, delete: true } } },
  operations: [{ name: 'echo', input_schema: {}, output_schema: {} }],
  resources: {},
};

// The WAT fixture's op `w:<key>` stores its payload, `r:<key>` returns what is stored, `d:<key>`
// deletes, `f` fails, `e…` echoes. A message names the first op in its text and the second in
// `metadata.next`; the reply shows what each returned.
const MAIN_FLOW = `id: main
type: messaging
nodes:
  first:
    component.exec:
      component: echoer
      operation: "{{entry.text}}"
      input: { v: "{{entry.metadata.v}}" }
    routing: [ { to: second } ]
  second:
    component.exec:
      component: echoer
      operation: "{{entry.metadata.next}}"
      input: { v: "{{entry.metadata.v}}" }
    routing: [ { to: answer } ]
  answer:
    emit.response: { text: "{{node.first.v}}|{{node.second.v}}" }
    routing: out
`;

const HOOK_FLOW = `id: hook
type: http
nodes:
  first:
    component.exec:
      component: echoer
      operation: "{{in.query.op}}"
      input: { v: "{{in.query.v}}" }
    routing: [ { to: second } ]
  second:
    component.exec:
      component: echoer
      operation: "{{in.query.next}}"
      input: { v: "{{in.query.v}}" }
    routing: [ { to: answer } ]
  answer:
    emit.response: { v: "{{node.second.v}}" }
    routing: out
`;

const COUNT_FLOW = `id: main
type: messaging
nodes:
  first:
    component.exec: { component: echoer, operation: count, input: {} }
    routing: [ { to: answer } ]
  answer:
    emit.response: { text: "count {{node.first.count}}" }
    routing: out
`;

const digests = new Map<string, string>();

async function upload(packId: string, wasm: Uint8Array, flowId: string, flow: string): Promise<void> {
  const bytes = buildPack(componentPackSource({ packId, wasm, manifest: MANIFEST, flowId, flow })).bytes;
  const res = await admin.request('http://x/packs', { method: 'POST', headers: AUTH, body: bytes }, testEnv);
  expect(res.status).toBe(201);
  digests.set(packId, ((await res.json()) as { digest: string }).digest);
}

async function activate(tenant: string, packId: string): Promise<void> {
  const body = JSON.stringify({ digest: digests.get(packId) });
  const res = await admin.request(`http://x/tenants/${tenant}/packs/${packId}`, { method: 'PUT', headers: AUTH, body }, testEnv);
  expect(res.status).toBe(200);
}

let tenantSeq = 0;
/** A tenant of its own with `packId` active, and the state scope its messaging turns use. */
async function freshTenant(packId = 'state-pack'): Promise<{ tenant: string; scope: StateScope }> {
  const tenant = `cs-${++tenantSeq}-${Date.now().toString(36)}`;
  await activate(tenant, packId);
  return { tenant, scope: { env: testEnv.GREENTIC_ENV, tenant, team: 'default', pack: packId } };
}

function message(tenant: string, conversation: string, op: string, next = 'e', v = ''): IngressMessage {
  const m = webchatMessage(tenant, conversation, op);
  m.envelope.metadata = { next, v };
  return m;
}

/** What the scope's state object holds under `key` (what every other turn would read), decoded. */
async function committed(scope: StateScope, key: string): Promise<unknown> {
  const bytes = await componentStateObject(testEnv.COMPONENT_STATE, scope).read(scope, stateStorageKey(scope, key));
  return bytes === null ? null : decodeCbor(bytes);
}

const until = async (done: () => boolean): Promise<void> => {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 5));
};

const pendingRows = (sql: SqlStorage): number => sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM component_state_pending').one().n;

/** The state objects, with the first `times` applies failing before they arrive or after they were applied. */
function faultyStateObjects(fault: 'unreachable' | 'answer-lost', times = 1): DurableObjectNamespace<ComponentStateObject> {
  const real = testEnv.COMPONENT_STATE;
  let left = times;
  return {
    idFromName: (name: string) => real.idFromName(name),
    get(id: DurableObjectId) {
      const stub = real.get(id);
      return {
        read: (...args: Parameters<ComponentStateObject['read']>) => stub.read(...args),
        write: (...args: Parameters<ComponentStateObject['write']>) => stub.write(...args),
        async apply(...args: Parameters<ComponentStateObject['apply']>) {
          if (left > 0 && fault === 'unreachable') {
            left--;
            throw new Error('state object unreachable');
          }
          const applied = await stub.apply(...args);
          if (left > 0) {
            left--;
            throw new Error('connection lost before the answer');
          }
          return applied;
        },
      };
    },
  } as unknown as DurableObjectNamespace<ComponentStateObject>;
}

/** Two conversations of one tenant's WebChat channel that land on different shards of `shards`. */
function conversationsOnTwoShards(tenant: string, shards: number): [IngressMessage, IngressMessage] {
  const first = webchatMessage(tenant, 'conv-0', 'count');
  for (let i = 1; ; i++) {
    const other = webchatMessage(tenant, `conv-${i}`, 'count');
    if (shardOf(other.envelope.session_id, shards) !== shardOf(first.envelope.session_id, shards)) return [first, other];
  }
}

beforeAll(async () => {
  setTelemetrySink(() => {});
  expect(fixtures.error).toBeUndefined();
  await upload('state-pack', nodeWasm, 'main', MAIN_FLOW);
  await upload('state-hook-pack', nodeWasm, 'hook', HOOK_FLOW);
});

describe('component state commits with the turn', () => {
  it("a component's state write is invisible to other turns until its turn commits", async () => {
    const { tenant, scope } = await freshTenant();
    // Flags polled on each side rather than promises resolved across: a promise resolved by the
    // channel object would resume the test inside that object's I/O context, and the reverse.
    let reached = false;
    let released = false;
    // The turn's second node waits until the test lets it go: its write is made but not committed.
    const session = chat(channelObjectFor(testEnv, message(tenant, 'a', 'e').envelope), {
      invoker: (turn) => {
        const inner = edgeInvokerFactory(turn)!;
        return {
          async invoke(target, op, input, ictx) {
            if (op === 'e-hold') {
              reached = true;
              await until(() => released);
            }
            return inner.invoke(target, op, input, ictx);
          },
        };
      },
    });
    const writing = session.deliver(message(tenant, 'a', 'w:k', 'e-hold', 'one'));
    await until(() => reached);

    expect(await committed(scope, 'k')).toBeNull();
    // Another session of the same channel object runs a whole turn meanwhile and does not see it.
    const other = await session.deliver(message(tenant, 'b', 'r:k'));
    expect(other.outcome).toMatchObject({ run_status: 'failed', error_code: 'state.read.miss' });

    released = true;
    expect((await writing).outcome.run_status).toBe('done');
    expect(await committed(scope, 'k')).toEqual({ v: 'one' });
    const after = await session.deliver(message(tenant, 'b', 'r:k'));
    expect(after.outcome.run_status).toBe('done');
  });

  it('a turn reads its own state write before it commits', async () => {
    const { tenant, scope } = await freshTenant();
    const session = chat(channelObjectFor(testEnv, message(tenant, 'a', 'e').envelope), {});
    expect((await session.say(message(tenant, 'a', 'w:k', 'r:k', 'mine'))).sent).toEqual(['|mine']);
    expect(await committed(scope, 'k')).toEqual({ v: 'mine' });
  });

  it('a messaging turn whose flow fails after a component wrote leaves no state behind', async () => {
    const { tenant, scope } = await freshTenant();
    const session = chat(channelObjectFor(testEnv, message(tenant, 'a', 'e').envelope), {});
    const result = await session.deliver(message(tenant, 'a', 'w:k', 'f', 'lost'));
    expect(result.outcome.run_status).toBe('failed');
    expect(await committed(scope, 'k')).toBeNull();
    expect(await session.sql(pendingRows)).toBe(0);
    const later = await session.deliver(message(tenant, 'a', 'r:k'));
    expect(later.outcome).toMatchObject({ run_status: 'failed', error_code: 'state.read.miss' });
  });

  it('a turn that throws after a component wrote leaves no state, and its retry writes once', async () => {
    const { tenant, scope } = await freshTenant();
    const msg = message(tenant, 'a', 'w:k', 'e', 'retried');
    const stub = channelObjectFor(testEnv, msg.envelope);
    const real = createFlowEngine(edgeInvokerFactory);
    const crashing = chat(stub, {
      engine: {
        start: async (turn, input) => {
          await real.start(turn, input);
          throw new Error('object failed before the commit');
        },
        resume: (turn, snapshot, input) => real.resume(turn, snapshot, input),
      },
    });
    await expect(crashing.deliver(msg)).rejects.toThrow(/before the commit/);
    expect(await committed(scope, 'k')).toBeNull();
    expect(await crashing.sql(pendingRows)).toBe(0);

    // The object retries the message itself (its alarm, once the backoff has passed).
    const restarted = chat(stub, {});
    expect(await restarted.runAlarm()).toBe(true);
    await restarted.idle();
    expect(await committed(scope, 'k')).toEqual({ v: 'retried' });
  });

  it('a webhook run that fails after a component wrote leaves no state; a run that succeeds commits it', async () => {
    const { tenant, scope } = await freshTenant('state-hook-pack');
    const session = chat(channelObject(testEnv, { env: 'dev', tenant, team: 'default', channel: 'webhook' }, 'hook'), {});
    const run = (query: Record<string, string>) => session.runWebhook({ tenant, flowId: 'hook', input: { query } });

    expect(await run({ op: 'w:k', next: 'f', v: 'lost' })).toMatchObject({ status: 'error', code: 'FlowFailed' });
    expect(await committed(scope, 'k')).toBeNull();
    expect(await run({ op: 'w:k', next: 'r:k', v: 'kept' })).toMatchObject({ status: 'done', output: [{ v: 'kept' }] });
    expect(await committed(scope, 'k')).toEqual({ v: 'kept' });
    expect(await session.sql(pendingRows)).toBe(0);
  });

  it('turns that write component state store nothing under the R2 state prefix', async () => {
    const { tenant, scope } = await freshTenant();
    const session = chat(channelObjectFor(testEnv, message(tenant, 'a', 'e').envelope), {});
    for (const key of ['a', 'b', 'c']) await session.deliver(message(tenant, 'a', `w:${key}`, `r:${key}`, key));
    expect(await committed(scope, 'c')).toEqual({ v: 'c' });
    expect((await testEnv.PACKS.list({ prefix: stateKeyPrefix(scope) })).objects).toEqual([]);
  });
});

describe('applying committed state to the state object', () => {
  it('a crash between the channel commit and the state apply is repaired by the alarm', async () => {
    const { tenant, scope } = await freshTenant();
    // Down for this turn's apply and for the retry after the next turn; back for the alarm.
    const env: WorkerEnv = { ...testEnv, COMPONENT_STATE: faultyStateObjects('unreachable', 2) };
    const session = chat(channelObjectFor(testEnv, message(tenant, 'a', 'e').envelope), { env });

    expect((await session.deliver(message(tenant, 'a', 'w:k', 'e', 'late'))).outcome.run_status).toBe('done');
    expect(await committed(scope, 'k')).toBeNull();
    expect(await session.sql(pendingRows)).toBe(1);
    // This object's next turn already reads the committed write.
    expect((await session.say(message(tenant, 'a', 'r:k'))).sent).toEqual(['late|']);

    expect(await session.runAlarm()).toBe(true);
    expect(await committed(scope, 'k')).toEqual({ v: 'late' });
    expect(await session.sql(pendingRows)).toBe(0);
  });

  it('an apply re-sent after its answer was lost changes nothing, even after another channel wrote the key', async () => {
    const { tenant, scope } = await freshTenant();
    const shards = 8;
    const [a, b] = conversationsOnTwoShards(tenant, shards);
    const sharded: WorkerEnv = { ...testEnv, SESSION_SHARDS: String(shards) };
    const stubOf = (m: IngressMessage) =>
      channelObject(sharded, { env: 'dev', tenant, team: 'default', channel: 'webchat' }, m.envelope.session_id);
    const first = chat(stubOf(a), { env: { ...sharded, COMPONENT_STATE: faultyStateObjects('answer-lost') } });
    const second = chat(stubOf(b), { env: sharded });
    const write = (m: IngressMessage, v: string): IngressMessage => {
      const w = webchatMessage(tenant, m.envelope.reply_scope!.conversation!, 'w:k');
      w.envelope.metadata = { next: 'e', v };
      return w;
    };

    await first.deliver(write(a, 'older'));
    expect(await committed(scope, 'k')).toEqual({ v: 'older' });
    expect(await first.sql(pendingRows)).toBe(1);
    await second.deliver(write(b, 'newer'));
    expect(await committed(scope, 'k')).toEqual({ v: 'newer' });

    expect(await first.runAlarm()).toBe(true);
    expect(await first.sql(pendingRows)).toBe(0);
    expect(await committed(scope, 'k')).toEqual({ v: 'newer' });
  });

  it('state the previous version wrote to R2 is read and migrated; a key deleted since stays deleted', async () => {
    const { tenant, scope } = await freshTenant();
    await testEnv.PACKS.put(stateStorageKey(scope, 'old'), encodeCanonicalCbor({ v: 'legacy' }));
    await testEnv.PACKS.put(stateStorageKey(scope, 'gone'), encodeCanonicalCbor({ v: 'stale' }));
    const session = chat(channelObjectFor(testEnv, message(tenant, 'a', 'e').envelope), {});

    expect((await session.say(message(tenant, 'a', 'r:old'))).sent).toEqual(['legacy|']);
    await testEnv.PACKS.delete(stateStorageKey(scope, 'old'));
    expect((await session.say(message(tenant, 'a', 'r:old'))).sent).toEqual(['legacy|']);

    // A delete by a host outside a turn: the R2 copy stays, and is never read again.
    await componentStateObject(testEnv.COMPONENT_STATE, scope).write(scope, stateStorageKey(scope, 'gone'), null);
    expect((await session.deliver(message(tenant, 'a', 'r:gone'))).outcome).toMatchObject({ error_code: 'state.read.miss' });
    expect(await testEnv.PACKS.head(stateStorageKey(scope, 'gone'))).not.toBeNull();
  });

  it('the state object refuses a key outside its scope and a call for another scope', async () => {
    const scope: StateScope = { env: 'dev', tenant: 'cs-guard', team: 'default', pack: 'p' };
    const other: StateScope = { ...scope, tenant: 'cs-guard-other' };
    const object = componentStateObject(testEnv.COMPONENT_STATE, scope);
    // The RPC promises are settled before expect sees them: a property read on one is another call.
    const outcome = (call: Promise<unknown>) =>
      call.then(
        () => 'ok',
        (err: unknown) => errorMessage(err),
      );
    expect(await outcome(object.read(scope, stateStorageKey(other, 'k')))).toMatch(/^InvalidStateCall: /);
    expect(await outcome(object.write(scope, stateStorageKey(scope, 'k'), new Uint8Array([1])))).toBe('ok');
    expect(await outcome(object.read(other, stateStorageKey(other, 'k')))).toMatch(/^WrongStateScope: /);
  });
});

describe.skipIf(!echoB64)('one count per tenant', () => {
  it('a counter component incremented from two shards of one channel shares one count', async () => {
    await upload(
      'counter-pack',
      Uint8Array.from(atob(echoB64), (c) => c.charCodeAt(0)),
      'main',
      COUNT_FLOW,
    );
    const { tenant, scope } = await freshTenant('counter-pack');
    const shards = 8;
    const sharded: WorkerEnv = { ...testEnv, SESSION_SHARDS: String(shards) };
    const [a, b] = conversationsOnTwoShards(tenant, shards);
    const sessions = [a, b].map((m) => ({
      conversation: m.envelope.reply_scope!.conversation!,
      session: chat(channelObjectFor(sharded, m.envelope), { env: sharded }),
    }));
    const replies: string[] = [];
    for (let i = 0; i < 3; i++)
      for (const { conversation, session } of sessions)
        replies.push(...(await session.say(webchatMessage(tenant, conversation, 'count'))).sent);
    expect(replies).toEqual([1, 2, 3, 4, 5, 6].map((n) => `count ${n}`));
    expect(await committed(scope, 'counter')).toBe(6);
  }, 120_000);
});

/** A channel object with a recording egress: `say` returns the turn's outcome and the texts it replied. */
function chat(stub: DurableObjectStub<ChannelSession>, overrides: SessionOverrides = {}) {
  const egress = new RecordingEgress();
  const session = injectedSession(stub, { ...overrides, egress });
  return {
    ...session,
    async say(msg: IngressMessage): Promise<{ result: DeliveryResult; sent: string[] }> {
      const before = egress.sent.length;
      const result = await session.deliver(msg);
      return { result, sent: egress.sent.slice(before).map((m) => m.envelope.text ?? '') };
    },
  };
}
