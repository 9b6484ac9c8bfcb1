/**
 * Which flow of a pack a message starts, and whether a pack can run at all. Upstream
 * (greentic-start `select_app_flow`, upstream-runtime.md §B) takes the flow with id `default`,
 * else the pack's only flow of the kind; greentic-demo ships packs with several messaging flows,
 * so this runner goes one step further: the single flow tagged `default`, else the single flow
 * with nodes (docs/compat.md). Flows tagged `internal` are never entry flows.
 */
import { prepareFlow } from './builtins.js';
import { componentCallOf } from './invoke-node.js';
import type { Flow, FlowKind } from './model.js';

export type EntryRule = 'id-default' | 'only' | 'tagged-default' | 'only-with-nodes';

export type EntryChoice = { ok: true; flow: Flow; rule: EntryRule } | { ok: false; reason: 'none' | 'ambiguous'; message: string };

function isInternal(flow: Flow): boolean {
  return flow.metadata?.tags?.includes('internal') ?? false;
}

function hasNodes(flow: Flow): boolean {
  return Object.keys(flow.nodes).length > 0;
}

/** The pack's entry flow of `kind`. */
export function packEntryFlow(flows: readonly Flow[], kind: FlowKind): EntryChoice {
  const candidates = flows.filter((f) => f.kind === kind && !isInternal(f));
  if (candidates.length === 0) return { ok: false, reason: 'none', message: `no "${kind}" flow that is not tagged "internal"` };
  const byId = candidates.find((f) => f.id === 'default');
  if (byId !== undefined) return { ok: true, flow: byId, rule: 'id-default' };
  if (candidates.length === 1) return { ok: true, flow: candidates[0] as Flow, rule: 'only' };
  const tagged = candidates.filter((f) => f.metadata?.tags?.includes('default'));
  if (tagged.length === 1) return { ok: true, flow: tagged[0] as Flow, rule: 'tagged-default' };
  const withNodes = candidates.filter(hasNodes);
  if (withNodes.length === 1) return { ok: true, flow: withNodes[0] as Flow, rule: 'only-with-nodes' };
  return {
    ok: false,
    reason: 'ambiguous',
    message: `${candidates.length} "${kind}" flows (${candidates.map((f) => f.id).join(', ')}) and no way to choose: none has id "default", ${tagged.length === 0 ? 'none is' : `${tagged.length} are`} tagged "default", ${withNodes.length} have nodes`,
  };
}

/** The component a node calls when the flow is read without running it (none for built-ins or a templated target). */
function staticComponentOf(flow: Flow, nodeId: string): string | undefined {
  const pnode = prepareFlow(flow).nodes.get(nodeId);
  if (pnode === undefined || (pnode.kind !== 'component' && pnode.kind !== 'exec')) return undefined;
  const call = componentCallOf(pnode, pnode.mapping);
  const id = call.ok ? call.componentId : call.componentId;
  if (id === undefined || id.includes('{{') || id.startsWith('emit.')) return undefined;
  return id;
}

export interface PackFlowCheck {
  /** Flows whose start node exists and whose start component the pack contains. */
  runnable: string[];
  /** Why no flow can run (set when `runnable` is empty). */
  reason?: string;
  warnings: string[];
}

/**
 * What an operator must know before a pack goes live: flows without nodes, nodes whose component
 * the pack lacks, no messaging entry flow; and whether any flow can start at all.
 */
export function checkPackFlows(flows: readonly Flow[], componentIds: ReadonlySet<string>): PackFlowCheck {
  const warnings: string[] = [];
  const runnable: string[] = [];
  const blocked: string[] = [];
  for (const flow of flows) {
    if (!hasNodes(flow)) {
      warnings.push(`flow "${flow.id}" has no nodes`);
      blocked.push(`"${flow.id}" has no nodes`);
      continue;
    }
    for (const nodeId of Object.keys(flow.nodes)) {
      const component = staticComponentOf(flow, nodeId);
      if (component !== undefined && !componentIds.has(component))
        warnings.push(`flow "${flow.id}" node "${nodeId}" calls component "${component}", which the pack does not contain`);
    }
    const start = prepareFlow(flow).start;
    if (start === undefined || !(start in flow.nodes)) {
      blocked.push(`"${flow.id}" starts at node "${start}", which does not exist`);
      continue;
    }
    const component = staticComponentOf(flow, start);
    if (component !== undefined && !componentIds.has(component)) {
      blocked.push(`"${flow.id}" starts at node "${start}", whose component "${component}" the pack does not contain`);
      continue;
    }
    runnable.push(flow.id);
  }
  const entry = packEntryFlow(flows, 'messaging');
  if (!entry.ok) warnings.push(`no messaging entry flow: ${entry.message}`);
  if (runnable.length > 0) return { runnable, warnings };
  return {
    runnable,
    reason: flows.length === 0 ? 'the pack has no flows' : `no flow of the pack can run: ${blocked.join('; ')}`,
    warnings,
  };
}
