/**
 * Adapter from the flow executor's `ComponentInvoker` to the component runner: builds the
 * payload the way upstream hosts do (objects pass through with `config` merged in; other values
 * are wrapped as `{input}`) and maps `node-error` to the executor's retryable/backoff node errors.
 */

import type { JsonValue } from '../../flow/model.js';
import type { ComponentInvoker, ComponentTarget, InvocationContext, InvokeResult } from '../../flow/ports.js';
import { type AssetReader, isCardInvocation, prepareCardInvocation } from './card-invocation.js';
import type { ComponentRunner } from './runner.js';

function payloadOf(input: JsonValue, config: JsonValue | undefined): JsonValue {
  const base: Record<string, JsonValue> = input !== null && typeof input === 'object' && !Array.isArray(input) ? { ...input } : { input };
  if (config !== undefined && base.config === undefined) base.config = config;
  return base;
}

/**
 * `assets` gives the pack's asset files for card pre-resolution (card-invocation.ts); without it
 * a card invocation is sent as the flow built it.
 */
export function componentInvoker(
  runnerFor: (packId: string) => ComponentRunner | Promise<ComponentRunner>,
  assets?: () => Promise<AssetReader>,
): ComponentInvoker {
  return {
    async invoke(target: ComponentTarget, operation: string, input: JsonValue, ctx: InvocationContext): Promise<InvokeResult> {
      if (target.kind !== 'component') {
        return {
          ok: false,
          error: { code: 'unsupported_node_kind', message: `the component host does not serve ${target.kind} calls`, retryable: false },
        };
      }
      const runner = await runnerFor(ctx.packId);
      // A card invocation goes to the component as it is, without the config merged in (upstream).
      const card = prepareCardInvocation(input, target.config, assets === undefined ? () => undefined : await assets(), ctx.locale);
      const res = await runner.invoke({
        component: target.id,
        op: operation,
        input: isCardInvocation(card) ? card : payloadOf(input, target.config),
        flowId: ctx.flowId,
        stepId: ctx.nodeId,
        attempt: ctx.attempt,
        ...(ctx.locale === undefined ? {} : { i18nId: ctx.locale }),
      });
      if (res.ok) return { ok: true, output: res.output as JsonValue };
      return {
        ok: false,
        error: {
          code: res.error.code,
          message: res.error.message,
          retryable: res.error.retryable,
          backoffMs: res.error.backoffMs,
          details: res.error.details as JsonValue | undefined,
        },
      };
    },
  };
}
