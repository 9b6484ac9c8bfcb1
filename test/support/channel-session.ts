// A channel object with injected dependencies, for tests that record or break its egress or
// script its flow engine. The object is constructed over the real Durable Object's storage and
// every call runs inside that object (its storage, its input gates) through runInDurableObject;
// the deployed object keeps its production dependencies.
import { runInDurableObject } from 'cloudflare:test';
import type { EgressMessage, IngressMessage } from '../../src/bus/messages.js';
import { channelObjectFor, type WorkerEnv } from '../../src/objects.js';
import { ChannelSession, type DeliveryResult, type WebhookRunRequest, type WebhookRunResult } from '../../src/session/channel-session.js';
import { type ChannelSessionDeps, productionDependencies } from '../../src/session/dependencies.js';
import { type ComponentInvokerFactory, createFlowEngine } from '../../src/session/engine-binding.js';
import type { FlowEngine } from '../../src/session/flow-engine.js';
import type { SessionInfo } from '../../src/session/session-store.js';
import { testEnv } from './runtime-fixtures.js';

/** An egress that records what the object handed it; `failNext` makes the next sends throw. */
export class RecordingEgress {
  readonly sent: EgressMessage[] = [];
  private failures: string[] = [];

  /** The next `times` sends throw `reason` (the object keeps those replies in its outbox). */
  failNext(reason: string, times = 1): void {
    for (let i = 0; i < times; i++) this.failures.push(reason);
  }

  readonly sendReplies = async (messages: EgressMessage[]): Promise<void> => {
    const failure = this.failures.shift();
    if (failure !== undefined) throw new Error(failure);
    this.sent.push(...messages);
  };
}

export interface InjectedSession {
  deliver(message: IngressMessage): Promise<DeliveryResult>;
  runWebhook(req: WebhookRunRequest): Promise<WebhookRunResult>;
  sessionInfo(sessionKey: string): Promise<SessionInfo | null>;
  /** Runs the object's alarm if one is scheduled (as the platform would); false when none was. */
  runAlarm(): Promise<boolean>;
  /** Runs `fn` against the object's SQLite storage. */
  sql<T>(fn: (sql: SqlStorage) => T): Promise<T>;
}

export interface SessionOverrides {
  egress?: RecordingEgress;
  /** Component invoker for the turn's flow engine (the edge component runtime otherwise). */
  invoker?: ComponentInvokerFactory;
  /** The whole flow engine (takes precedence over `invoker`), e.g. one that fails after running. */
  engine?: FlowEngine;
  /** The bindings and vars the object sees (the test env otherwise), e.g. another trust policy. */
  env?: WorkerEnv;
}

/** The channel object behind `stub`, built with the given egress and component invoker. */
export function injectedSession(stub: DurableObjectStub<ChannelSession>, overrides: SessionOverrides): InjectedSession {
  const env = overrides.env ?? testEnv;
  const deps: ChannelSessionDeps = {
    ...productionDependencies(env),
    ...(overrides.egress === undefined ? {} : { sendReplies: overrides.egress.sendReplies }),
    ...(overrides.invoker === undefined ? {} : { engine: createFlowEngine(overrides.invoker) }),
    ...(overrides.engine === undefined ? {} : { engine: overrides.engine }),
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
