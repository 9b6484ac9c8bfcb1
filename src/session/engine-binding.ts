// Binds the pure flow executor to the channel object: the turn's state store, the pack's flows
// for flow.call/goto, the component invoker (with the turn's component state buffer), and
// per-node / per-component spans.

import { assetReader } from '../component/edge/card-invocation.js';
import type { TenantPolicy } from '../component/edge/host-policy.js';
import { componentInvoker } from '../component/edge/invoker.js';
import type { ComponentRunner } from '../component/edge/runner.js';
import { edgeComponentRunner } from '../component/edge/worker-wiring.js';
import { logEvent, tenantAttributes } from '../edge/telemetry.js';
import type { Env } from '../env.js';
import { FlowExecutor, type FlowRunResult } from '../flow/executor.js';
import type { JsonValue } from '../flow/model.js';
import type { ComponentInvoker, StateStore } from '../flow/ports.js';
import { parseWorkBudget } from '../flow/work-meter.js';
import { edgeMcpResolver, mcpAllowHosts } from '../mcp/edge-mcp.js';
import { mcpInvoker } from '../mcp/mcp-invoker.js';
import { packRouters } from '../mcp/mcp-router.js';
import { allowListedFetch } from '../mcp/mcp-routes.js';
import { loadPackAssets } from '../pack-store/pack-store.js';
import type { FlowEngine, TurnContext, TurnResult } from './flow-engine.js';

/**
 * Supplies the component invoker for a turn (the component runtime's Dynamic Worker host).
 * `undefined` means component nodes fail with `unsupported_node_kind`; built-in nodes still run.
 */
export type ComponentInvokerFactory = (turn: TurnContext) => ComponentInvoker | undefined;

function stateAdapter(turn: TurnContext): StateStore {
  return {
    get: (key) => turn.state.get(key) as JsonValue | undefined,
    set: (key, value) => turn.state.set(key, value),
    delete: (key) => turn.state.delete(key),
  };
}

function tracedInvoker(turn: TurnContext, inner: ComponentInvoker): ComponentInvoker {
  return {
    async invoke(target, operation, input, ictx) {
      return turn.span.child(
        'component.invoke',
        {
          ...tenantAttributes(turn.ctx),
          'greentic.pack.id': ictx.packId,
          'greentic.flow.id': ictx.flowId,
          'greentic.node.id': ictx.nodeId,
          'greentic.component.name': target.id,
          'greentic.component.kind': target.kind,
          'greentic.component.operation': operation,
          attempt: ictx.attempt,
        },
        async (span) => {
          const result = await inner.invoke(target, operation, input, ictx);
          span.setAttributes({ ok: result.ok, error_code: result.ok ? undefined : result.error.code });
          return result;
        },
      );
    },
  };
}

let warnedBudget: string | undefined;

/** `TURN_ENGINE_BUDGET`: engine work units per turn; a value that is not a positive integer is reported once and ignored. */
export function turnWorkBudget(env: Env): number {
  const raw = env.TURN_ENGINE_BUDGET;
  const budget = parseWorkBudget(raw);
  if (raw !== undefined && raw.trim() !== '' && String(budget) !== raw.trim() && warnedBudget !== raw) {
    warnedBudget = raw;
    logEvent('warn', 'config.invalid', { name: 'TURN_ENGINE_BUDGET', reason: 'not a positive integer; the default applies', budget });
  }
  return budget;
}

function toTurnResult(result: FlowRunResult): TurnResult {
  const transcript = { transcript: result.transcript, emitted: result.emitted };
  if (result.status === 'waiting')
    return {
      ...transcript,
      status: 'waiting',
      reason: result.reason,
      snapshot: result.snapshot as unknown as JsonValue,
      output: result.output,
    };
  if (result.error !== undefined)
    return { status: 'failed', code: result.error.code, message: result.error.message, output: result.output };
  return { ...transcript, status: 'done', output: result.output };
}

export function createFlowEngine(invokerFor: ComponentInvokerFactory): FlowEngine {
  const executorFor = (turn: TurnContext): FlowExecutor => {
    const invoker = invokerFor(turn);
    return new FlowExecutor({
      packId: turn.model.pack_id,
      ...(invoker === undefined ? {} : { invoker: tracedInvoker(turn, invoker) }),
      stateStore: stateAdapter(turn),
      resolver: { getFlow: (id) => turn.model.flows.find((f) => f.id === id) },
      onNode: (trace) =>
        turn.span.measured(
          'flow.node',
          {
            ...tenantAttributes(turn.ctx),
            'greentic.pack.id': turn.model.pack_id,
            'greentic.flow.id': trace.flowId,
            'greentic.node.id': trace.nodeId,
            'greentic.node.component': trace.component,
            'greentic.node.outcome': trace.outcome,
            attempt: trace.attempt,
            error_code: trace.errorCode,
          },
          trace.durationMs,
          trace.outcome === 'error' ? 'error' : 'ok',
        ),
      // Whole-run retries would repeat component side effects inside one delivery; the queue
      // redelivers instead when a turn fails transiently.
      retry: { maxAttempts: 1 },
      workBudget: turnWorkBudget(turn.env),
    });
  };
  return {
    async start(turn, input, options) {
      const startNode = options?.startNode;
      return toTurnResult(await executorFor(turn).run(turn.flow, input, startNode === undefined ? {} : { startNode }));
    },
    async resume(turn, snapshot, input) {
      return toTurnResult(await executorFor(turn).resume(snapshot, input, { flow: turn.flow }));
    },
  };
}

/**
 * `COMPONENT_HTTP_ALLOW_HOSTS`: JSON map tenant → host patterns its components may reach over
 * http-client (e.g. `{"demo":["api.example.com","*.example.org"]}`); absent tenants reach nothing.
 */
export function tenantPolicyOf(env: Env, tenant: string): TenantPolicy {
  let hosts: unknown;
  try {
    hosts = (JSON.parse(env.COMPONENT_HTTP_ALLOW_HOSTS ?? '{}') as Record<string, unknown>)[tenant];
  } catch {
    hosts = undefined;
  }
  return { httpAllowHosts: Array.isArray(hosts) ? hosts.filter((h): h is string => typeof h === 'string') : [] };
}

/**
 * The production invoker: the pack's components run in its Dynamic Worker (one per pack digest
 * and tenant), with grants from each component's manifest and the tenant's policy; an `mcp` node
 * naming one of them that is an MCP router calls it there too.
 */
export const edgeInvokerFactory: ComponentInvokerFactory = (turn) => {
  // The pack's assets (`/assets` for components, cards for the card pre-resolution), cached per digest.
  const assets = () => loadPackAssets(turn.env.PACKS, turn.model);
  const runner = packRunner(turn, assets);
  return mcpInvoker(
    runner &&
      componentInvoker(
        () => runner,
        async () => assetReader(await assets()),
      ),
    edgeMcpResolver(turn.env, turn.ctx.tenant, turn.model.digest, runner && packRouters(runner)),
    allowListedFetch(mcpAllowHosts(turn.env, turn.ctx.tenant)),
  );
};

function packRunner(turn: TurnContext, assets: () => ReturnType<typeof loadPackAssets>): ComponentRunner | undefined {
  const components = turn.model.components.flatMap((c) =>
    c.digest === undefined ? [] : [{ id: c.id, sha256: c.digest.replace(/^sha256:/, ''), manifest: c.manifest as never }],
  );
  if (components.length === 0) return undefined;
  return edgeComponentRunner(
    turn.env,
    { packId: turn.model.pack_id, digest: turn.model.digest, components, assets },
    { tenant: turn.ctx.tenant, team: turn.ctx.team, tenantPolicy: tenantPolicyOf(turn.env, turn.ctx.tenant), state: turn.componentState },
  );
}
