import { DurableObject } from 'cloudflare:workers';
import type { ChannelMessageEnvelope } from '../bus/envelope.js';
import { egressMessage, type IngressMessage, ingressMessageSchema } from '../bus/messages.js';
import { CodedError, errorMessage } from '../core/coded-error.js';
import { logEvent, type Span, tenantAttributes, withSpan } from '../edge/telemetry.js';
import { buildTenantCtx, type TenantCtx } from '../edge/tenant-ctx.js';
import type { Env } from '../env.js';
import { FlowRunError } from '../flow/execution-state.js';
import type { JsonObject, JsonValue } from '../flow/model.js';
import { ComponentStateLedger, type TurnComponentState } from './component-state.js';
import { DedupStore } from './dedup-store.js';
import { type ChannelSessionDeps, productionDependencies } from './dependencies.js';
import type { FlowEngine, TurnResult } from './flow-engine.js';
import { type LoadedPack, type RoutedFlow, RoutingError, selectEntryFlow, selectNamedFlow } from './flow-router.js';
import { type InboxRow, InboxStore } from './inbox-store.js';
import { OutboxStore } from './outbox-store.js';
import { activePacksOf, loadActivePacks, packModelOf } from './pack-source.js';
import { replyEnvelopes } from './replies.js';
import { applySessionMigrations } from './schema.js';
import { waitScopeHash } from './session-key.js';
import { SessionLanes } from './session-lanes.js';
import { type SessionInfo, SessionStore } from './session-store.js';
import { stateScope, TurnStateStore } from './state-store.js';
import { type WaitRow, WaitStore } from './wait-store.js';
import { checkWebhookResponse } from './webhook-response.js';

/** What the object did with one inbound message. */
export interface DeliveryResult {
  status: 'processed' | 'duplicate';
  idempotency_key: string;
  session_key: string;
  outcome: TurnOutcome;
}

/** Durable record of a committed turn (the dedup row's body). */
export interface TurnOutcome {
  run_status: 'done' | 'waiting' | 'failed';
  seq: number;
  pack_id: string;
  pack_version: string;
  pack_digest: string;
  flow_id: string;
  resumed: boolean;
  error_code?: string;
  reply_keys: string[];
}

/** A generic-webhook call (`ANY /v1/webhook/{tenant}/{flow}`). */
export interface WebhookRunRequest {
  tenant: string;
  flowId: string;
  input: JsonObject;
  idempotencyKey?: string;
}

export type WebhookRunResult =
  | { status: 'done'; output: JsonValue; replayed: boolean; code?: undefined }
  | { status: 'waiting'; reason: string | null; output: JsonValue; replayed: boolean; code?: undefined }
  | { status: 'error'; code: string; message: string; replayed: boolean };

/** Sessions whose inbox head keeps failing are unblocked after this many attempts. */
const INBOX_MAX_ATTEMPTS = 5;
/** Delay before the alarm retries unsent replies. */
const OUTBOX_RETRY_MS = 5_000;
/** Processed keys and sent replies are kept this long for dedup, then pruned by the alarm. */
const RETENTION_MS = 7 * 24 * 3600 * 1000;

export class ChannelSessionError extends CodedError<
  'WrongChannel' | 'WrongEnvironment' | 'InvalidMessage' | 'PreviousMessageFailed' | 'TurnFailed'
> {
  constructor(code: ChannelSessionError['code'], message: string) {
    super(code, `${code}: ${message}`);
  }
}

/**
 * One object per `{env}:{tenant}:{team}:{channel}[:{shard}]`. Inbound messages are written to a
 * durable inbox in arrival order and run one at a time per session (a per-session promise chain
 * in memory, the inbox seq on disk), while other sessions of the channel proceed in between.
 * Each turn commits its session update, state writes, replies (outbox), dedup record and inbox
 * removal in one transaction; replies go to the egress queue afterwards and are marked sent only
 * once the queue accepted them (the alarm re-sends anything left behind).
 */
export class ChannelSession extends DurableObject<Env> {
  private readonly lanes = new SessionLanes();
  private readonly inflight = new Map<string, Promise<DeliveryResult>>();
  private flushing: Promise<number> | null = null;

  private readonly failedAttempts = new Map<number, number>();
  private readonly inbox: InboxStore;
  private readonly dedup: DedupStore;
  private readonly waits: WaitStore;
  private readonly outbox: OutboxStore;
  private readonly sessions: SessionStore;
  private readonly componentState: ComponentStateLedger;

  constructor(
    ctx: DurableObjectState,
    env: Env,
    private readonly deps: ChannelSessionDeps = productionDependencies(env),
  ) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    this.inbox = new InboxStore(sql);
    this.dedup = new DedupStore(sql);
    this.waits = new WaitStore(sql);
    this.outbox = new OutboxStore(sql);
    this.sessions = new SessionStore(sql);
    this.componentState = new ComponentStateLedger(sql, env.COMPONENT_STATE);
    void ctx.blockConcurrencyWhile(async () => {
      applySessionMigrations(ctx.storage);
    });
  }

  // ------------------------------------------------------------------ delivery

  async deliver(raw: IngressMessage): Promise<DeliveryResult> {
    const parsed = ingressMessageSchema.safeParse(raw);
    if (!parsed.success) throw new ChannelSessionError('InvalidMessage', parsed.error.message);
    const message = parsed.data;
    const envelope = message.envelope;
    this.checkChannel(envelope);
    const key = message.idempotency_key;
    const sessionKey = envelope.session_id;

    const done = this.findOutcome(key);
    if (done !== undefined) return { status: 'duplicate', idempotency_key: key, session_key: sessionKey, outcome: done };
    const running = this.inflight.get(key);
    if (running !== undefined) {
      const first = await running;
      return { ...first, status: 'duplicate' };
    }

    // Accept durably before anything can interleave: the inbox seq fixes this message's place.
    const seq = this.inbox.accept(message, Date.now());

    const result = this.lanes.run(sessionKey, () => this.drain(sessionKey, seq, key));
    this.inflight.set(key, result);
    try {
      return await result;
    } finally {
      this.inflight.delete(key);
    }
  }

  /** Runs this session's inbox in seq order up to and including `seq`. */
  private async drain(sessionKey: string, seq: number, key: string): Promise<DeliveryResult> {
    for (;;) {
      const head = this.inbox.head(sessionKey, seq);
      if (head === undefined) break;
      try {
        await this.runTurn(head);
      } catch (err) {
        this.recordFailedAttempt(head, err);
        if (head.idempotency_key !== key) {
          throw new ChannelSessionError(
            'PreviousMessageFailed',
            `an earlier message of this session (${head.idempotency_key}) failed and will be retried first: ${errorMessage(err)}`,
          );
        }
        throw err;
      }
    }
    const outcome = this.findOutcome(key);
    if (outcome === undefined)
      throw new ChannelSessionError('TurnFailed', `message ${key} was dropped after ${INBOX_MAX_ATTEMPTS} failed attempts`);
    return { status: 'processed', idempotency_key: key, session_key: sessionKey, outcome };
  }

  private recordFailedAttempt(head: InboxRow, err: unknown): void {
    const attempts = (this.failedAttempts.get(head.seq) ?? 0) + 1;
    this.failedAttempts.set(head.seq, attempts);
    logEvent('warn', 'session.turn_failed', { 'greentic.session.id': head.session_key, seq: head.seq, attempts, error: errorMessage(err) });
    if (attempts >= INBOX_MAX_ATTEMPTS) {
      // Head-of-line blocking must end: the message leaves the inbox (its queue copy goes to the DLQ).
      this.inbox.remove(head.seq);
      this.failedAttempts.delete(head.seq);
      logEvent('error', 'session.turn_dropped', { 'greentic.session.id': head.session_key, seq: head.seq });
    }
  }
  private findOutcome(key: string): TurnOutcome | undefined {
    return this.dedup.outcome<TurnOutcome>(key);
  }

  // ------------------------------------------------------------------ one turn

  private async runTurn(row: InboxRow): Promise<void> {
    const message = JSON.parse(row.message_json) as IngressMessage;
    const envelope = message.envelope;
    const ctx = buildTenantCtx({
      env: this.env.GREENTIC_ENV,
      tenant: envelope.tenant.tenant,
      team: envelope.tenant.team,
      channel: envelope.channel,
      user: envelope.from?.id ?? envelope.tenant.user,
      sessionId: envelope.session_id,
      traceId: envelope.tenant.trace_id,
      correlationId: envelope.correlation_id ?? envelope.tenant.correlation_id,
      idempotencyKey: message.idempotency_key,
      i18nId: envelope.metadata['locale'] ?? envelope.tenant.i18n_id,
      attempt: envelope.tenant.attempt,
    });
    const where = `tenant "${ctx.tenant}" in env "${ctx.env}"`;
    const now = Date.now();
    const scopeHash = waitScopeHash(envelope.reply_scope ?? { conversation: envelope.session_id });

    await withSpan(
      'session.turn',
      { ...tenantAttributes(ctx), trace_id: ctx.trace_id, 'messaging.message.id': message.idempotency_key, seq: row.seq },
      async (span) => {
        const wait = this.waits.find(envelope.session_id, scopeHash);
        const active = await activePacksOf(this.env, ctx);
        let routed: RoutedFlow;
        let resumeFrom: WaitRow | undefined;
        const pinned = wait !== undefined && wait.expires_at > now ? active.find((p) => p.pack_id === wait.pack_id) : undefined;
        if (wait !== undefined && pinned !== undefined) {
          // A parked run finishes on the pack version it started with, even if another was activated since.
          const model = await packModelOf(this.env, wait.pack_digest);
          const flow = model.flows.find((f) => f.id === wait.flow_id);
          if (flow === undefined)
            throw new RoutingError('FlowNotFound', `${where}: parked flow "${wait.flow_id}" is missing from pack ${wait.pack_digest}`);
          routed = { pack: { ...pinned, digest: wait.pack_digest, version: model.version }, model, flow };
          resumeFrom = wait;
        } else {
          if (wait !== undefined)
            logEvent('info', 'session.wait_discarded', {
              ...tenantAttributes(ctx),
              reason: wait.expires_at <= now ? 'expired' : 'pack_deactivated',
            });
          const loaded: LoadedPack[] = await loadActivePacks(this.env, active);
          routed = selectEntryFlow(loaded, 'messaging', where);
        }
        const turnCtx: TenantCtx = { ...ctx, flow_id: routed.flow.id };
        span.setAttributes({
          'greentic.pack.id': routed.pack.pack_id,
          'greentic.pack.version': routed.pack.version,
          'greentic.flow.id': routed.flow.id,
          resumed: resumeFrom !== undefined,
        });
        const state = new TurnStateStore(this.sql, stateScope(ctx.env, ctx.tenant, ctx.team ?? 'default', routed.pack.pack_id));
        const componentTurn = this.componentState.turn();
        const input = envelope as unknown as JsonValue;
        const result = await this.runFlow(
          span,
          { env: this.env, ctx: turnCtx, model: routed.model, flow: routed.flow, state, componentState: componentTurn.stores, span },
          input,
          resumeFrom,
        );
        span.setAttributes({ 'greentic.run.status': result.status });
        this.commitTurn(row, message, routed, result, state, componentTurn, scopeHash, wait, resumeFrom !== undefined, now);
      },
    );
    await this.flushOutbox();
    await this.applyComponentState();
  }

  private async runFlow(
    span: Span,
    turn: Parameters<FlowEngine['start']>[0],
    input: JsonValue,
    wait: WaitRow | undefined,
  ): Promise<TurnResult> {
    return span.child(
      'flow.execute',
      {
        ...tenantAttributes(turn.ctx),
        'greentic.pack.id': turn.model.pack_id,
        'greentic.flow.id': turn.flow.id,
        resumed: wait !== undefined,
      },
      async (flowSpan) => {
        const result = await (wait === undefined
          ? this.deps.engine.start({ ...turn, span: flowSpan }, input)
          : this.deps.engine.resume({ ...turn, span: flowSpan }, JSON.parse(wait.snapshot) as JsonValue, input));
        flowSpan.setAttributes({ 'greentic.run.status': result.status });
        return result;
      },
    );
  }

  private commitTurn(
    row: InboxRow,
    message: IngressMessage,
    routed: RoutedFlow,
    result: TurnResult,
    state: TurnStateStore,
    componentTurn: TurnComponentState,
    scopeHash: string,
    previousWait: WaitRow | undefined,
    resumed: boolean,
    now: number,
  ): void {
    const envelope = message.envelope;
    const replies = replyEnvelopes(envelope, result.output, message.idempotency_key);
    const outcome: TurnOutcome = {
      run_status: result.status,
      seq: row.seq,
      pack_id: routed.pack.pack_id,
      pack_version: routed.pack.version,
      pack_digest: routed.pack.digest,
      flow_id: routed.flow.id,
      resumed,
      reply_keys: replies.map((r) => r.id),
    };
    if (result.status === 'failed') outcome.error_code = result.code;
    const ttlMs = waitTtlMs(this.env);
    this.ctx.storage.transactionSync(() => {
      state.commit(now);
      // A run that failed keeps none of its components' state writes (they may be half done).
      if (result.status !== 'failed') componentTurn.record(now);
      if (result.status === 'waiting') {
        this.waits.park(
          {
            sessionKey: envelope.session_id,
            scopeHash,
            packId: routed.pack.pack_id,
            packDigest: routed.pack.digest,
            flowId: routed.flow.id,
            reason: result.reason,
            snapshot: result.snapshot,
          },
          now,
          now + ttlMs,
        );
      } else if (previousWait !== undefined) {
        this.waits.clear(envelope.session_id, scopeHash);
      }
      this.sessions.recordTurn(envelope.session_id, JSON.stringify(envelope.tenant), row.seq, now);
      for (const reply of replies) this.outbox.add(egressMessage(reply, reply.id, message.idempotency_key, now), envelope.session_id, now);
      this.dedup.record(message.idempotency_key, envelope.session_id, outcome, now);
      this.inbox.remove(row.seq);
      // Part of the same commit: if the object dies before the egress send, the alarm re-sends.
      this.scheduleAlarm(now);
    });
    this.failedAttempts.delete(row.seq);
  }

  // ------------------------------------------------------------------ generic webhook

  /**
   * Runs an `http` / `event` flow named by the URL and returns its result. An `Idempotency-Key`
   * is recorded with the result in the same transaction as the run's state writes, so a replay
   * (sequential or concurrent) returns the first result and never runs the flow twice. Failed runs
   * are not recorded: retrying with the same key runs again.
   */
  async runWebhook(req: WebhookRunRequest): Promise<WebhookRunResult> {
    this.checkAddress(this.env.GREENTIC_ENV, req.tenant, 'default', 'webhook');
    if (req.idempotencyKey === undefined) return this.executeWebhook(req, undefined);
    const dedupKey = `webhook:${req.flowId}:${req.idempotencyKey}`;
    return this.lanes.run(dedupKey, async () => this.findWebhookResult(dedupKey) ?? this.executeWebhook(req, dedupKey));
  }

  private findWebhookResult(dedupKey: string): WebhookRunResult | undefined {
    const first = this.dedup.outcome<WebhookRunResult>(dedupKey);
    return first === undefined ? undefined : { ...first, replayed: true };
  }

  private async executeWebhook(req: WebhookRunRequest, dedupKey: string | undefined): Promise<WebhookRunResult> {
    const sessionKey = `webhook:${req.flowId}`;
    const ctx = buildTenantCtx({
      env: this.env.GREENTIC_ENV,
      tenant: req.tenant,
      channel: 'webhook',
      sessionId: sessionKey,
      flowId: req.flowId,
      idempotencyKey: req.idempotencyKey,
    });
    const where = `tenant "${ctx.tenant}" in env "${ctx.env}"`;
    const active = await activePacksOf(this.env, ctx);
    if (active.length === 0) return { status: 'error', code: 'NoActivePack', message: `${where} has no active pack`, replayed: false };
    const loaded: LoadedPack[] = await loadActivePacks(this.env, active);
    let routed: RoutedFlow;
    try {
      routed = selectNamedFlow(loaded, req.flowId, ['http', 'event'], where);
    } catch (err) {
      if (err instanceof RoutingError) return { status: 'error', code: err.code, message: err.message, replayed: false };
      throw err;
    }
    return withSpan(
      'webhook.run',
      { ...tenantAttributes(ctx), 'greentic.pack.id': routed.pack.pack_id, 'greentic.flow.id': routed.flow.id },
      async (span) => {
        const state = new TurnStateStore(this.sql, stateScope(ctx.env, ctx.tenant, ctx.team ?? 'default', routed.pack.pack_id));
        const componentTurn = this.componentState.turn();
        let result: WebhookRunResult;
        try {
          const run = await this.runFlow(
            span,
            { env: this.env, ctx, model: routed.model, flow: routed.flow, state, componentState: componentTurn.stores, span },
            req.input,
            undefined,
          );
          result =
            run.status === 'failed'
              ? {
                  status: 'error',
                  code: 'FlowFailed',
                  message: `flow "${routed.flow.id}" failed: ${run.code}: ${run.message}`,
                  replayed: false,
                }
              : run.status === 'waiting'
                ? { status: 'waiting', reason: run.reason, output: run.output, replayed: false }
                : { status: 'done', output: run.output, replayed: false };
        } catch (err) {
          if (!(err instanceof FlowRunError)) throw err;
          result = { status: 'error', code: 'FlowFailed', message: `flow "${routed.flow.id}" failed: ${err.message}`, replayed: false };
        }
        if (result.status === 'done') {
          // Checked before anything is recorded: an output that cannot be sent is not the key's result.
          const response = checkWebhookResponse(result.output);
          if (!response.ok) {
            const message = `flow "${routed.flow.id}" output is not a valid HTTP response: ${response.reason}`;
            result = { status: 'error', code: 'InvalidFlowOutput', message, replayed: false };
          }
        }
        span.setAttributes({ 'greentic.run.status': result.status });
        const now = Date.now();
        this.ctx.storage.transactionSync(() => {
          if (result.status === 'error') return;
          state.commit(now);
          const pending = componentTurn.record(now);
          if (dedupKey !== undefined) this.dedup.record(dedupKey, sessionKey, result, now);
          // Part of the commit: the alarm prunes the key and applies state writes left behind.
          if (pending || dedupKey !== undefined) this.scheduleAlarm(now);
        });
        await this.applyComponentState();
        return result;
      },
    );
  }

  // ------------------------------------------------------------------ outbox / egress

  /** Sends unsent replies in commit order; returns how many were sent. */
  flushOutbox(): Promise<number> {
    if (this.flushing !== null) return this.flushing.then(() => this.flushOutbox());
    const run = (async () => {
      let sent = 0;
      for (;;) {
        const rows = this.outbox.unsent(100);
        if (rows.length === 0) break;
        try {
          await this.deps.sendReplies(rows.map((r) => r.message));
        } catch (err) {
          const now = Date.now();
          this.ctx.storage.transactionSync(() => {
            this.outbox.markFailedAttempt(rows);
            this.scheduleAlarm(now);
          });
          logEvent('warn', 'egress.enqueue_failed', { replies: rows.length, error: errorMessage(err) });
          break;
        }
        const now = Date.now();
        this.ctx.storage.transactionSync(() => {
          this.outbox.markSent(rows, now);
          this.scheduleAlarm(now);
        });
        sent += rows.length;
      }
      return sent;
    })();
    this.flushing = run;
    void run.finally(() => {
      if (this.flushing === run) this.flushing = null;
    });
    return run;
  }

  /**
   * The object's single alarm serves every timer: the earliest wait expiry and, while replies are
   * unsent, an outbox retry.
   */
  private scheduleAlarm(now: number): void {
    const wait = this.waits.earliestExpiry();
    const unsent = this.outbox.unsentCount();
    const candidates = [wait ?? Number.POSITIVE_INFINITY, unsent > 0 ? now + OUTBOX_RETRY_MS : Number.POSITIVE_INFINITY];
    if (this.dedup.hasOlderThan(now - RETENTION_MS)) candidates.push(now + 60_000);
    if (this.componentState.hasPending()) candidates.push(now + OUTBOX_RETRY_MS);
    const next = Math.min(...candidates);
    if (Number.isFinite(next)) void this.ctx.storage.setAlarm(Math.max(next, now + 1));
    else void this.ctx.storage.deleteAlarm();
  }

  override async alarm(): Promise<void> {
    const now = Date.now();
    const expired = this.waits.expiredCount(now);
    this.ctx.storage.transactionSync(() => {
      this.waits.deleteExpired(now);
      this.dedup.pruneOlderThan(now - RETENTION_MS);
      this.outbox.pruneSentBefore(now - RETENTION_MS);
      this.scheduleAlarm(now);
    });
    if (expired > 0) logEvent('info', 'session.waits_expired', { count: expired });
    await this.flushOutbox();
    await this.applyComponentState();
  }

  /**
   * Hands committed component-state writes to their state objects (after each commit and from
   * the alarm); what does not get through waits for the next alarm.
   */
  private async applyComponentState(): Promise<void> {
    if (!this.componentState.hasPending()) return;
    await this.componentState.apply();
    this.scheduleAlarm(Date.now());
  }

  // ------------------------------------------------------------------ identity / inspection

  private checkChannel(envelope: ChannelMessageEnvelope): void {
    this.checkAddress(envelope.tenant.env, envelope.tenant.tenant, envelope.tenant.team ?? 'default', envelope.channel);
  }

  /** The first call fixes which channel this object serves; every later call must match it. */
  private checkAddress(env: string, tenant: string, team: string, channel: string): void {
    if (env !== this.env.GREENTIC_ENV) {
      throw new ChannelSessionError('WrongEnvironment', `message for env "${env}" reached the "${this.env.GREENTIC_ENV}" deployment`);
    }
    const meta = this.sessions.identity();
    if (meta === undefined) {
      this.sessions.claimIdentity({ env, tenant, team, channel });
      return;
    }
    if (meta.env !== env || meta.tenant !== tenant || meta.team !== team || meta.channel !== channel) {
      throw new ChannelSessionError(
        'WrongChannel',
        `this object serves ${meta.env}:${meta.tenant}:${meta.team}:${meta.channel}, not ${env}:${tenant}:${team}:${channel}`,
      );
    }
  }

  /** A session's persisted view (for channels like WebChat and for operators). */
  async sessionInfo(sessionKey: string): Promise<SessionInfo | null> {
    const session = this.sessions.turnsOf(sessionKey);
    if (session === undefined) return null;
    const waits = this.waits.listFor(sessionKey);
    return { session_key: sessionKey, last_seq: session.last_seq, turns: session.turns, updated_at: session.updated_at, waits };
  }

  private get sql(): SqlStorage {
    return this.ctx.storage.sql;
  }
}

function waitTtlMs(env: Env): number {
  const seconds = Number.parseInt(env.WAIT_TTL_SECONDS ?? '86400', 10);
  return (Number.isFinite(seconds) && seconds > 0 ? seconds : 86400) * 1000;
}
