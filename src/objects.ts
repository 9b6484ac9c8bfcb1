// The Durable Objects: the Worker's full environment with both namespaces typed by their classes,
// how each object is named, and the stubs. Everything that reaches a channel object or a WebChat
// conversation goes through here, so an object's name is computed in one place. The component
// state objects are named in component/edge/state-object.ts instead: the channel object and the
// component host reach them, and both sit below this module.

import type { ChannelMessageEnvelope } from './bus/envelope.js';
import type { WebchatConversation } from './channels/webchat/conversation.js';
import type { RateLimiter } from './edge/rate-limiter.js';
import type { Env } from './env.js';
import type {
  EventDispatchRequest,
  EventDispatchResult,
  EventsObject,
  ScheduledRunRequest,
  ScheduledRunResult,
} from './events/events-object.js';
import type { FlowRunOutcome } from './events/flow-runs.js';
import { sha256Bytes } from './pack/digest.js';
import type { ChannelSession, WebhookRunRequest, WebhookRunResult } from './session/channel-session.js';
import type { PreviousShard, PreviousShardRef } from './session/reshard.js';
import type { FireRecord, ScheduleView, TimerBinding } from './timers/timer-types.js';

/** The channel name of generic-webhook runs (`/v1/webhook/{tenant}/{flow}`). */
export const WEBHOOK_CHANNEL = 'webhook';

export interface WorkerEnv extends Env {
  /** One object per `{env}:{tenant}:{team}:{channel}[:{shard}]` (flow sessions, inbox, outbox). */
  CHANNEL: DurableObjectNamespace<ChannelSession>;
  /** One object per WebChat conversation (Direct Line facade). */
  WEBCHAT: DurableObjectNamespace<WebchatConversation>;
  /** One object per rate limit, key and shard (edge/rate-limits.ts). */
  RATE_LIMITER: DurableObjectNamespace<RateLimiter>;
  /** One object per `{env}:{tenant}:{team}` running events and timer fires (events/events-object.ts). */
  EVENTS_OBJECT: DurableObjectNamespace<EventsObject>;
  /** The events queue: events emitted by flows (events/events-bus.ts). */
  EVENTS: Queue;
  /**
   * One object per `{env}:{tenant}` holding the tenant's timers (timers/scheduler-object.ts). Not
   * typed by its class: that class reaches the events object through this module.
   */
  SCHEDULER: DurableObjectNamespace;
}

export interface ChannelAddress {
  env: string;
  tenant: string;
  team: string;
  channel: string;
}

/** Shard of a session key among `shards` objects: the first 32 bits of its sha256, mod N. */
export function shardOf(sessionKey: string, shards: number): number {
  if (!Number.isInteger(shards) || shards <= 1) return 0;
  const h = sha256Bytes(new TextEncoder().encode(sessionKey));
  const n = ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
  return n % shards;
}

/** `{env}:{tenant}:{team}:{channel}` plus `:{shard}` when the channel is split over several objects. */
export function channelObjectName(address: ChannelAddress, sessionKey: string, shards: number): string {
  const base = `${address.env}:${address.tenant}:${address.team}:${address.channel}`;
  return shards > 1 ? `${base}:${shardOf(sessionKey, shards)}` : base;
}

export function parseShardCount(raw: string | undefined): number {
  const n = Number.parseInt(raw ?? '1', 10);
  return Number.isInteger(n) && n >= 1 ? n : 1;
}

/** The channel object that owns a session of this address. */
export function channelObject(env: WorkerEnv, address: ChannelAddress, sessionKey: string): DurableObjectStub<ChannelSession> {
  const name = channelObjectName(address, sessionKey, parseShardCount(env.SESSION_SHARDS));
  return env.CHANNEL.get(env.CHANNEL.idFromName(name));
}

/** The channel object that owns an envelope's session. */
export function channelObjectFor(env: WorkerEnv, envelope: ChannelMessageEnvelope): DurableObjectStub<ChannelSession> {
  return channelObject(env, addressOf(envelope), envelope.session_id);
}

export function addressOf(envelope: ChannelMessageEnvelope): ChannelAddress {
  return { env: envelope.tenant.env, tenant: envelope.tenant.tenant, team: envelope.tenant.team ?? 'default', channel: envelope.channel };
}

/**
 * While SESSION_SHARDS_PREVIOUS is set, the object that held a session (or a webhook flow) under
 * the previous shard count, when that is another object than the one that holds it now.
 */
export function previousShardOf(env: WorkerEnv): (address: ChannelAddress, routingKey: string) => PreviousShardRef | undefined {
  return (address, routingKey) => {
    if (env.SESSION_SHARDS_PREVIOUS === undefined || env.SESSION_SHARDS_PREVIOUS === '') return undefined;
    const before = channelObjectName(address, routingKey, parseShardCount(env.SESSION_SHARDS_PREVIOUS));
    if (before === channelObjectName(address, routingKey, parseShardCount(env.SESSION_SHARDS))) return undefined;
    return { name: before, stub: env.CHANNEL.get(env.CHANNEL.idFromName(before)) as unknown as PreviousShard };
  };
}

/** The generic webhook's side of a channel object (a narrow view: the full stub type is too deep for tsc here). */
export interface WebhookObject {
  runWebhook(req: WebhookRunRequest): Promise<WebhookRunResult>;
  invalidateWebhookPacks(): Promise<void>;
}

/** Generic-webhook runs of one flow share one object of the tenant's `webhook` channel, keyed by the flow. */
export function webhookObject(env: WorkerEnv, tenant: string, flowId: string): WebhookObject {
  return channelObject(
    env,
    { env: env.GREENTIC_ENV, tenant, team: 'default', channel: WEBHOOK_CHANNEL },
    flowId,
  ) as unknown as WebhookObject;
}

/** A WebChat conversation's object, named `{env}:{tenant}:{conversation id}`. */
export function webchatConversation(env: WorkerEnv, tenant: string, conversationId: string): DurableObjectStub<WebchatConversation> {
  return env.WEBCHAT.get(env.WEBCHAT.idFromName(`${env.GREENTIC_ENV}:${tenant}:${conversationId}`));
}

/** A rate limit's counter object; edge/rate-limits.ts builds the name from the limit, its key and a shard. */
export function rateLimiter(env: WorkerEnv, name: string): DurableObjectStub<RateLimiter> {
  return env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(name));
}

/** The events object's side that callers use (a narrow view: the full stub type is too deep for tsc). */
export interface EventsObjectView {
  dispatch(req: EventDispatchRequest): Promise<EventDispatchResult>;
  runScheduled(req: ScheduledRunRequest): Promise<ScheduledRunResult>;
  recordedRuns(): Promise<{ key: string; outcome: FlowRunOutcome }[]>;
}

/** The object that runs a team's events and the tenant's timer fires (team `default`), `{env}:{tenant}:{team}`. */
export function eventsObject(env: WorkerEnv, tenant: string, team: string): EventsObjectView {
  return env.EVENTS_OBJECT.get(env.EVENTS_OBJECT.idFromName(`${env.GREENTIC_ENV}:${tenant}:${team}`)) as unknown as EventsObjectView;
}

/** The scheduler object's side that callers use. */
export interface SchedulerView {
  setSchedules(tenant: string, timers: TimerBinding[], nowMs?: number): Promise<ScheduleView[]>;
  schedules(): Promise<ScheduleView[]>;
  fireDue(nowMs: number): Promise<FireRecord[]>;
}

/** The tenant's scheduler, `{env}:{tenant}`. */
export function schedulerObject(env: WorkerEnv, tenant: string): SchedulerView {
  return env.SCHEDULER.get(env.SCHEDULER.idFromName(`${env.GREENTIC_ENV}:${tenant}`)) as unknown as SchedulerView;
}
