/**
 * A component's core instantiation graph, as the upload reads it from the component binary
 * (upload/component-plan.ts), stores it in the artifact descriptor, and the isolate executes it
 * (plan-instantiate.ts): the contract between the two sides, types only.
 */

export type CoreSort = 'func' | 'table' | 'memory' | 'global';

/** A core function of the component: an export of an earlier core instance, a lowered import, or a resource drop. */
export type PlanFunc =
  | { kind: 'export'; instance: number; name: string }
  /** `fn`: `namespace:package/interface@version#function`, as the component imports it. */
  | { kind: 'lower'; fn: string; memory?: number; realloc?: number }
  /** `resource`: `namespace:package/interface@version#resource`. */
  | { kind: 'drop'; resource: string }
  /** The same function as `func` (a shim export short-circuited by upload/shim-plan.ts). */
  | { kind: 'same'; func: number };

export type PlanInstance =
  /** `module`: index into the component's core modules (jco's `component.core.wasm`, `…core2.wasm`, …). */
  | { kind: 'instantiate'; module: number; args: [string, number][] }
  /** A bag of items (wit-component's argument instances): `[name, sort, index]`. */
  | { kind: 'exports'; exports: [string, CoreSort, number][] };

export interface InstantiationPlan {
  /** Core modules the component embeds, in index order. */
  modules: number;
  instances: PlanInstance[];
  funcs: PlanFunc[];
  /** Memories, tables and globals are all exports of core instances: `[instance, name]`. */
  memories: [number, string][];
  tables: [number, string][];
  globals: [number, string][];
}
