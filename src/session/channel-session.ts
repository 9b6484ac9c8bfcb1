import { DurableObject } from 'cloudflare:workers';
import { EgressSendError } from '../bus/delivery.js';
import type { ChannelMessageEnvelope } from '../bus/envelope.js';
import { egressMessage, type IngressMessage, ingressMessageSchema, retryDelaySeconds } from '../bus/messages.js';
import { CodedError, errorMessage } from '../core/coded-error.js';
import { isObject } from '../core/is-object.js';
import { errorFacts, logEvent, type Span, tenantAttributes, withSpan } from '../edge/telemetry.js';
import { buildTenantCtx, type TenantCtx } from '../edge/tenant-ctx.js';
import type { Env } from '../env.js';
import { forwardTurnEvents } from '../events/turn-events.js';
import { FlowRunError } from '../flow/execution-state.js';
import type { JsonObject, JsonValue } from '../flow/model.js';
import { DEFAULT_FAILURE_TEXT } from '../flow/output.js';
import { navigatedCard, navigationTarget, resolveCardTokens, withoutNavigation } from './card-navigation.js';
import { ComponentStateLedger, type TurnComponentState } from './component-state.js';
import { DedupStore } from './dedup-store.js';
import type { ChannelSessionDeps } from './dependencies.js';
import type { FlowEngine, TurnResult } from './flow-engine.js';
import { type LoadedPack, type RoutedFlow, RoutingError, selectEntryFlow, selectNamedFlow } from './flow-router.js';
import { type InboxRow, InboxStore } from './inbox-store.js';
import { type OutboxEntry, OutboxStore } from './outbox-store.js';
import { activePacksOf, loadActivePacks, packModelOf } from './pack-source.js';
import { cardReply, mapReplyOutput, type ReplyBody, replyEnvelopes, replyOutput } from './replies.js';
import { adopted, exportSession, type HandedOver, importSession } from './reshard.js';
import { applySessionMigrations } from './schema.js';
import { waitScopeHash } from './session-key.js';
import { SessionLanes } from './session-lanes.js';
import { type SessionInfo, SessionStore } from './session-store.js';
import { stateScope, TurnStateStore } from './state-store.js';
import { type WaitRow, WaitStore } from './wait-store.js';
import { authenticateWebhook, readTenantSecret, webhookAuthOf, withoutCredential } from './webhook-auth.js';
import { checkWebhookResponse } from './webhook-response.js';

/** What the object answered an ingress call: the message is durable in its inbox (or was already). */
export interface AcceptResult {
  status: 'accepted' | 'duplicate';
  idempotency_key: string;
  session_key: string;
}

/** What the object did with one inbound message, once its turn committed. */
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
  /** Empty when the message never reached a flow (dead-lettered before routing). */
  pack_id: string;
  pack_version: string;
  pack_digest: string;
  flow_id: string;
  resumed: boolean;
  error_code?: string;
  /** The message's retries were exhausted and it went to the dead-letter queue. */
  dead_lettered?: boolean;
  /** The submit navigated to this pack card, which was served without running the flow. */
  served_card?: string;
  reply_keys: string[];
}

export interface AcceptOptions {
  /** An operator's replay of a dead letter: a dead-lettered outcome does not count as processed. */
  replay?: boolean;
}

/** A generic-webhook call (`ANY /v1/webhook/{tenant}/{flow}`). */
export interface WebhookRunRequest {
  tenant: string;
  flowId: string;
  input: JsonObject;
  idempotencyKey?: string;
  /** The request body as received: what a flow's webhook signature is computed over. */
  rawBody?: Uint8Array;
}

export type WebhookRunResult =
  | { status: 'done'; output: JsonValue; replayed: boolean; code?: undefined }
  | { status: 'waiting'; reason: string | null; output: JsonValue; replayed: boolean; code?: undefined }
  | { status: 'error'; code: string; message: string; replayed: boolean; challenge?: string };

/** Attempts of a turn before its message is dead-lettered (the user is told). */
const INBOX_MAX_ATTEMPTS = 5;
/** Delay before retrying a failed turn, by attempts so far (alarm-driven, so it survives restarts). */
const INBOX_RETRY_DELAYS_MS = [1_000, 5_000, 30_000, 120_000] as const;
/** A turn (or a delivery) that began but never finished (the object was reset) is retried after this. */
const STALLED_TURN_MS = 30_000;
/** Delivery attempts of a reply before it is dead-lettered. */
const OUTBOX_MAX_ATTEMPTS = 8;
/** A provider's Retry-After is honoured up to this. */
const MAX_RETRY_AFTER_SECONDS = 3_600;
/** A webhook object re-reads the tenant's packs after this even without a notice (a lost one). */
const WEBHOOK_PACKS_MAX_AGE_MS = 60_000;
/** Committed component-state writes that did not reach their state object are retried after this. */
const COMPONENT_STATE_RETRY_MS = 5_000;
/** Processed keys and sent replies are kept this long for dedup, then pruned by the alarm. */
const RETENTION_MS = 7 * 24 * 3600 * 1000;

/**
 * The dedup record of a webhook call's `Idempotency-Key`: per flow, and per principal when the flow
 * authenticates its callers (a distinct prefix, so no key of an unauthenticated call can name it).
 */
function webhookDedupKey(flowId: string, idempotencyKey: string, principal?: string): string {
  return principal === undefined
    ? `webhook:${flowId}:${idempotencyKey}`
    : `webhook-auth:${JSON.stringify([flowId, principal, idempotencyKey])}`;
}

/** A run that ran out of its engine work budget is told apart from other flow failures (webhook code `TurnBudgetExceeded`). */
function webhookFailureCode(runCode: string): string {
  return runCode === 'turn_budget_exceeded' ? 'TurnBudgetExceeded' : 'FlowFailed';
}

export class ChannelSessionError extends CodedError<
  'WrongChannel' | 'WrongEnvironment' | 'InvalidMessage' | 'PreviousMessageFailed' | 'TurnFailed'
> {
  constructor(code: ChannelSessionError['code'], message: string) {
    super(code, `${code}: ${message}`);
  }
}

interface Pending<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

function pending<T>(): Pending<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * One object per `{env}:{tenant}:{team}:{channel}[:{shard}]`. Ingress calls `accept()`: the
 * message is written to the durable inbox (dedup included) before the call returns, then its turn
 * runs in the background, one message at a time per session (a per-session chain in memory, the
 * inbox seq on disk) while other sessions' turns overlap. Each turn commits its session update,
 * state writes, pause snapshot, replies (outbox), dedup record and inbox removal in one
 * transaction; the replies are then delivered directly through the channel's sender. Failed turns
 * and failed deliveries are retried by the object's alarm with backoff and, once exhausted,
 * dead-lettered with the message intact (the user is told when their message could not be
 * handled).
 */
export class ChannelSession extends DurableObject<Env> {
  private readonly lanes = new SessionLanes();
  /** Sessions with a drain queued but not started (one is enough: it runs everything due). */
  private readonly queuedDrains = new Set<string>();
  /** Callers of `deliver()` waiting for a message's committed outcome. */
  private readonly waiters = new Map<string, Pending<TurnOutcome>>();

  private readonly inbox: InboxStore;
  private readonly dedup: DedupStore;
  private readonly waits: WaitStore;
  private readonly outbox: OutboxStore;
  private readonly sessions: SessionStore;
  private readonly componentState: ComponentStateLedger;

  constructor(
    ctx: DurableObjectState,
    env: Env,
    private readonly deps: ChannelSessionDeps,
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
      // Rows left by an earlier version (or an instance that was reset) get an alarm to run them.
      if (this.inbox.count() > 0 || this.outbox.unsentCount() > 0) this.scheduleAlarm(Date.now());
    });
  }

  // ------------------------------------------------------------------ ingress

  /**
   * Takes a message: once this returns, it is durable in the inbox (or was processed before) and
   * its turn runs without the caller. This is what ingress calls; its 2xx depends on nothing else.
   */
  async accept(raw: IngressMessage, options: AcceptOptions = {}): Promise<AcceptResult> {
    const admitted = this.admit(raw, options);
    // A message already in the inbox is kicked too: after a restart nothing else may be running it.
    if (admitted.state !== 'done') this.kick(admitted.session_key);
    return {
      status: admitted.state === 'new' ? 'accepted' : 'duplicate',
      idempotency_key: admitted.key,
      session_key: admitted.session_key,
    };
  }

  /** Takes a message and waits for its turn to commit and its replies to be delivered (tests, tools). */
  async deliver(raw: IngressMessage, options: AcceptOptions = {}): Promise<DeliveryResult> {
    const admitted = this.admit(raw, options);
    const base = { idempotency_key: admitted.key, session_key: admitted.session_key };
    if (admitted.state === 'done') return { ...base, status: 'duplicate', outcome: admitted.outcome };
    const outcome = this.outcomeOf(admitted.key);
    this.kick(admitted.session_key);
    return { ...base, status: admitted.state === 'new' ? 'processed' : 'duplicate', outcome: await outcome };
  }

  /** Validates, checks the address and dedup, and writes the inbox row; synchronous, so nothing interleaves. */
  private admit(
    raw: IngressMessage,
    options: AcceptOptions,
  ): { key: string; session_key: string } & ({ state: 'new' | 'pending' } | { state: 'done'; outcome: TurnOutcome }) {
    const parsed = ingressMessageSchema.safeParse(raw);
    if (!parsed.success) throw new ChannelSessionError('InvalidMessage', parsed.error.message);
    const message = parsed.data;
    this.checkChannel(message.envelope);
    const key = message.idempotency_key;
    const sessionKey = message.envelope.session_id;
    const done = this.dedup.outcome<TurnOutcome>(key);
    if (done !== undefined && !(options.replay === true && done.dead_lettered === true)) {
      return { key, session_key: sessionKey, state: 'done', outcome: done };
    }
    if (this.inbox.has(key)) return { key, session_key: sessionKey, state: 'pending' };
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      if (done !== undefined) this.dedup.forget(key);
      this.inbox.accept(message, now, now + STALLED_TURN_MS);
      this.scheduleAlarm(now);
    });
    return { key, session_key: sessionKey, state: 'new' };
  }

  private outcomeOf(key: string): Promise<TurnOutcome> {
    let waiter = this.waiters.get(key);
    if (waiter === undefined) {
      waiter = pending<TurnOutcome>();
      this.waiters.set(key, waiter);
    }
    return waiter.promise;
  }

  private settle(key: string, outcome: TurnOutcome | undefined, error?: unknown): void {
    const waiter = this.waiters.get(key);
    if (waiter === undefined) return;
    this.waiters.delete(key);
    if (outcome !== undefined) waiter.resolve(outcome);
    else waiter.reject(error);
  }

  /** Queues a drain of the session's inbox behind whatever the session is doing now. */
  private kick(sessionKey: string): Promise<void> {
    if (this.queuedDrains.has(sessionKey)) return Promise.resolve();
    this.queuedDrains.add(sessionKey);
    const run = this.lanes.run(sessionKey, async () => {
      this.queuedDrains.delete(sessionKey);
      await this.drain(sessionKey);
    });
    const settled = run.catch((err: unknown) => {
      logEvent('error', 'session.drain_failed', { 'greentic.session.id': sessionKey, error: errorMessage(err) });
    });
    this.ctx.waitUntil(settled);
    return settled;
  }

  /** Runs the session's inbox in seq order until it is empty or its head must wait for a retry. */
  private async drain(sessionKey: string): Promise<void> {
    await this.adoptSession(sessionKey);
    for (;;) {
      const head = this.inbox.head(sessionKey);
      if (head === undefined) return;
      const processed = this.dedup.outcome<TurnOutcome>(head.idempotency_key);
      if (processed !== undefined) {
        // Processed before this object held the session (a reshard handed its dedup records over).
        this.inbox.remove(head.seq);
        this.settle(head.idempotency_key, processed);
        continue;
      }
      const now = Date.now();
      if (head.attempts > 0 && head.next_attempt_at > now) {
        // Its retry is not due: nobody waits on it (or behind it) until the alarm runs it.
        this.settle(
          head.idempotency_key,
          undefined,
          new ChannelSessionError(
            'TurnFailed',
            `message ${head.idempotency_key} failed and is retried at ${new Date(head.next_attempt_at).toISOString()}`,
          ),
        );
        this.failWaitersBehind(head);
        return;
      }
      this.ctx.storage.transactionSync(() => {
        // Counted before the turn runs: a turn that resets the object still uses up an attempt.
        this.inbox.beginAttempt(head.seq, now + STALLED_TURN_MS);
        this.scheduleAlarm(now);
      });
      let outcome: TurnOutcome;
      try {
        outcome = await this.runTurn(head);
      } catch (err) {
        // A waiter learns the turn's own error; if recording the failure fails too, that error
        // leaves the drain and the alarm picks the message up again.
        this.settle(head.idempotency_key, undefined, err);
        const retrying = await this.turnFailed(head, err);
        if (retrying) {
          this.failWaitersBehind(head);
          return;
        }
        await this.deliverReplies(sessionKey);
        continue;
      }
      await this.deliverReplies(sessionKey);
      // After the reply: this object's later turns read its pending writes; other objects see them next.
      await this.applyComponentState();
      this.settle(head.idempotency_key, outcome);
    }
  }

  /** Callers waiting on later messages of a session whose head failed learn it now, not after the retries. */
  private failWaitersBehind(head: InboxRow): void {
    for (const key of this.inbox.keysAfter(head.session_key, head.seq)) {
      this.settle(
        key,
        undefined,
        new ChannelSessionError(
          'PreviousMessageFailed',
          `an earlier message of this session (${head.idempotency_key}) failed and is retried first`,
        ),
      );
    }
  }

  /**
   * A turn threw (nothing of it was committed). Returns true when the message stays for a retry;
   * false when it was dead-lettered (routing errors are not retried: no pack or flow takes it).
   */
  private async turnFailed(head: InboxRow, err: unknown): Promise<boolean> {
    const attempts = head.attempts + 1;
    const code = err instanceof CodedError ? err.code : 'TurnFailed';
    const now = Date.now();
    const permanent = err instanceof RoutingError;
    logEvent('warn', 'session.turn_failed', { 'greentic.session.id': head.session_key, seq: head.seq, attempts, code, ...errorFacts(err) });
    if (!permanent && attempts < INBOX_MAX_ATTEMPTS) {
      const delay = INBOX_RETRY_DELAYS_MS[Math.min(attempts, INBOX_RETRY_DELAYS_MS.length) - 1] ?? STALLED_TURN_MS;
      this.ctx.storage.transactionSync(() => {
        this.inbox.deferAttempt(head.seq, `${code}: ${errorMessage(err)}`, now + delay);
        this.scheduleAlarm(now);
      });
      return true;
    }
    const message = JSON.parse(head.message_json) as IngressMessage;
    if (permanent && message.envelope.metadata['autoStart'] === 'true') {
      // A welcome nobody asked for is not worth an error card or a dead letter: the user's first
      // message meets the same failure and is answered; the operator has this log.
      logEvent('warn', 'session.autostart_unrouted', { 'greentic.session.id': head.session_key, code });
      this.ctx.storage.transactionSync(() => {
        this.dedup.record(message.idempotency_key, head.session_key, this.unroutedOutcome(head.seq, code, []), now);
        this.inbox.remove(head.seq);
        this.scheduleAlarm(now);
      });
      return false;
    }
    try {
      await this.deps.deadLetter({ source: 'ingress', message }, code, attempts);
    } catch (dlqErr) {
      // The message stays in the inbox rather than vanish: the alarm tries again.
      logEvent('error', 'session.dead_letter_failed', { 'greentic.session.id': head.session_key, error: errorMessage(dlqErr) });
      this.ctx.storage.transactionSync(() => {
        this.inbox.deferAttempt(head.seq, `${code}: ${errorMessage(err)}`, now + STALLED_TURN_MS);
        this.scheduleAlarm(now);
      });
      return true;
    }
    // Its own reply keys: a replay of this message later must not collide with the notice.
    const notices = replyEnvelopes(message.envelope, failureNotice(code, permanent), `${message.idempotency_key}!failed`);
    const outcome: TurnOutcome = { ...this.unroutedOutcome(head.seq, code, notices), dead_lettered: true };
    this.ctx.storage.transactionSync(() => {
      for (const notice of notices)
        this.outbox.add(egressMessage(notice, notice.id, message.idempotency_key, now), head.session_key, now, now + STALLED_TURN_MS);
      this.dedup.record(message.idempotency_key, head.session_key, outcome, now);
      this.inbox.remove(head.seq);
      this.scheduleAlarm(now);
    });
    logEvent('error', 'session.turn_dead_lettered', { 'greentic.session.id': head.session_key, seq: head.seq, attempts, code });
    return false;
  }

  /** The outcome of a message that never reached a flow. */
  private unroutedOutcome(seq: number, code: string, notices: readonly ChannelMessageEnvelope[]): TurnOutcome {
    return {
      run_status: 'failed',
      seq,
      pack_id: '',
      pack_version: '',
      pack_digest: '',
      flow_id: '',
      resumed: false,
      error_code: code,
      reply_keys: notices.map((r) => r.id),
    };
  }

  // ------------------------------------------------------------------ resharding

  private readonly adoptedSessions = new Set<string>();

  /**
   * While a reshard is under way, takes the session over from the object that held it before
   * (once). `routingKey` is what the shard is computed from (the session key; a webhook's flow id).
   */
  private async adoptSession(sessionKey: string, routingKey = sessionKey): Promise<void> {
    if (this.deps.previousShard === undefined || this.adoptedSessions.has(sessionKey)) return;
    const identity = this.sessions.identity();
    const previous = identity === undefined ? undefined : this.deps.previousShard(identity, routingKey);
    if (previous !== undefined && !adopted(this.sql, sessionKey) && this.sessions.turnsOf(sessionKey) === undefined) {
      const includeState = !adopted(this.sql, `state:${previous.name}`);
      const handed = await previous.stub.handOver(sessionKey, includeState);
      this.ctx.storage.transactionSync(() => importSession(this.sql, sessionKey, previous.name, handed, includeState, Date.now()));
      logEvent('info', 'session.adopted', {
        'greentic.session.id': sessionKey,
        from: previous.name,
        waits: handed.waits.length,
        dedup: handed.dedup.length,
        state: handed.state.length,
      });
    }
    this.adoptedSessions.add(sessionKey);
  }

  /** The previous holder's side of a reshard: exports the session's rows and forgets them. */
  async handOver(sessionKey: string, includeState: boolean): Promise<HandedOver> {
    return this.ctx.storage.transactionSync(() => exportSession(this.sql, sessionKey, includeState));
  }

  // ------------------------------------------------------------------ one turn

  private async runTurn(row: InboxRow): Promise<TurnOutcome> {
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

    return withSpan(
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
        // Card navigation (card-navigation.ts): a node target enters the flow there; a pack card is
        // served without running the flow, leaving a parked run as it is.
        const target = navigationTarget(envelope);
        let input = envelope;
        let startNode: string | undefined;
        if (target !== undefined && Object.hasOwn(routed.flow.nodes, target)) {
          startNode = target;
          input = withoutNavigation(envelope);
          resumeFrom = undefined;
        } else if (target !== undefined) {
          const card = await navigatedCard(this.env, routed.model, target, envelope);
          if (card !== undefined) {
            span.setAttributes({ 'greentic.pack.id': routed.pack.pack_id, 'greentic.card.id': target });
            return this.commitServedCard(row, message, routed, target, card, now);
          }
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
        const result = await this.runFlow(
          span,
          { env: this.env, ctx: turnCtx, model: routed.model, flow: routed.flow, state, componentState: componentTurn.stores, span },
          input as unknown as JsonValue,
          resumeFrom,
          startNode,
        );
        span.setAttributes({ 'greentic.run.status': result.status });
        if (result.status !== 'failed') await forwardTurnEvents(this.env, envelope, result.output, message.idempotency_key, routed.flow.id);
        const answer = this.answerOf(envelope, routed, result);
        answer.replies = await resolveCardTokens(this.env, routed.model, answer.replies, envelope.metadata['locale']);
        return this.commitTurn(row, message, routed, result, answer, state, componentTurn, scopeHash, wait, resumeFrom !== undefined, now);
      },
    );
  }

  private async runFlow(
    span: Span,
    turn: Parameters<FlowEngine['start']>[0],
    input: JsonValue,
    wait: WaitRow | undefined,
    startNode?: string,
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
          ? this.deps.engine.start({ ...turn, span: flowSpan }, input, startNode === undefined ? {} : { startNode })
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
    answer: { replies: ReplyBody[]; invalid: boolean },
    state: TurnStateStore,
    componentTurn: TurnComponentState,
    scopeHash: string,
    previousWait: WaitRow | undefined,
    resumed: boolean,
    now: number,
  ): TurnOutcome {
    const envelope = message.envelope;
    const replies = replyEnvelopes(envelope, answer.replies, message.idempotency_key);
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
    else if (answer.invalid) {
      outcome.run_status = 'failed';
      outcome.error_code = 'InvalidFlowOutput';
    }
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
      this.recordAnswered(row, message, replies, outcome, now);
    });
    return outcome;
  }

  /** The end of every turn's transaction: the session's turn, its replies (outbox), its dedup record, its inbox row gone. */
  private recordAnswered(
    row: InboxRow,
    message: IngressMessage,
    replies: readonly ChannelMessageEnvelope[],
    outcome: TurnOutcome,
    now: number,
  ): void {
    const envelope = message.envelope;
    this.sessions.recordTurn(envelope.session_id, JSON.stringify(envelope.tenant), row.seq, now);
    for (const reply of replies)
      this.outbox.add(egressMessage(reply, reply.id, message.idempotency_key, now), envelope.session_id, now, now + STALLED_TURN_MS);
    this.dedup.record(message.idempotency_key, envelope.session_id, outcome, now);
    this.inbox.remove(row.seq);
    // Part of the same commit: if the object dies before the delivery, the alarm delivers.
    this.scheduleAlarm(now);
  }

  /** Commits a turn answered by a pack card alone: no flow ran, so no state, wait or component write changes. */
  private commitServedCard(
    row: InboxRow,
    message: IngressMessage,
    routed: RoutedFlow,
    cardId: string,
    card: JsonValue,
    now: number,
  ): TurnOutcome {
    const envelope = message.envelope;
    const replies = replyEnvelopes(envelope, [cardReply(card)], message.idempotency_key);
    const outcome: TurnOutcome = {
      run_status: 'done',
      seq: row.seq,
      pack_id: routed.pack.pack_id,
      pack_version: routed.pack.version,
      pack_digest: routed.pack.digest,
      flow_id: routed.flow.id,
      resumed: false,
      served_card: cardId,
      reply_keys: replies.map((r) => r.id),
    };
    this.ctx.storage.transactionSync(() => this.recordAnswered(row, message, replies, outcome, now));
    return outcome;
  }

  /**
   * What the user is told about a committed turn (replies.ts). A run that failed for good, or whose
   * output is no message at all, answers once with the generic failure text and its error kind (the
   * channel shows an error card); the cause goes to the log, never to the user.
   */
  private answerOf(envelope: ChannelMessageEnvelope, routed: RoutedFlow, result: TurnResult): { replies: ReplyBody[]; invalid: boolean } {
    const where = {
      'greentic.session.id': envelope.session_id,
      'greentic.tenant.id': envelope.tenant.tenant,
      'greentic.pack.id': routed.pack.pack_id,
      'greentic.flow.id': routed.flow.id,
    };
    if (result.status === 'failed') {
      logEvent('error', 'session.flow_failed', { ...where, code: result.code, reason: result.message });
    }
    const mapped = mapReplyOutput(result.status === 'failed' ? result.output : replyOutput(result, navigationTarget(envelope)));
    if (mapped.ok) return { replies: mapped.replies, invalid: false };
    logEvent(result.status === 'waiting' ? 'warn' : 'error', 'session.invalid_output', { ...where, reason: mapped.reason });
    if (result.status === 'waiting') return { replies: [], invalid: false };
    return { replies: failureNotice('invalid_output', true), invalid: true };
  }

  // ------------------------------------------------------------------ generic webhook

  /**
   * Runs an `http` / `event` flow named by the URL and returns its result. A flow that declares
   * `parameters.webhook.auth` checks the call first (webhook-auth.ts): one that fails is answered
   * 401 and nothing runs or replays. An `Idempotency-Key` is recorded with the result in the same
   * transaction as the run's state writes, so a replay (sequential or concurrent) returns the first
   * result and never runs the flow twice; with authentication on, the record belongs to the
   * caller's principal, so a guessed key never returns another caller's response. Failed runs are
   * not recorded: retrying with the same key runs again.
   */
  async runWebhook(req: WebhookRunRequest): Promise<WebhookRunResult> {
    this.checkAddress(this.env.GREENTIC_ENV, req.tenant, 'default', 'webhook');
    await this.adoptSession(`webhook:${req.flowId}`, req.flowId);
    const ctx = buildTenantCtx({
      env: this.env.GREENTIC_ENV,
      tenant: req.tenant,
      channel: 'webhook',
      sessionId: `webhook:${req.flowId}`,
      flowId: req.flowId,
      idempotencyKey: req.idempotencyKey,
    });
    const routed = await this.routeWebhook(req, ctx);
    if (!('flow' in routed)) {
      // A flow that is gone still answers the replay of a call it answered without authentication.
      const replay = req.idempotencyKey === undefined ? undefined : this.findWebhookResult(webhookDedupKey(req.flowId, req.idempotencyKey));
      return replay ?? routed;
    }
    const checked = await this.checkWebhookCall(req, routed);
    if (!checked.ok) return checked.result;
    const run = { ...req, input: checked.input };
    if (req.idempotencyKey === undefined) return this.executeWebhook(run, ctx, routed, undefined);
    const dedupKey = webhookDedupKey(req.flowId, req.idempotencyKey, checked.principal);
    return this.lanes.run(dedupKey, async () => this.findWebhookResult(dedupKey) ?? this.executeWebhook(run, ctx, routed, dedupKey));
  }

  private findWebhookResult(dedupKey: string): WebhookRunResult | undefined {
    const first = this.dedup.outcome<WebhookRunResult>(dedupKey);
    return first === undefined ? undefined : { ...first, replayed: true };
  }

  /**
   * The tenant's loaded packs for webhook runs, kept by this object between calls: the admin API
   * tells the objects of a pack's webhook flows (`invalidateWebhookPacks`) whenever what the tenant
   * runs changes, so a call makes no index read; the age bound only covers a notice that was lost.
   */
  private webhookPacks: { tenant: string; loaded: LoadedPack[]; at: number } | undefined;

  /** The admin API's notice that the tenant's active packs changed: the next call reads them again. */
  async invalidateWebhookPacks(): Promise<void> {
    this.webhookPacks = undefined;
  }

  private async routeWebhook(req: WebhookRunRequest, ctx: TenantCtx): Promise<RoutedFlow | WebhookRunResult> {
    const where = `tenant "${ctx.tenant}" in env "${ctx.env}"`;
    const now = Date.now();
    let loaded: LoadedPack[];
    const cached = this.webhookPacks;
    if (cached !== undefined && cached.tenant === ctx.tenant && now - cached.at < WEBHOOK_PACKS_MAX_AGE_MS) loaded = cached.loaded;
    else {
      loaded = await loadActivePacks(this.env, await activePacksOf(this.env, ctx));
      this.webhookPacks = { tenant: ctx.tenant, loaded, at: now };
    }
    if (loaded.length === 0) return { status: 'error', code: 'NoActivePack', message: `${where} has no active pack`, replayed: false };
    try {
      return selectNamedFlow(loaded, req.flowId, ['http', 'event'], where);
    } catch (err) {
      if (err instanceof RoutingError) return { status: 'error', code: err.code, message: err.message, replayed: false };
      throw err;
    }
  }

  /** The flow's own authentication, if it declares one: the caller's principal and the input the flow sees. */
  private async checkWebhookCall(
    req: WebhookRunRequest,
    routed: RoutedFlow,
  ): Promise<{ ok: true; principal: string | undefined; input: JsonObject } | { ok: false; result: WebhookRunResult }> {
    const config = webhookAuthOf(routed.flow);
    if (!config.ok) {
      logEvent('error', 'webhook.auth_invalid', {
        'greentic.tenant.id': req.tenant,
        'greentic.flow.id': req.flowId,
        reason: config.reason,
      });
      const message = `flow "${req.flowId}" declares webhook authentication that cannot be used; the pack must be fixed`;
      return { ok: false, result: { status: 'error', code: 'InvalidWebhookAuth', message, replayed: false } };
    }
    if (config.auth === undefined) return { ok: true, principal: undefined, input: req.input };
    const headers = isObject(req.input.headers) ? req.input.headers : {};
    const checked = await authenticateWebhook(
      config.auth,
      {
        headers: Object.fromEntries(Object.entries(headers).filter((e): e is [string, string] => typeof e[1] === 'string')),
        body: req.rawBody ?? new Uint8Array(),
      },
      (key) => readTenantSecret(this.env, req.tenant, key),
      Date.now(),
    );
    if (checked.ok) return { ok: true, principal: checked.principal, input: withoutCredential(config.auth, req.input) };
    logEvent(checked.code === 'Unauthorized' ? 'info' : 'error', 'webhook.auth_failed', {
      'greentic.tenant.id': req.tenant,
      'greentic.flow.id': req.flowId,
      code: checked.code,
      reason: checked.message,
    });
    const result: WebhookRunResult = { status: 'error', code: checked.code, message: checked.message, replayed: false };
    if (checked.challenge !== undefined) result.challenge = checked.challenge;
    return { ok: false, result };
  }

  private async executeWebhook(
    req: WebhookRunRequest,
    ctx: TenantCtx,
    routed: RoutedFlow,
    dedupKey: string | undefined,
  ): Promise<WebhookRunResult> {
    const sessionKey = `webhook:${req.flowId}`;
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
                  code: webhookFailureCode(run.code),
                  message: `flow "${routed.flow.id}" failed: ${run.code}: ${run.message}`,
                  replayed: false,
                }
              : run.status === 'waiting'
                ? { status: 'waiting', reason: run.reason, output: run.output, replayed: false }
                : { status: 'done', output: run.output, replayed: false };
        } catch (err) {
          if (!(err instanceof FlowRunError)) throw err;
          result = {
            status: 'error',
            code: webhookFailureCode(err.code),
            message: `flow "${routed.flow.id}" failed: ${err.message}`,
            replayed: false,
          };
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

  // ------------------------------------------------------------------ delivery

  /**
   * Delivers the session's unsent replies in commit order, right after its turn (or from the
   * alarm). A failed reply stops the session's later replies (order holds) until it is due again;
   * one that keeps failing, or that its sender refuses for good, is dead-lettered. Never throws.
   */
  private async deliverReplies(sessionKey: string): Promise<void> {
    for (;;) {
      const rows = this.outbox.unsentOf(sessionKey, 50);
      if (rows.length === 0) return;
      for (const row of rows) {
        // A fresh reply goes now; one that failed waits for its retry time.
        if (row.attempts > 0 && row.next_attempt_at > Date.now()) return;
        if (!(await this.deliverOne(row))) return;
      }
    }
  }

  /** One reply: sent, dead-lettered (true: go on with the next) or deferred (false). */
  private async deliverOne(row: OutboxEntry): Promise<boolean> {
    try {
      await this.deps.send(row.message);
      this.outbox.markSent(row, Date.now());
      return true;
    } catch (err) {
      const attempts = row.attempts + 1;
      const retryable = !(err instanceof EgressSendError) || err.retryable;
      const code = err instanceof CodedError ? err.code : 'SendFailed';
      const now = Date.now();
      const fields = {
        'greentic.session.id': row.session_key,
        'messaging.message.id': row.message.idempotency_key,
        'messaging.destination': row.message.subject,
        attempts,
        code,
        error: errorMessage(err),
      };
      if (retryable && attempts < OUTBOX_MAX_ATTEMPTS) {
        const retryAfter = err instanceof EgressSendError ? err.retryAfterSeconds : undefined;
        const delaySeconds = retryAfter === undefined ? retryDelaySeconds(attempts) : Math.min(retryAfter, MAX_RETRY_AFTER_SECONDS);
        logEvent('warn', 'egress.send_failed', { ...fields, retry_in_s: delaySeconds });
        this.ctx.storage.transactionSync(() => {
          this.outbox.markFailedAttempt(row, `${code}: ${errorMessage(err)}`, now + delaySeconds * 1000);
          this.scheduleAlarm(now);
        });
        return false;
      }
      try {
        await this.deps.deadLetter({ source: 'egress', message: row.message }, code, attempts);
      } catch (dlqErr) {
        logEvent('error', 'egress.dead_letter_failed', { ...fields, dlq_error: errorMessage(dlqErr) });
        this.ctx.storage.transactionSync(() => {
          this.outbox.markFailedAttempt(row, `${code}: ${errorMessage(err)}`, now + retryDelaySeconds(attempts) * 1000);
          this.scheduleAlarm(now);
        });
        return false;
      }
      logEvent('error', 'egress.dead_lettered', fields);
      this.outbox.markDeadLettered(row, `${code}: ${errorMessage(err)}`, now);
      return true;
    }
  }

  /**
   * The object's single alarm serves every timer: the earliest wait expiry, inbox messages due for
   * a retry (or whose turn stalled), unsent replies due for a retry, and dedup pruning.
   */
  private scheduleAlarm(now: number): void {
    const candidates = [
      this.waits.earliestExpiry() ?? Number.POSITIVE_INFINITY,
      this.inbox.earliestDue() ?? Number.POSITIVE_INFINITY,
      this.outbox.earliestDue() ?? Number.POSITIVE_INFINITY,
    ];
    if (this.dedup.hasOlderThan(now - RETENTION_MS)) candidates.push(now + 60_000);
    if (this.componentState.hasPending()) candidates.push(now + COMPONENT_STATE_RETRY_MS);
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
    const work = [
      ...this.inbox.dueSessions(now).map((session) => this.kick(session)),
      ...this.outbox.dueSessions(now).map((session) =>
        this.lanes
          .run(session, () => this.deliverReplies(session))
          .catch((err: unknown) => {
            logEvent('error', 'egress.delivery_failed', { 'greentic.session.id': session, error: errorMessage(err) });
          }),
      ),
    ];
    await Promise.all(work);
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

/**
 * What the user is told when their message could not be handled: upstream's generic failure text
 * for a failure that a retry would not change, else the code (never internals); the error kind
 * lets a channel show its error card.
 */
function failureNotice(code: string, permanent: boolean): ReplyBody[] {
  const text = permanent ? DEFAULT_FAILURE_TEXT : `Sorry, your message could not be handled (${code}). Please try again later.`;
  return [{ text, attachments: [], metadata: { error_kind: code }, extensions: {} }];
}

function waitTtlMs(env: Env): number {
  const seconds = Number.parseInt(env.WAIT_TTL_SECONDS ?? '86400', 10);
  return (Number.isFinite(seconds) && seconds > 0 ? seconds : 86400) * 1000;
}
