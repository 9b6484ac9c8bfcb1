// One Durable Object per `{env}:{tenant}:{team}` runs that team's events and timer fires: it
// routes an event to its flows (event-routing.ts), runs each flow once per event id (flow-runs.ts),
// puts the events those runs emitted on the events queue one hop further, and sends their messages
// to the reply scope's conversation through the egress queue.
import { DurableObject } from 'cloudflare:workers';
import { egressMessageSchema } from '../bus/messages.js';
import { errorMessage } from '../core/coded-error.js';
import { logEvent, withSpan } from '../edge/telemetry.js';
import { buildTenantCtx } from '../edge/tenant-ctx.js';
import type { Env } from '../env.js';
import type { FlowKind, JsonValue } from '../flow/model.js';
import { createFlowEngine, edgeInvokerFactory } from '../session/engine-binding.js';
import type { FlowEngine } from '../session/flow-engine.js';
import { type LoadedPack, type RoutedFlow, RoutingError, selectNamedFlow } from '../session/flow-router.js';
import { activePacksOf, loadActivePacks } from '../session/pack-source.js';
import { applySessionMigrations } from '../session/schema.js';
import { type EventEnvelope, type EventReplyScope, eventFlowInput } from './envelope.js';
import { selectEventFlows } from './event-routing.js';
import { type EventBusMessage, eventBusMessage, MAX_EVENT_HOPS } from './events-bus.js';
import { type FlowRunOutcome, FlowRuns } from './flow-runs.js';

export interface EventsEnv extends Env {
  /** The events queue (`greentic-events`): emitted events between flows. */
  EVENTS: Queue;
}

export interface EventDispatchRequest {
  tenant: string;
  team: string;
  event: EventEnvelope;
  /** 0 for an event from outside; each re-routing of an emitted event adds one. */
  hop: number;
}

export interface EventDispatchResult {
  /** `not_routed`: no active pack has a flow for the event (`code`, `message` say why). */
  status: 'routed' | 'not_routed';
  code?: string;
  message?: string;
  event_id: string;
  event_type: string;
  hop: number;
  runs: FlowRunOutcome[];
  /** Emitted events not forwarded because the chain reached MAX_EVENT_HOPS. */
  dropped_events: number;
}

export interface ScheduledRunRequest {
  tenant: string;
  flowId: string;
  /** `{schedule_id}@{rfc3339}`: the fire's idempotency key. */
  activityId: string;
  input: JsonValue;
  replyScope?: EventReplyScope;
}

export type ScheduledRunResult = { status: 'ran'; outcome: FlowRunOutcome } | { status: 'not_routed'; code: string; message: string };

/** What the object depends on beyond its storage; tests inject their own. */
export interface EventsObjectDeps {
  engine: FlowEngine;
  publish(message: EventBusMessage): Promise<void>;
}

/** Flow kinds a timer may name (upstream's timer adapter runs any flow by id). */
const TIMER_FLOW_KINDS: readonly FlowKind[] = ['event', 'messaging', 'job', 'http'];

export class EventsObject extends DurableObject<EventsEnv> {
  private readonly runs: FlowRuns;
  private readonly deps: EventsObjectDeps;

  constructor(ctx: DurableObjectState, env: EventsEnv, deps?: EventsObjectDeps) {
    super(ctx, env);
    this.deps = deps ?? {
      engine: createFlowEngine(edgeInvokerFactory),
      publish: async (m) => {
        await env.EVENTS.send(m, { contentType: 'json' });
      },
    };
    this.runs = new FlowRuns(ctx.storage, env, this.deps.engine, {
      sendMessage: async (m) => {
        await env.EGRESS.send(egressMessageSchema.parse(m), { contentType: 'json' });
      },
    });
    void ctx.blockConcurrencyWhile(async () => {
      applySessionMigrations(ctx.storage);
    });
  }

  private async loadPacks(tenant: string, team: string): Promise<LoadedPack[]> {
    const ctx = buildTenantCtx({ env: this.env.GREENTIC_ENV, tenant, team, channel: 'events' });
    return loadActivePacks(this.env, await activePacksOf(this.env, ctx));
  }

  /**
   * Runs an event's flows (each once per event id) and forwards what they emitted. Throws only
   * for what a retry may fix (pack storage); an event no flow takes is logged and answered `not_routed`.
   */
  async dispatch(req: EventDispatchRequest): Promise<EventDispatchResult> {
    const { tenant, team, event, hop } = req;
    const where = `tenant "${tenant}" team "${team}" in env "${this.env.GREENTIC_ENV}"`;
    const result: EventDispatchResult = {
      status: 'routed',
      event_id: event.event_id,
      event_type: event.event_type,
      hop,
      runs: [],
      dropped_events: 0,
    };
    return withSpan(
      'events.dispatch',
      { 'greentic.tenant.id': tenant, 'greentic.team.id': team, 'event.id': event.event_id, 'event.type': event.event_type, hop },
      async (span) => {
        let routed: RoutedFlow[];
        try {
          routed = selectEventFlows(await this.loadPacks(tenant, team), event.event_type, where);
        } catch (err) {
          if (!(err instanceof RoutingError)) throw err;
          logEvent('error', 'events.not_routed', {
            'greentic.tenant.id': tenant,
            'event.id': event.event_id,
            code: err.code,
            reason: err.message,
          });
          return { ...result, status: 'not_routed', code: err.code, message: err.message };
        }
        const input = eventFlowInput(event, tenant, team);
        for (const flow of routed) {
          const outcome = await this.runs.run(
            {
              key: `event:${event.event_id}:${flow.pack.pack_id}/${flow.flow.id}`,
              routed: flow,
              tenant,
              team,
              input,
              replyScope: event.reply_scope,
              correlationId: event.correlation_id,
              channel: 'events',
              span,
            },
            { correlation_id: event.correlation_id, reply_scope: event.reply_scope },
          );
          result.runs.push(outcome);
          result.dropped_events += await this.forward(tenant, team, outcome, hop);
        }
        span.setAttributes({ runs: result.runs.length, dropped_events: result.dropped_events });
        return result;
      },
    );
  }

  /** Puts a run's emitted events on the bus one hop further, or drops them past the hop limit. */
  private async forward(tenant: string, team: string, outcome: FlowRunOutcome, hop: number): Promise<number> {
    if (outcome.emitted.length === 0) return 0;
    if (hop + 1 > MAX_EVENT_HOPS) {
      logEvent('error', 'events.hop_limit', {
        'greentic.tenant.id': tenant,
        'greentic.flow.id': outcome.flow_id,
        hop,
        dropped: outcome.emitted.length,
        event_types: [...new Set(outcome.emitted.map((e) => e.event_type))].join(','),
        reason: `emitted events were re-routed ${MAX_EVENT_HOPS} times; the chain is dropped (a cycle between flows?)`,
      });
      return outcome.emitted.length;
    }
    // Published on every delivery, replays too: the ids are stable, so a receiver runs each once.
    for (const event of outcome.emitted) await this.deps.publish(eventBusMessage(this.env.GREENTIC_ENV, tenant, team, event, hop + 1));
    return 0;
  }

  /** A timer fire: the named flow of the tenant's active packs, once per activity id. */
  async runScheduled(req: ScheduledRunRequest): Promise<ScheduledRunResult> {
    const team = 'default';
    const where = `tenant "${req.tenant}" in env "${this.env.GREENTIC_ENV}"`;
    return withSpan(
      'timer.fire',
      { 'greentic.tenant.id': req.tenant, 'greentic.flow.id': req.flowId, activity_id: req.activityId },
      async (span) => {
        let routed: RoutedFlow;
        try {
          const packs = await this.loadPacks(req.tenant, team);
          if (packs.length === 0) return { status: 'not_routed', code: 'NoActivePack', message: `${where} has no active pack` };
          routed = selectNamedFlow(packs, req.flowId, TIMER_FLOW_KINDS, where);
        } catch (err) {
          if (!(err instanceof RoutingError)) throw err;
          return { status: 'not_routed', code: err.code, message: err.message };
        }
        const outcome = await this.runs.run(
          {
            key: `timer:${req.activityId}`,
            routed,
            tenant: req.tenant,
            team,
            input: req.input,
            replyScope: req.replyScope,
            channel: 'timer',
            span,
          },
          req.replyScope === undefined ? {} : { reply_scope: req.replyScope },
        );
        try {
          await this.forward(req.tenant, team, outcome, 0);
        } catch (err) {
          logEvent('error', 'timer.forward_failed', { 'greentic.tenant.id': req.tenant, error: errorMessage(err) });
          throw err;
        }
        return { status: 'ran', outcome };
      },
    );
  }

  /** The recorded outcome of a run key (operators, tests). */
  async runOutcome(key: string): Promise<FlowRunOutcome | null> {
    return this.runs.outcome(key) ?? null;
  }

  /** Every recorded run of this object, oldest first (operators, tests). */
  async recordedRuns(): Promise<{ key: string; outcome: FlowRunOutcome }[]> {
    return this.ctx.storage.sql
      .exec<{ idempotency_key: string; outcome_json: string }>(
        'SELECT idempotency_key, outcome_json FROM dedup ORDER BY processed_at, rowid',
      )
      .toArray()
      .map((r) => ({ key: r.idempotency_key, outcome: JSON.parse(r.outcome_json) as FlowRunOutcome }));
  }

  override async alarm(): Promise<void> {
    if (!(await this.runs.componentState.apply())) await this.ctx.storage.setAlarm(Date.now() + 5_000);
  }
}
