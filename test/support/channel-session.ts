// A channel object with injected dependencies, for tests that record or break its egress or
// script its flow engine. The object is constructed over the real Durable Object's storage and
// every call runs inside that object (its storage, its input gates) through runInDurableObject;
// the deployed object keeps its production dependencies.
import { runInDurableObject } from 'cloudflare:test';
import type { DeadLetterMessage, DeadLetterSink, ReplySender } from '../../src/bus/delivery.js';
import type { EgressMessage, IngressMessage } from '../../src/bus/messages.js';
import { replySender } from '../../src/channels/channel.js';
import { egressSenders } from '../../src/channels/senders.js';
import { channelObjectFor, previousShardOf, type WorkerEnv } from '../../src/objects.js';
import {
  type AcceptOptions,
  type AcceptResult,
  ChannelSession,
  type DeliveryResult,
  type WebhookRunRequest,
  type WebhookRunResult,
} from '../../src/session/channel-session.js';
import { type ChannelSessionDeps, productionDependencies } from '../../src/session/dependencies.js';
import { type ComponentInvokerFactory, createFlowEngine } from '../../src/session/engine-binding.js';
import type { FlowEngine } from '../../src/session/flow-engine.js';
import type { SessionInfo } from '../../src/session/session-store.js';
import { testEnv } from './runtime-fixtures.js';
import { until } from './until.js';

/**
 * An egress that records what the object delivered and dead-lettered; `failNext` makes the next
 * sends throw (an Error, or the given EgressSendError).
 */
export class RecordingEgress {
  readonly sent: EgressMessage[] = [];
  readonly deadLetters: (DeadLetterMessage & { reason: string; attempts: number })[] = [];
  private failures: (string | Error | 'hang')[] = [];
  /** Resolvers of sends that hang, kept so the runtime cannot tell the promise will never settle. */
  private readonly hung: (() => void)[] = [];

  /** The next `times` sends throw `reason` (the object keeps those replies in its outbox). */
  failNext(reason: string | Error, times = 1): void {
    for (let i = 0; i < times; i++) this.failures.push(reason);
  }

  /** The next send never returns (the object is reset while delivering). */
  hangNext(): void {
    this.failures.push('hang');
  }

  readonly send: ReplySender = async (message) => {
    const failure = this.failures.shift();
    if (failure === 'hang') return new Promise<void>((resolve) => this.hung.push(resolve));
    if (failure !== undefined) throw typeof failure === 'string' ? new Error(failure) : failure;
    this.sent.push(message);
  };

  readonly deadLetter: DeadLetterSink = async (letter, reason, attempts) => {
    this.deadLetters.push({ ...letter, reason, attempts });
  };
}

export interface InjectedSession {
  /** What ingress calls: returns once the message is durable; the turn runs in the background. */
  accept(message: IngressMessage, options?: AcceptOptions): Promise<AcceptResult>;
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
  /** Waits until the inbox is empty and no reply is waiting for its first delivery. */
  idle(): Promise<void>;
}

export interface SessionOverrides {
  egress?: RecordingEgress;
  /** Records dead letters while replies go out through the production senders (with no `egress`). */
  deadLetter?: DeadLetterSink;
  /** Component invoker for the turn's flow engine (the edge component runtime otherwise). */
  invoker?: ComponentInvokerFactory;
  /** The whole flow engine (takes precedence over `invoker`), e.g. one that hangs or fails after running. */
  engine?: FlowEngine;
  /** The bindings and vars the object sees (the test env otherwise), e.g. another trust policy. */
  env?: WorkerEnv;
}

/** The channel object behind `stub`, built with the given egress and component invoker. */
export function injectedSession(stub: DurableObjectStub<ChannelSession>, overrides: SessionOverrides): InjectedSession {
  const env = overrides.env ?? testEnv;
  const deps: ChannelSessionDeps = {
    ...productionDependencies(replySender(egressSenders, env), undefined, previousShardOf(env)),
    ...(overrides.egress === undefined ? {} : { send: overrides.egress.send, deadLetter: overrides.egress.deadLetter }),
    ...(overrides.deadLetter === undefined ? {} : { deadLetter: overrides.deadLetter }),
    ...(overrides.invoker === undefined ? {} : { engine: createFlowEngine(overrides.invoker) }),
    ...(overrides.engine === undefined ? {} : { engine: overrides.engine }),
  };
  let session: ChannelSession | undefined;
  const inObject = <T>(fn: (session: ChannelSession, state: DurableObjectState) => T | Promise<T>): Promise<T> =>
    runInDurableObject(stub, (deployed: ChannelSession, state: DurableObjectState) => {
      if (session === undefined) {
        session = new ChannelSession(state, env, deps);
        // The test drives the alarm (runAlarm) with the injected dependencies: the deployed
        // instance's own alarm must not run the same storage with production ones meanwhile. It
        // re-arms instead, so the pending alarm stays visible to runAlarm.
        deployed.alarm = async () => {
          await state.storage.setAlarm(Date.now() + 60_000);
        };
      }
      return fn(session, state);
    });
  const sql = <T>(fn: (sql: SqlStorage) => T): Promise<T> => inObject((_s, state) => fn(state.storage.sql));
  return {
    accept: (message, options) => inObject((s) => s.accept(message, options)),
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
    sql,
    idle: async () => {
      await until(
        () =>
          sql((db) => {
            const inbox = db.exec<{ n: number }>('SELECT COUNT(*) AS n FROM inbox').one().n;
            const fresh = db.exec<{ n: number }>('SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL AND attempts = 0').one().n;
            return inbox + fresh === 0 ? true : undefined;
          }),
        'the channel object to finish its work',
      );
    },
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
