// Which flows an event runs (upstream-runtime reference §G; greentic-start `event_router.rs`):
// every flow whose `subscribes_to` patterns match the event type; when none does, our extension
// picks the tenant's single `event` flow (upstream never chooses a flow by the `events` kind);
// otherwise the default messaging flow, as upstream does.
import { isObject } from '../core/is-object.js';
import type { Flow } from '../flow/model.js';
import { type LoadedPack, type RoutedFlow, RoutingError, selectEntryFlow } from '../session/flow-router.js';

/**
 * greentic-start's topic glob: `*` matches everything, `prefix.*` matches `prefix` itself and any
 * `prefix.<more>` (not `prefixmore`), anything else matches exactly.
 */
export function topicMatches(pattern: string, eventType: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) {
    const prefix = pattern.slice(0, -2);
    return eventType === prefix || (eventType.startsWith(prefix) && eventType[prefix.length] === '.');
  }
  return pattern === eventType;
}

/**
 * A flow's topic patterns. Upstream reads them from the manifest's flow entry; the compiled flow
 * here carries them in `metadata.extra.subscribes_to`, where the compiler puts a .ygtc's
 * `parameters.subscribes_to`.
 */
export function subscriptionsOf(flow: Flow): string[] {
  const extra = isObject(flow.metadata?.extra) ? flow.metadata.extra : {};
  const raw = extra['subscribes_to'];
  if (typeof raw === 'string') return [raw];
  return Array.isArray(raw) ? raw.filter((p): p is string => typeof p === 'string' && p !== '') : [];
}

function isInternal(flow: Flow): boolean {
  return flow.metadata?.tags?.includes('internal') ?? false;
}

/** The flows an event of this type runs, in pack then flow order; never empty (it throws instead). */
export function selectEventFlows(packs: readonly LoadedPack[], eventType: string, where: string): RoutedFlow[] {
  const subscribed: RoutedFlow[] = [];
  for (const { pack, model } of packs)
    for (const flow of model.flows)
      if (subscriptionsOf(flow).some((p) => topicMatches(p, eventType))) subscribed.push({ pack, model, flow });
  if (subscribed.length > 0) return subscribed;
  const eventFlows: RoutedFlow[] = [];
  for (const { pack, model } of packs)
    for (const flow of model.flows) if (flow.kind === 'event' && !isInternal(flow)) eventFlows.push({ pack, model, flow });
  if (eventFlows.length === 1) return eventFlows;
  if (eventFlows.length > 1) {
    const names = eventFlows.map((c) => `${c.pack.pack_id}/${c.flow.id}`).join(', ');
    throw new RoutingError(
      'AmbiguousEntryFlow',
      `${where}: no flow subscribes to "${eventType}" and several "event" flows are active (${names}); add subscribes_to or tag all but one "internal"`,
    );
  }
  return [selectEntryFlow(packs, 'messaging', where)];
}
