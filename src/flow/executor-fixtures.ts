/**
 * Flows, a scripted component host and result checks shared by the executor's tests
 * (executor, walk, run-node and invoke-node). Test support only: nothing in the runtime imports it.
 */
import { compileFlowSource } from './compile-source.js';
import { FlowRunError } from './execution-state.js';
import type { ExecutorOptions, FlowRunResult } from './executor.js';
import type { CompiledNode, Flow, JsonValue, Routing } from './model.js';
import type { ComponentInvoker, ComponentTarget, InvokeResult } from './ports.js';

export function flowOf(yaml: string): Flow {
  const { flow, diagnostics } = compileFlowSource(yaml, { file: 'test.ygtc' });
  if (flow === undefined) throw new Error(`fixture does not compile: ${JSON.stringify(diagnostics)}`);
  return flow;
}

/** A compiled flow built by hand, for routing shapes the YAML compiler does not emit. */
export function compiled(id: string, nodes: Array<[string, string, JsonValue, Routing]>, kind: Flow['kind'] = 'event'): Flow {
  const map: Record<string, CompiledNode> = {};
  for (const [nodeId, component, mapping, routing] of nodes) {
    map[nodeId] = {
      id: nodeId,
      component: { id: component },
      input: { mapping },
      output: { mapping: {} },
      routing,
      telemetry: { attributes: {} },
    };
  }
  return { schema_version: 'flow-v1', id, kind, entrypoints: {}, nodes: map, metadata: { tags: [], extra: {} } };
}

export type Call = { target: ComponentTarget; operation: string; input: JsonValue };

/** A scripted component host: answers by `<component>.<operation>` and records every call. */
export function scriptedInvoker(script: Record<string, (input: JsonValue, call: number) => InvokeResult | JsonValue>): {
  invoker: ComponentInvoker;
  calls: Call[];
} {
  const calls: Call[] = [];
  const invoker: ComponentInvoker = {
    invoke(target, operation, input) {
      calls.push({ target, operation, input });
      const handler = script[`${target.id}.${operation}`];
      if (handler === undefined) return { ok: false, error: { code: 'not_found', message: `${target.id}.${operation}`, retryable: false } };
      const result = handler(input, calls.length);
      if (
        typeof result === 'object' &&
        result !== null &&
        !Array.isArray(result) &&
        (result.ok === true || result.ok === false) &&
        ('output' in result || 'error' in result) &&
        Object.keys(result).length === 2
      ) {
        return result as InvokeResult;
      }
      return { ok: true, output: result as JsonValue };
    },
  };
  return { invoker, calls };
}

export function done(result: FlowRunResult): Extract<FlowRunResult, { status: 'done' }> {
  if (result.status !== 'done') throw new Error(`expected done, got ${result.status} at ${result.snapshot.next_node}`);
  return result;
}

export function waiting(result: FlowRunResult): Extract<FlowRunResult, { status: 'waiting' }> {
  if (result.status !== 'waiting') throw new Error(`expected waiting, got ${result.status}: ${JSON.stringify(result.output)}`);
  return result;
}

export async function failure(promise: Promise<unknown>): Promise<FlowRunError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof FlowRunError) return err;
    throw err;
  }
  throw new Error('expected the run to fail');
}

/** No real waiting between whole-run attempts, and no jitter. */
export const noSleep: ExecutorOptions = { sleep: async () => {}, random: () => 0 };
