// A channel object with injected dependencies, for tests that record or break its egress or
// script its flow engine. The object is constructed over the real Durable Object's storage and
// every call runs inside that object (its storage, its input gates) through runInDurableObject;
// the deployed object keeps its production dependencies.
import { runInDurableObject } from 'cloudflare:test';
import type { DeadLetterSink, ReplySender } from '../../src/bus/delivery.js';
import type { EgressMessage, IngressMessage } from '../../src/bus/messages.js';
import { replySender } from '../../src/channels/channel.js';
import { egressSenders } from '../../src/channels/senders.js';
import { channelObjectFor, type WorkerEnv } from '../../src/objects.js';
import { ChannelSession, type DeliveryResult, type WebhookRunRequest, type WebhookRunResult } from '../../src/session/channel-session.js';
import { type ChannelSessionDeps, productionDependencies } from '../../src/session/dependencies.js';
import { type ComponentInvokerFactory, createFlowEngine } from '../../src/session/engine-binding.js';
import type { SessionInfo } from '../../src/session/session-store.js';
import { testEnv } from './runtime-fixtures.js';

/**
 * An egress that records what the object delivered and dead-lettered; `failNext` makes the next
 * sends throw (an Error, or the given EgressSendError).
 */
export class RecordingEgress {
  readonly sent: EgressMessage[] = [];
  readonly deadLetters: { source: 'ingress' | 'egress'; message: unknown; reason: string; attempts: number }[] = [];
  private failures: (string | Error)[] = [];

  /** The next `times` sends throw `reason` (the object keeps those replies in its outbox). */
  failNext(reason: string | Error, times = 1): void {
    for (let i = 0; i < times; i++) this.failures.push(reason);
  }

  readonly send: ReplySender = async (message) => {
    const failure = this.failures.shift();
    if (failure !== undefined) throw typeof failure === 'string' ? new Error(failure) : failure;
    this.sent.push(message);
  };

  readonly deadLetter: DeadLetterSink = async (source, message, reason, attempts) => {
    this.deadLetters.push({ source, message, reason, attempts });
  };
}

export interface InjectedSession {
  deliver(message: IngressMessage): Promise<DeliveryResult>;
  runWebhook(req: WebhookRunRequest): Promise<WebhookRunResult>;
  sessionInfo(sessionKey: string): Promise<SessionInfo | null>;
  /**
   * Runs the object's alarm if one is scheduled, as the platform would when it fires: the retries
   * it was scheduled for are due by then (their backoff is treated as elapsed). False when none was.
   */
  runAlarm(): Promise<boolean>;
  /** Runs `fn` against the object's SQLite storage. */
  sql<T>(fn: (sql: SqlStorage) => T): Promise<T>;
}

export interface SessionOverrides {
  egress?: RecordingEgress;
  /** Component invoker for the turn's flow engine (the edge component runtime otherwise). */
  invoker?: ComponentInvokerFactory;
  /** The bindings and vars the object sees (the test env otherwise), e.g. another trust policy. */
  env?: WorkerEnv;
}

/** The channel object behind `stub`, built with the given egress and component invoker. */
export function injectedSession(stub: DurableObjectStub<ChannelSession>, overrides: SessionOverrides): InjectedSession {
  const env = overrides.env ?? testEnv;
  const deps: ChannelSessionDeps = {
    ...productionDependencies(replySender(egressSenders, env)),
    ...(overrides.egress === undefined ? {} : { send: overrides.egress.send, deadLetter: overrides.egress.deadLetter }),
    ...(overrides.invoker === undefined ? {} : { engine: createFlowEngine(overrides.invoker) }),
  };
  let session: ChannelSession | undefined;
  const inObject = <T>(fn: (session: ChannelSession, state: DurableObjectState) => T | Promise<T>): Promise<T> =>
    runInDurableObject(stub, (_deployed: ChannelSession, state: DurableObjectState) => {
      session ??= new ChannelSession(state, env, deps);
      return fn(session, state);
    });
  return {
    deliver: (message) => inObject((s) => s.deliver(message)),
    runWebhook: (req) => inObject((s) => s.runWebhook(req)),
    sessionInfo: (sessionKey) => inObject((s) => s.sessionInfo(sessionKey)),
    runAlarm: () =>
      inObject(async (s, state) => {
        if ((await state.storage.getAlarm()) === null) return false;
        await state.storage.deleteAlarm();
        state.storage.sql.exec('UPDATE inbox SET next_attempt_at = 0');
        state.storage.sql.exec('UPDATE outbox SET next_attempt_at = 0 WHERE sent_at IS NULL');
        await s.alarm();
        return true;
      }),
    sql: (fn) => inObject((_s, state) => fn(state.storage.sql)),
  };
}

/** Delivers one message to its channel object and returns the outcome with the replies it sent. */
export async function deliverRecorded(message: IngressMessage): Promise<{ result: DeliveryResult; sent: EgressMessage[] }> {
  const egress = new RecordingEgress();
  const result = await injectedSession(channelObjectFor(testEnv, message.envelope), { egress }).deliver(message);
  return { result, sent: egress.sent };
}

/** Delivers one message to its deployed channel object and waits for its turn's outcome. */
export async function deliverIngress(env: WorkerEnv, message: IngressMessage): Promise<DeliveryResult> {
  return (await channelObjectFor(env, message.envelope).deliver(message)) as DeliveryResult;
}
