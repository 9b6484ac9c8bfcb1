// Which components a pack carries and where each one's wasm is, as upstream's runner decides it
// (reference upstream-runtime.md §A): the manifest's `components` when it lists any, else the
// entries of the `greentic.pack.component_sources@v1` extension; each wasm from that extension's
// inline `wasm_path`, else the `components/<id>.wasm` convention.
import { z } from 'zod';
import type { PackManifest } from './manifest-types.js';

export const COMPONENT_SOURCES_EXTENSION = 'greentic.pack.component_sources@v1';

const sourceEntry = z.looseObject({
  name: z.string(),
  component_id: z.string().nullish(),
  source: z.string().optional(),
  resolved: z.looseObject({ digest: z.string() }).optional(),
  artifact: z.union([z.literal('remote'), z.looseObject({ inline: z.looseObject({ wasm_path: z.string() }) })]).optional(),
});

const sourcesInline = z.looseObject({
  schema_version: z.number(),
  components: z.array(sourceEntry),
});

export interface ComponentSource {
  /** `component_id`, else `name` (upstream's key; both are looked up). */
  id: string;
  name: string;
  /** The archive entry of the bundled wasm, or null for a `remote` artifact. */
  wasmPath: string | null;
  /** `sha256:<hex>` the wasm must hash to, when the entry pins one. */
  digest?: string;
  source?: string;
}

/** Why the extension cannot be read; the pack cannot run its components as declared. */
export interface ComponentSourcesProblem {
  pointer: string;
  message: string;
}

export type ComponentSourcesResult =
  | { sources: ComponentSource[]; problem?: undefined }
  | { sources: []; problem: ComponentSourcesProblem };

const POINTER = `/extensions/${COMPONENT_SOURCES_EXTENSION}/inline`;

/** The extension's entries (none when the pack has no such extension). */
export function componentSources(m: PackManifest): ComponentSourcesResult {
  const ext = m.extensions?.[COMPONENT_SOURCES_EXTENSION];
  if (ext === undefined || ext.inline === undefined || ext.inline === null) return { sources: [] };
  const parsed = sourcesInline.safeParse(ext.inline);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue === undefined ? '' : issue.path.map((s) => `/${String(s)}`).join('');
    return { sources: [], problem: { pointer: `${POINTER}${at}`, message: issue?.message ?? 'not a component sources table' } };
  }
  if (parsed.data.schema_version !== 1) {
    return {
      sources: [],
      problem: {
        pointer: `${POINTER}/schema_version`,
        message: `schema_version ${parsed.data.schema_version} is not supported (expected 1)`,
      },
    };
  }
  return {
    sources: parsed.data.components.map((e) => {
      const out: ComponentSource = {
        id: e.component_id ?? e.name,
        name: e.name,
        wasmPath: e.artifact !== undefined && e.artifact !== 'remote' ? e.artifact.inline.wasm_path : null,
      };
      if (e.resolved !== undefined) out.digest = e.resolved.digest.toLowerCase();
      if (e.source !== undefined) out.source = e.source;
      return out;
    }),
  };
}

/** The component ids the pack provides: the manifest's list, else the component sources' ids. */
export function packComponentIds(m: PackManifest): string[] {
  if (m.components.length > 0) return m.components.map((c) => c.id);
  return [...new Set(componentSources(m).sources.map((s) => s.id))];
}

/** The sources entry for a component id (matched on `component_id` and on `name`, as upstream). */
export function componentSourceOf(m: PackManifest, componentId: string): ComponentSource | undefined {
  return componentSources(m).sources.find((s) => s.id === componentId || s.name === componentId);
}

/** Where a component's wasm lives: the component_sources inline path, else `components/<id>.wasm`. */
export function componentWasmPath(m: PackManifest, componentId: string): string {
  return componentSourceOf(m, componentId)?.wasmPath ?? `components/${componentId}.wasm`;
}
