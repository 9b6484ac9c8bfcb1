/**
 * Which node@0.6.0 components can skip jco's glue entirely. A component produced by
 * wit-component has a main core module plus small shim/fixup modules whose only job is to route
 * the main module's imports to the glue's trampolines. When every import of the main module is a
 * Greentic host function the isolate serves itself (greentic-abi.ts), the main module can be
 * instantiated alone: no glue module, no shim, no fixup. Shared by the parent (which then leaves
 * the glue and the other core modules out of the pack's Dynamic Worker) and the isolate (which
 * checks again before instantiating).
 *
 * A component that imports more (WASI, `control`, a preview-1 adapter) can still skip the glue
 * when its instantiation plan (upload/component-plan.ts, recorded at upload) lowers only functions the
 * isolate serves (plan-instantiate.ts). All its core modules are then loaded and wired by the plan.
 */

/** The node@0.6.0 export the direct path calls. */
export const INVOKE_EXPORT = 'greentic:component/node@0.6.0#invoke';

/**
 * Greentic host functions the isolate serves without jco's glue, as core imports name them
 * (`module#name`, versioned). jco's JSPI import list (upload/transpile.ts) is the same set.
 */
export const DIRECT_HOST_FUNCTIONS = [
  'greentic:secrets-store/secrets-store@1.0.0#get',
  'greentic:secrets-store/secrets-store@1.1.0#get',
  'greentic:secrets-store/secrets-store@1.1.0#put',
  'greentic:state/state-store@1.0.0#read',
  'greentic:state/state-store@1.0.0#write',
  'greentic:state/state-store@1.0.0#delete',
  'greentic:http/http-client@1.0.0#send',
  'greentic:http/http-client@1.1.0#send',
  'greentic:telemetry/logger-api@1.0.0#log',
] as const;

export type DirectHostFunction = (typeof DIRECT_HOST_FUNCTIONS)[number];

/** Whether a core import `module#name` is a Greentic host function the isolate serves itself. */
export const isDirectHostFunction = (key: string): boolean => directHostFunctions.has(key);

const directHostFunctions = new Set<string>(DIRECT_HOST_FUNCTIONS);

export interface CoreInterface {
  imports: readonly { module: string; name: string; kind: string }[];
  exports: readonly { name: string; kind: string }[];
}

/** Whether a core import is a Greentic host function (as opposed to WASI or `control`). */
export function isHostImport(module: string): boolean {
  return module.startsWith('greentic:') && !module.startsWith('greentic:component/');
}

/** Whether an interface (`namespace:package/interface@version`) is `greentic:component/control`. */
export function isControlImport(iface: string): boolean {
  return iface.startsWith('greentic:component/control@');
}

/** Whether the module is a node@0.6.0 main module: it exports `invoke`, its memory and `cabi_realloc`. */
export function isNodeMain(core: CoreInterface): boolean {
  const has = (name: string, kind: string) => core.exports.some((e) => e.name === name && e.kind === kind);
  return has(INVOKE_EXPORT, 'function') && has('memory', 'memory') && has('cabi_realloc', 'function');
}

/** Whether the module imports only host functions the isolate serves itself. */
export function needsOnlyDirectImports(core: CoreInterface): boolean {
  return core.imports.every((i) => i.kind === 'function' && directHostFunctions.has(`${i.module}#${i.name}`));
}

/**
 * The core module to instantiate alone for a node@0.6.0 component, or null when the component
 * needs jco's glue (it imports WASI, `control` or anything else, or no module qualifies).
 */
export function directMainOf(modules: Record<string, CoreInterface>): string | null {
  const mains = Object.entries(modules).filter(([, core]) => isNodeMain(core));
  if (mains.length !== 1) return null;
  const [name, core] = mains[0]!;
  return needsOnlyDirectImports(core) ? name : null;
}
