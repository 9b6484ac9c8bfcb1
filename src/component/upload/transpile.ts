/**
 * Component `.wasm` → artifact set (jco JS glue + metered core modules + descriptor), addressed by
 * the component's sha256. The jco bindgen call itself is behind `BindgenGenerator` so the same
 * pipeline runs at the edge (a Dynamic Worker, edge/edge-transpiler.ts) and in Node.
 */

import { CodedError } from '../../core/coded-error.js';
import { sha256HexAsync } from '../../pack/digest.js';
import { type BindgenGenerator, importFunctionsOf } from '../isolate/bindgen-protocol.js';
import { DIRECT_HOST_FUNCTIONS } from '../isolate/direct-plan.js';
import { type ArtifactPlanWire, type Dialect, MCP_ROUTER_DIALECT, MCP_ROUTER_EXPORT } from '../isolate/protocol.js';
import { meterCoreModule } from '../wasm/fuel.js';
import { WasmRewriteError } from '../wasm/reader.js';
import { instantiationPlanOrNull } from './component-plan.js';
import { shortCircuitShim } from './shim-plan.js';

/** A component the pipeline refuses or cannot run, with a `component.*` code. */
export class ComponentError extends CodedError {}

/** Bumped when the generated artifacts change shape, so stored artifacts are rebuilt. */
export const ARTIFACT_FORMAT = 1;

/**
 * The glue generator (see build/generate-edge-modules.ts). Artifacts made by another generator still
 * load and run; an upload of the same component replaces them.
 */
export const GLUE_GENERATOR = 'js-component-bindgen@1.15.4';

/** Default per-memory cap applied to every core module (manifest `limits.memory_mb` upstream). */
export const DEFAULT_MEMORY_CAP_MB = 128;

export interface ArtifactDescriptor {
  format: number;
  /** GLUE_GENERATOR of the run that made these artifacts (absent before it was recorded). */
  generator?: string;
  sha256: string;
  dialect: Dialect;
  /** The instance export the dialect calls, e.g. `greentic:component/node@0.6.0`. */
  exportName: string;
  /** Import keys exactly as the glue reads them from its `imports` object. */
  imports: string[];
  /** Versioned `iface#fn` names of every imported function, from the glue. */
  importFunctions: string[];
  exports: [string, string][];
  glue: string;
  coreModules: string[];
  memoryCapMb: number;
  /**
   * The component's core instantiation graph (component-plan.ts), with `coreModules` in module
   * index order; absent when the component uses something the plan cannot express, or for
   * artifacts made before plans were recorded. Without it the component runs through the glue.
   */
  plan?: ArtifactPlanWire;
}

export interface ComponentArtifacts {
  descriptor: ArtifactDescriptor;
  files: Record<string, Uint8Array>;
}

const ASYNC_EXPORTS = [
  'greentic:component/node@0.6.0#invoke',
  'greentic:component/node@0.6.0#describe',
  'greentic:component/component-runtime@0.6.0#run',
  'greentic:component/component-descriptor@0.6.0#describe',
  'greentic:component/node@0.5.0#invoke',
  'greentic:component/node@0.5.0#get-manifest',
  'greentic:component/node@0.4.0#invoke',
  'greentic:component/node@0.4.0#get-manifest',
  // A router may call host imports (JSPI-suspending) from the functions the host calls.
  'wasix:mcp/router@25.6.18#list-tools',
  'wasix:mcp/router@25.6.18#call-tool',
];

/** Options for js-component-bindgen's `generate`, in the shape jco-transpile passes them. */
export function bindgenOptions(): Record<string, unknown> {
  return {
    name: 'component',
    map: [],
    instantiation: { tag: 'async' },
    asyncMode: { tag: 'jspi', val: { imports: [...DIRECT_HOST_FUNCTIONS], exports: ASYNC_EXPORTS } },
    importBindings: undefined,
    validLiftingOptimization: false,
    tracing: false,
    noComponentErrorWrapping: true,
    noNodejsCompat: true,
    noTypescript: true,
    tlaCompat: false,
    // 0: every core module becomes a file; inlined base64 would need WebAssembly.compile at runtime.
    base64Cutoff: 0,
    noNamespacedExports: false,
    multiMemory: false,
    bindgenEnableWasmExnref: false,
    strict: false,
    flagsAsBigint: false,
    variantsInlineCases: false,
    useNamespaceObjects: false,
    enumValuesScreamingSnakeCase: false,
    idlImports: false,
    asmjs: false,
  };
}

/** Picks the ABI dialect from the component's instance exports (upstream runner's order). */
export function detectDialect(exports: [string, string][]): { dialect: Dialect; exportName: string } {
  const names = new Set(exports.map(([n]) => n));
  const candidates: [Dialect, string][] = [
    ['node@0.6.0', 'greentic:component/node@0.6.0'],
    ['component-runtime@0.6.0', 'greentic:component/component-runtime@0.6.0'],
    ['node@0.5.0', 'greentic:component/node@0.5.0'],
    ['node@0.4.0', 'greentic:component/node@0.4.0'],
    [MCP_ROUTER_DIALECT, MCP_ROUTER_EXPORT],
  ];
  for (const [dialect, name] of candidates) if (names.has(name)) return { dialect, exportName: name };
  const seen = [...names].filter((n) => n.includes(':')).join(', ') || 'none';
  throw new ComponentError(
    'component.abi-unsupported',
    `component exports neither greentic:component/node@0.6.0, component-runtime@0.6.0, node@0.5.0/0.4.0 nor ${MCP_ROUTER_EXPORT} (exports: ${seen})`,
  );
}

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

function checkComponentHeader(bytes: Uint8Array): void {
  if (bytes.length < 8 || WASM_MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new ComponentError('component.malformed', 'not a WebAssembly binary (missing \\0asm magic)');
  }
  // Layer byte 1 = component; 0 = core module.
  if (bytes[6] !== 1) {
    throw new ComponentError(
      'component.malformed',
      'a core WebAssembly module, not a component (build it with `jco new`/`wasm-tools component new`)',
    );
  }
}

/**
 * The component's instantiation plan, with each embedded core module matched to the jco file
 * holding the same bytes; undefined when the plan cannot express the component or a module has
 * no such file.
 */
export function planOf(component: Uint8Array, jcoCores: [string, Uint8Array][]): ArtifactPlanWire | undefined {
  const read = instantiationPlanOrNull(component);
  if (!read) return undefined;
  // A plain loop: `every` with a callback costs ~100 ms on a 12 MB module, this ~20 ms.
  const same = (a: Uint8Array, b: Uint8Array): boolean => {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  };
  const modules: string[] = [];
  for (const m of read.coreModules) {
    const file = jcoCores.find(([name, data]) => !modules.includes(name) && same(m, data));
    if (!file) return undefined;
    modules.push(file[0]);
  }
  return { graph: shortCircuitShim(read.plan, read.coreModules), modules };
}

export async function transpileComponent(
  bytes: Uint8Array,
  generator: BindgenGenerator,
  opts: { memoryCapMb?: number } = {},
): Promise<ComponentArtifacts> {
  checkComponentHeader(bytes);
  const sha256 = await sha256HexAsync(bytes);
  const reply = await generator.generate(bytes, bindgenOptions());
  if (!reply.ok || !reply.files) {
    throw new ComponentError(
      'component.transpile-failed',
      `jco could not transpile component ${sha256.slice(0, 12)}: ${reply.error ?? 'unknown error'}`,
    );
  }
  const exports = reply.exports ?? [];
  const { dialect, exportName } = detectDialect(exports);
  const memoryCapMb = opts.memoryCapMb ?? DEFAULT_MEMORY_CAP_MB;
  const files: Record<string, Uint8Array> = {};
  const coreModules: string[] = [];
  let glue = '';
  let glueText = '';
  const jcoCores: [string, Uint8Array][] = [];
  for (const [name, data] of reply.files) {
    if (name.endsWith('.wasm')) {
      jcoCores.push([name, new Uint8Array(data)]);
      try {
        files[name] = meterCoreModule(new Uint8Array(data), { memoryCapPages: memoryCapMb * 16 });
      } catch (err) {
        if (err instanceof WasmRewriteError) throw new ComponentError('component.unsupported-wasm', `core module ${name}: ${err.message}`);
        throw err;
      }
      coreModules.push(name);
    } else if (name.endsWith('.js')) {
      glue = name;
      glueText = new TextDecoder().decode(data);
      files[name] = new Uint8Array(data);
    }
  }
  if (!glue) throw new ComponentError('component.transpile-failed', 'jco produced no JS glue');
  const importFunctions = reply.importFunctions ?? importFunctionsOf(glueText);
  const plan = planOf(bytes, jcoCores);
  return {
    descriptor: {
      format: ARTIFACT_FORMAT,
      generator: GLUE_GENERATOR,
      sha256,
      dialect,
      exportName,
      imports: reply.imports ?? [],
      importFunctions,
      exports,
      glue,
      coreModules,
      memoryCapMb,
      ...(plan ? { plan } : {}),
    },
    files,
  };
}
