// Picks the flow an inbound message runs: among the tenant's active packs for this environment,
// the one pack's entry flow of the wanted kind (src/flow/entry-flow.ts). Zero or several
// candidates is a configuration error the operator must fix, so it is reported precisely.

import { CodedError } from '../core/coded-error.js';
import { packEntryFlow } from '../flow/entry-flow.js';
import type { Flow, FlowKind } from '../flow/model.js';
import type { ActivePack } from '../pack-store/pack-index.js';
import type { PackModel } from '../pack-store/pack-store.js';

export type RoutingErrorCode = 'NoActivePack' | 'NoEntryFlow' | 'AmbiguousEntryFlow' | 'FlowNotFound' | 'WrongFlowKind';

export class RoutingError extends CodedError<RoutingErrorCode> {
  constructor(code: RoutingErrorCode, message: string) {
    super(code, `${code}: ${message}`);
  }
}

export interface RoutedFlow {
  pack: ActivePack;
  model: PackModel;
  flow: Flow;
}

export interface LoadedPack {
  pack: ActivePack;
  model: PackModel;
}

/**
 * The flow a new run starts: each active pack's entry flow of `kind` (flow-router rule in
 * src/flow/entry-flow.ts: id `default`, the only flow, the only one tagged `default`, the only one
 * with nodes); exactly one pack may offer one.
 */
export function selectEntryFlow(packs: readonly LoadedPack[], kind: FlowKind, where: string): RoutedFlow {
  if (packs.length === 0)
    throw new RoutingError('NoActivePack', `${where} has no active pack; activate one with PUT /admin/v1/tenants/{tenant}/packs/{pack_id}`);
  const chosen: RoutedFlow[] = [];
  const unclear: string[] = [];
  for (const { pack, model } of packs) {
    const entry = packEntryFlow(model.flows, kind);
    if (entry.ok) chosen.push({ pack, model, flow: entry.flow });
    else if (entry.reason === 'ambiguous') unclear.push(`${pack.pack_id}: ${entry.message}`);
  }
  if (chosen.length === 1 && unclear.length === 0) return chosen[0]!;
  if (chosen.length === 0 && unclear.length === 0) {
    const names = packs.map((p) => `${p.pack.pack_id}@${p.pack.version}`).join(', ');
    throw new RoutingError('NoEntryFlow', `${where}: no active pack (${names}) has a "${kind}" flow that is not tagged "internal"`);
  }
  const offers = [...chosen.map((c) => `${c.pack.pack_id}/${c.flow.id}`), ...unclear];
  throw new RoutingError(
    'AmbiguousEntryFlow',
    `${where}: several "${kind}" entry flows are active (${offers.join('; ')}); tag one flow "default" (others "internal") or deactivate a pack`,
  );
}

/** A flow named by id (generic webhook). Several packs with the same flow id are ambiguous. */
export function selectNamedFlow(packs: readonly LoadedPack[], flowId: string, kinds: readonly FlowKind[], where: string): RoutedFlow {
  const found: RoutedFlow[] = [];
  for (const { pack, model } of packs) {
    const flow = model.flows.find((f) => f.id === flowId);
    if (flow !== undefined) found.push({ pack, model, flow });
  }
  if (found.length === 0) throw new RoutingError('FlowNotFound', `${where}: no active pack has a flow "${flowId}"`);
  if (found.length > 1)
    throw new RoutingError('AmbiguousEntryFlow', `${where}: flow "${flowId}" exists in ${found.map((f) => f.pack.pack_id).join(', ')}`);
  const routed = found[0]!;
  if (!kinds.includes(routed.flow.kind)) {
    throw new RoutingError(
      'WrongFlowKind',
      `${where}: flow "${flowId}" is a "${routed.flow.kind}" flow, expected ${kinds.map((k) => `"${k}"`).join(' or ')}`,
    );
  }
  return routed;
}
