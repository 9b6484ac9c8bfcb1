// Runs a routed flow once per key inside a Durable Object: the run's state writes, component state
// writes and its dedup record commit in one transaction, so a redelivered event or a timer alarm
// that fires twice finds the first outcome and does not run the flow again. Used by the events
// object (events-object.ts); the same storage layout as the channel object (session migrations).
import type { EgressMessage } from '../bus/messages.js';
import { egressMessage } from '../bus/messages.js';
import { isObject } from '../core/is-object.js';
import { logEvent, type Span, tenantAttributes } from '../edge/telemetry.js';
import { buildTenantCtx, type TenantCtx } from '../edge/tenant-ctx.js';
import type { Env } from '../env.js';
import { FlowRunError } from '../flow/execution-state.js';
import type { JsonValue } from '../flow/model.js';
import { sha256Hex } from '../pack/digest.js';
import { ComponentStateLedger } from '../session/component-state.js';
import { DedupStore } from '../session/dedup-store.js';
import type { FlowEngine } from '../session/flow-engine.js';
import type { RoutedFlow } from '../session/flow-router.js';
import { mapReplyOutput, replyEnvelopes } from '../session/replies.js';
import { SessionLanes } from '../session/session-lanes.js';
import { stateScope, TurnStateStore } from '../session/state-store.js';
import { type EventEnvelope, type EventReplyScope, eventEnvelopeSchema, FLOW_EVENT_PROVIDER } from './envelope.js';

/** What one run of one flow did, kept as the dedup record of its key. */
export interface FlowRunOutcome {
  pack_id: string;
  flow_id: string;
  status: 'done' | 'waiting' | 'failed';
  output: JsonValue;
  error_code?: string;
  /** Events the run emitted (complete envelopes, ids derived from the run key). */
  emitted: EventEnvelope[];
  /** The run's messages that had no conversation to go to. */
  dropped_messages: number;
  /** True when this key had run before and this is its recorded outcome. */
  replayed?: boolean;
}

export interface FlowRunRequest {
  key: string;
  routed: RoutedFlow;
  tenant: string;
  team: string;
  input: JsonValue;
  /** Where the run's messages go; without one they are logged and dropped. */
  replyScope: EventReplyScope | undefined;
  correlationId?: string | undefined;
  /** Channel label of the run in telemetry and the tenant context (`events`, `timer`). */
  channel: string;
  span: Span;
}

/** How emitted events and messages leave the object (production: the EVENTS and EGRESS queues). */
export interface RunEffects {
  sendMessage(message: EgressMessage): Promise<void>;
}

/**
 * A flow emits events through items of its output carrying `emitted_events` (upstream's provider
 * output key): each entry needs `event_type`; `payload`, `event_id`, `correlation_id` and
 * `reply_scope` are optional. A bad entry is logged and skipped, the others still go.
 */
export function emittedEvents(
  output: JsonValue,
  parent: { key: string; tenant: string; team: string; flowId: string },
  inherit: Pick<EventEnvelope, 'correlation_id' | 'reply_scope'>,
  now: Date,
): EventEnvelope[] {
  const items = Array.isArray(output) ? output : [output];
  const events: EventEnvelope[] = [];
  for (const item of items) {
    if (!isObject(item) || !Array.isArray(item.emitted_events)) continue;
    for (const raw of item.emitted_events) {
      const entry = isObject(raw) ? raw : {};
      const candidate = {
        // Stable across redeliveries of the parent (so receivers dedup) and bounded in length along a chain.
        event_id:
          typeof entry.event_id === 'string'
            ? entry.event_id
            : `evt-${sha256Hex(new TextEncoder().encode(`${parent.key}#${events.length}`)).slice(0, 32)}`,
        event_type: entry.event_type,
        occurred_at: now.toISOString(),
        source: { domain: 'events', provider: FLOW_EVENT_PROVIDER, handler_id: parent.flowId },
        scope: { tenant: parent.tenant, team: parent.team },
        payload: entry.payload ?? null,
        ...(typeof entry.correlation_id === 'string'
          ? { correlation_id: entry.correlation_id }
          : inherit.correlation_id === undefined
            ? {}
            : { correlation_id: inherit.correlation_id }),
        ...(entry.reply_scope !== undefined
          ? { reply_scope: entry.reply_scope }
          : inherit.reply_scope === undefined
            ? {}
            : { reply_scope: inherit.reply_scope }),
      };
      const parsed = eventEnvelopeSchema.safeParse(candidate);
      if (parsed.success) events.push(parsed.data);
      else
        logEvent('error', 'events.emitted_invalid', {
          'greentic.tenant.id': parent.tenant,
          'greentic.flow.id': parent.flowId,
          reason: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
        });
    }
  }
  return events;
}

export class FlowRuns {
  private readonly lanes = new SessionLanes();
  private readonly dedup: DedupStore;
  readonly componentState: ComponentStateLedger;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly env: Env,
    private readonly engine: FlowEngine,
    private readonly effects: RunEffects,
  ) {
    this.dedup = new DedupStore(storage.sql);
    this.componentState = new ComponentStateLedger(storage.sql, env.COMPONENT_STATE);
  }

  /** The recorded outcome of a key, if it ran. */
  outcome(key: string): FlowRunOutcome | undefined {
    return this.dedup.outcome<FlowRunOutcome>(key);
  }

  /** Runs the flow unless its key ran before (then returns that outcome, marked replayed). */
  run(req: FlowRunRequest, inherit: Pick<EventEnvelope, 'correlation_id' | 'reply_scope'>): Promise<FlowRunOutcome> {
    return this.lanes.run(req.key, async () => {
      const done = this.dedup.outcome<FlowRunOutcome>(req.key);
      if (done !== undefined) return { ...done, replayed: true };
      return this.execute(req, inherit);
    });
  }

  private async execute(req: FlowRunRequest, inherit: Pick<EventEnvelope, 'correlation_id' | 'reply_scope'>): Promise<FlowRunOutcome> {
    const { routed } = req;
    const ctx: TenantCtx = buildTenantCtx({
      env: this.env.GREENTIC_ENV,
      tenant: req.tenant,
      team: req.team,
      channel: req.channel,
      flowId: routed.flow.id,
      correlationId: req.correlationId,
      idempotencyKey: req.key,
    });
    const sql = this.storage.sql;
    const state = new TurnStateStore(sql, stateScope(ctx.env, ctx.tenant, req.team, routed.pack.pack_id));
    const componentTurn = this.componentState.turn();
    let status: FlowRunOutcome['status'];
    let output: JsonValue;
    let errorCode: string | undefined;
    try {
      const result = await req.span.child(
        'flow.execute',
        { ...tenantAttributes(ctx), 'greentic.pack.id': routed.pack.pack_id, 'greentic.flow.id': routed.flow.id },
        (span) =>
          this.engine.start(
            { env: this.env, ctx, model: routed.model, flow: routed.flow, state, componentState: componentTurn.stores, span },
            req.input,
          ),
      );
      status = result.status;
      output = result.output;
      if (result.status === 'failed') errorCode = result.code;
    } catch (err) {
      // Engine rules (budget, paused sub-flow) end the run for good; anything else is transient.
      if (!(err instanceof FlowRunError)) throw err;
      status = 'failed';
      output = null;
      errorCode = err.code;
    }
    const now = Date.now();
    const emitted =
      status === 'failed'
        ? []
        : emittedEvents(output, { key: req.key, tenant: req.tenant, team: req.team, flowId: routed.flow.id }, inherit, new Date(now));
    const messages = status === 'failed' ? [] : this.messagesOf(req, ctx, output, now);
    const outcome: FlowRunOutcome = {
      pack_id: routed.pack.pack_id,
      flow_id: routed.flow.id,
      status,
      output,
      emitted,
      dropped_messages: req.replyScope === undefined ? messages.length : 0,
    };
    if (errorCode !== undefined) outcome.error_code = errorCode;
    if (status === 'waiting')
      // An event or timer run has no conversation to resume from: what it said so far stands.
      logEvent('warn', 'events.run_paused', { ...tenantAttributes(ctx), 'greentic.flow.id': routed.flow.id });
    this.storage.transactionSync(() => {
      if (status !== 'failed') {
        state.commit(now);
        componentTurn.record(now);
      }
      this.dedup.record(req.key, `${req.channel}:${routed.flow.id}`, outcome, now);
    });
    // What does not reach its state object now is applied by the object's alarm.
    if (!(await this.componentState.apply())) await this.storage.setAlarm(now + 5_000);
    if (req.replyScope === undefined) {
      if (messages.length > 0)
        logEvent('warn', 'events.messages_dropped', {
          ...tenantAttributes(ctx),
          'greentic.flow.id': routed.flow.id,
          count: messages.length,
          reason: 'the run has no reply scope, so its messages have no conversation to go to',
        });
    } else {
      for (const message of messages) await this.effects.sendMessage(message);
    }
    return outcome;
  }

  /** The run's output items that are messages, addressed to the reply scope's conversation (or to none). */
  private messagesOf(req: FlowRunRequest, ctx: TenantCtx, output: JsonValue, now: number): EgressMessage[] {
    const scope = req.replyScope;
    const team = scope?.team ?? req.team;
    const inbound = {
      id: req.key,
      tenant: buildTenantCtx({ env: ctx.env, tenant: req.tenant, team, channel: scope?.channel ?? req.channel, user: scope?.user }),
      channel: scope?.channel ?? req.channel,
      session_id: scope?.conversation ?? req.key,
      to: [],
      attachments: [],
      metadata: {},
      extensions: {},
      ...(scope === undefined
        ? {}
        : {
            reply_scope: { conversation: scope.conversation, ...(scope.thread === undefined ? {} : { thread: scope.thread }) },
            ...(scope.user === undefined ? {} : { from: { id: scope.user } }),
          }),
    };
    const mapped = mapReplyOutput(output);
    if (!mapped.ok) {
      logEvent('warn', 'events.invalid_output', { ...tenantAttributes(ctx), reason: mapped.reason });
      return [];
    }
    return replyEnvelopes(inbound, mapped.replies, req.key).map((reply) => egressMessage(reply, reply.id, req.key, now));
  }
}
