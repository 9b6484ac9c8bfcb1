/**
 * What the executor needs from its host, as small interfaces: components, state, other flows of
 * the pack, the clock, and a per-node trace hook. The CLI, tests and the Workers runtime each plug
 * in their own; `MemoryStateStore` is the default store.
 */
import type { NodeError } from './execution-state.js';
import type { Flow, JsonValue } from './model.js';

export interface ComponentTarget {
  /** Which node kind produced the call; an invoker may refuse kinds it does not serve. */
  kind: 'component' | 'provider' | 'mcp' | 'a2a';
  /** Component id, provider id/type, MCP server, or A2A agent. */
  id: string;
  /** The payload's `config` (component calls whose payload is split into input + config). */
  config?: JsonValue;
  provider_type?: string;
}

export interface InvocationContext {
  packId: string;
  flowId: string;
  nodeId: string;
  /** 1-based whole-run attempt. */
  attempt: number;
  resumed: boolean;
  /** The user's locale (`metadata.locale` of the message), when it has one. */
  locale?: string;
}

export type InvokeResult = { ok: true; output: JsonValue } | { ok: false; error: NodeError };

export interface ComponentInvoker {
  invoke(target: ComponentTarget, operation: string, input: JsonValue, ctx: InvocationContext): InvokeResult | Promise<InvokeResult>;
}

/** Keys are bare `state.get`/`state.set` keys: the caller scopes the store by env/tenant/team/pack. */
export interface StateStore {
  get(key: string): JsonValue | undefined | Promise<JsonValue | undefined>;
  set(key: string, value: JsonValue): void | Promise<void>;
  delete(key: string): void | Promise<void>;
}

/** Other flows of the same pack, for `flow.call`, `flow.goto`, jumps and resumes after a goto. */
export interface FlowResolver {
  getFlow(flowId: string): Flow | undefined | Promise<Flow | undefined>;
}

export interface Clock {
  now(): Date;
}

export type NodeOutcome = 'ok' | 'error' | 'wait' | 'jump' | 'respond';

export interface NodeTrace {
  flowId: string;
  nodeId: string;
  /** The op key (`emit.response`, `state.get`, a component id…). */
  component: string;
  attempt: number;
  durationMs: number;
  outcome: NodeOutcome;
  errorCode?: string;
}

export class MemoryStateStore implements StateStore {
  readonly entries = new Map<string, JsonValue>();
  get(key: string): JsonValue | undefined {
    return this.entries.get(key);
  }
  set(key: string, value: JsonValue): void {
    this.entries.set(key, value);
  }
  delete(key: string): void {
    this.entries.delete(key);
  }
}
