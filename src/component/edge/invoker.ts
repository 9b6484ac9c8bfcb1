/**
 * Adapter from the flow executor's `ComponentInvoker` to the component runner: builds the
 * payload the way upstream hosts do (objects pass through with `config` merged in; other values
 * are wrapped as `{input}`) and maps `node-error` to the executor's retryable/backoff node errors.
 */

import type { JsonValue } from '../../flow/model.js';
import type { ComponentInvoker, ComponentTarget, InvocationContext, InvokeResult } from '../../flow/ports.js';
import type { ComponentRunner } from './runner.js';

function payloadOf(input: JsonValue, config: JsonValue | undefined): JsonValue {
  const base: Record<string, JsonValue> = input !== null && typeof input === 'object' && !Array.isArray(input) ? { ...input } : { input };
  if (config !== undefined && base.config === undefined) base.config = config;
  return base;
}

export function componentInvoker(runnerFor: (packId: string) => ComponentRunner | Promise<ComponentRunner>): ComponentInvoker {
  return {
    async invoke(target: ComponentTarget, operation: string, input: JsonValue, ctx: InvocationContext): Promise<InvokeResult> {
      if (target.kind !== 'component') {
        return {
          ok: false,
          error: { code: 'unsupported_node_kind', message: `the component host does not serve ${target.kind} calls`, retryable: false },
        };
      }
      const runner = await runnerFor(ctx.packId);
      const res = await runner.invoke({
        component: target.id,
        op: operation,
        input: payloadOf(input, target.config),
        flowId: ctx.flowId,
        stepId: ctx.nodeId,
        attempt: ctx.attempt,
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
