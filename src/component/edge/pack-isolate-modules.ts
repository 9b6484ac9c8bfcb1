/**
 * What a pack's Dynamic Worker is made of: the component runtime (with WASI only when a component
 * needs it), then per component its jco glue and core modules, or, for a component that loads
 * without the glue, only its main core module or its planned modules; memory limits from the
 * manifest are applied to the core modules here.
 */
import { ISOLATE_RUNTIME, ISOLATE_RUNTIME_WASI } from '../generated/isolate-modules.js';
import { directMainOf } from '../isolate/direct-plan.js';
import { planIsDirect } from '../isolate/plan-instantiate.js';
import type { ArtifactPlanWire, ComponentSlot } from '../isolate/protocol.js';
import { capCoreModuleMemory, MemoryLimitError } from '../wasm/memory-cap.js';
import { coreModuleInterface } from '../wasm/module-interface.js';
import type { LoadedArtifacts } from './artifact-store.js';
import type { ManifestCapabilities } from './host-policy.js';

export interface PackComponent {
  id: string;
  /** sha256 of the component `.wasm`; its artifacts live under `components/<sha256>/`. */
  sha256: string;
  manifest?: ManifestCapabilities & {
    capabilities?: { wasi?: { env?: { allow?: string[] }; filesystem?: { mode?: string; mounts?: unknown[] } } };
    /** Pack-embedded component manifest (greentic-types `resources`). */
    resources?: { memory_mb?: number };
    /** `component.manifest.json` form. */
    limits?: { memory_mb?: number };
  };
}

export interface IsolateComponent {
  component: PackComponent;
  art: LoadedArtifacts;
}

/**
 * The memory limit a component's manifest sets, in 64 KiB pages, when it is below the cap its
 * artifacts were transpiled with (`resources.memory_mb` of the pack manifest or `limits.memory_mb`
 * of `component.manifest.json`; the smaller wins), else null.
 */
export function memoryLimitPages(c: PackComponent, art: LoadedArtifacts): number | null {
  const declared = [c.manifest?.resources?.memory_mb, c.manifest?.limits?.memory_mb].filter(
    (mb): mb is number => typeof mb === 'number' && Number.isFinite(mb) && mb > 0,
  );
  if (declared.length === 0) return null;
  const pages = Math.max(1, Math.floor(Math.min(...declared) * 16));
  return pages < art.descriptor.memoryCapMb * 16 ? pages : null;
}

/** The core module a node@0.6.0 component can be instantiated from alone, or null (see direct-plan.ts). */
export function directMainOfArtifacts(art: LoadedArtifacts): string | null {
  if (art.descriptor.dialect !== 'node@0.6.0') return null;
  try {
    return directMainOf(
      Object.fromEntries(Object.entries(art.cores).map(([name, bytes]) => [name, coreModuleInterface(new Uint8Array(bytes))])),
    );
  } catch {
    // A module this reader cannot parse still gets its chance through jco's glue.
    return null;
  }
}

/**
 * The instantiation plan a node@0.6.0 component runs from without glue, when its artifacts carry
 * one and every function it lowers is served by the isolate (see plan-instantiate.ts), else null.
 */
export function directPlanOfArtifacts(art: LoadedArtifacts): ArtifactPlanWire | null {
  const plan = art.descriptor.plan;
  if (art.descriptor.dialect !== 'node@0.6.0' || !plan) return null;
  return plan.modules.every((m) => Object.hasOwn(art.cores, m)) && planIsDirect(plan.graph) ? plan : null;
}

/** How a component loads without jco's glue (main module alone, or from its plan), or null when it needs the glue. */
export function glueFreeLoad(
  art: LoadedArtifacts,
): { directMain: string; plan: null } | { directMain: null; plan: ArtifactPlanWire } | null {
  const directMain = directMainOfArtifacts(art);
  if (directMain) return { directMain, plan: null };
  const plan = directPlanOfArtifacts(art);
  return plan ? { directMain: null, plan } : null;
}

/** The core module files a plan instantiates. */
function plannedModules(plan: ArtifactPlanWire): string[] {
  const used = new Set(plan.graph.instances.flatMap((inst) => (inst.kind === 'instantiate' ? [plan.modules[inst.module]!] : [])));
  return plan.modules.filter((m) => used.has(m));
}

/**
 * The modules of a pack's Dynamic Worker: the runtime (with WASI only when a component needs it),
 * then per component its jco glue and core modules; unless `glue`, a component that qualifies for
 * glue-free instantiation gets only its main core module (host imports only) or its core modules
 * and their instantiation plan.
 */
export function packIsolateModules(
  components: IsolateComponent[],
  opts: { glue: boolean },
): Record<string, string | { wasm: ArrayBuffer }> {
  const modules: Record<string, string | { wasm: ArrayBuffer }> = {};
  const lines = ["import { registerComponent, PackIsolate } from './runtime.js';"];
  /** Whether a component loaded from its plan or importing WASI through its glue is in the pack. */
  let needsWasi = false;
  components.forEach(({ component, art }, index) => {
    const { descriptor } = art;
    const free = opts.glue ? null : glueFreeLoad(art);
    const directMain = free?.directMain ?? null;
    const plan = free?.plan ?? null;
    const glueFree = free !== null;
    // A plan may leave modules out (a short-circuited shim and fixup): only those it instantiates load.
    const coreNames = directMain ? [directMain] : plan ? plannedModules(plan) : descriptor.coreModules;
    const limit = memoryLimitPages(component, art);
    let cores: Record<string, ArrayBuffer> = art.cores;
    let memoryError: string | undefined;
    if (limit !== null) {
      try {
        cores = Object.fromEntries(
          coreNames.map((m) => [m, capCoreModuleMemory(new Uint8Array(art.cores[m]!), limit).buffer as ArrayBuffer]),
        );
      } catch (err) {
        if (!(err instanceof MemoryLimitError)) throw err;
        // The component cannot start under its limit; the rest of the pack still loads.
        memoryError = `component ${component.id} cannot run: ${err.message}`;
      }
    }
    if (memoryError !== undefined) {
      const slot: ComponentSlot = {
        id: component.id,
        dialect: descriptor.dialect,
        imports: [],
        exportName: descriptor.exportName,
        filesystem: 'none',
        memoryError,
      };
      lines.push(`registerComponent(${JSON.stringify(slot)}, null, {});`);
      return;
    }
    coreNames.forEach((m, j) => {
      modules[`c${index}/${m}`] = { wasm: cores[m]! };
      lines.push(`import m${index}_${j} from './c${index}/${m}';`);
    });
    needsWasi ||= plan !== null || (!glueFree && descriptor.imports.some((i) => i.startsWith('wasi:')));
    if (!glueFree) {
      if (art.glue === null) throw new Error(`component ${component.id} needs its jco glue, which was not loaded`);
      modules[`c${index}/${descriptor.glue}`] = art.glue;
      lines.push(`import * as g${index} from './c${index}/${descriptor.glue}';`);
    }
    const slot: ComponentSlot = {
      id: component.id,
      dialect: descriptor.dialect,
      imports: descriptor.imports,
      exportName: descriptor.exportName,
      // Upstream preopens the pack's assets read-only at /assets for every component, whatever its
      // manifest's filesystem mode (upstream-runtime.md §C.1).
      filesystem: 'read_only',
      ...(directMain ? { directMain } : {}),
      ...(plan ? { plan } : {}),
    };
    const coreRefs = coreNames.map((m, j) => `${JSON.stringify(m)}: m${index}_${j}`).join(', ');
    lines.push(`registerComponent(${JSON.stringify(slot)}, ${glueFree ? 'null' : `g${index}.instantiate`}, { ${coreRefs} });`);
  });
  lines.push('export default PackIsolate;');
  modules['runtime.js'] = needsWasi ? ISOLATE_RUNTIME_WASI : ISOLATE_RUNTIME;
  modules['main.js'] = lines.join('\n');
  return modules;
}
