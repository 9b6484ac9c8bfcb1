/**
 * Transpiled component artifacts in R2 under `components/<sha256>/`: `descriptor.json` (written
 * last, so its presence means the set is complete) plus the glue and the metered core modules.
 * A digest already stored is never transpiled again.
 */
import { sha256HexAsync } from '../../pack/digest.js';
import type { BindgenGenerator } from '../isolate/bindgen-protocol.js';
import { instantiationPlanOrNull } from '../upload/component-plan.js';
import { ARTIFACT_FORMAT, type ArtifactDescriptor, ComponentError, GLUE_GENERATOR, transpileComponent } from '../upload/transpile.js';

export function artifactPrefix(sha256: string): string {
  return `components/${sha256}/`;
}

export async function readDescriptor(bucket: R2Bucket, sha256: string): Promise<ArtifactDescriptor | null> {
  const obj = await bucket.get(`${artifactPrefix(sha256)}descriptor.json`);
  if (!obj) return null;
  const descriptor = (await obj.json()) as ArtifactDescriptor;
  return descriptor.format === ARTIFACT_FORMAT ? descriptor : null;
}

export interface EnsureResult {
  descriptor: ArtifactDescriptor;
  /** False when the artifacts were already in R2. */
  transpiled: boolean;
}

/**
 * Transpiles and stores a component unless artifacts for its digest already exist, come from the
 * current glue generator and carry the instantiation plan when the component has one (older ones
 * keep running, through the glue, until the component is uploaded again).
 */
export async function ensureComponentArtifacts(
  bucket: R2Bucket,
  component: Uint8Array,
  generator: BindgenGenerator,
  opts: { memoryCapMb?: number } = {},
): Promise<EnsureResult> {
  const sha256 = await sha256HexAsync(component);
  const existing = await readDescriptor(bucket, sha256);
  // Artifacts from before plans were recorded are made again when the component has one (reading it is cheap).
  if (existing && existing.generator === GLUE_GENERATOR && (existing.plan || !instantiationPlanOrNull(component)))
    return { descriptor: existing, transpiled: false };
  const { descriptor, files } = await transpileComponent(component, generator, opts);
  const prefix = artifactPrefix(sha256);
  await Promise.all(Object.entries(files).map(([name, data]) => bucket.put(`${prefix}${name}`, data)));
  await bucket.put(`${prefix}descriptor.json`, JSON.stringify(descriptor), { httpMetadata: { contentType: 'application/json' } });
  return { descriptor, transpiled: true };
}

export interface LoadedArtifacts {
  descriptor: ArtifactDescriptor;
  /** The jco glue; null when loaded without it (`loadArtifacts` with `glue: false`). */
  glue: string | null;
  cores: Record<string, ArrayBuffer>;
}

function missing(sha256: string, what: string): ComponentError {
  return new ComponentError('component.artifacts-missing', `${what} for component ${sha256}`);
}

/**
 * A component's descriptor and core modules, and its glue unless `glue` is false (a component
 * loaded glue-free does not need it; `loadGlue` fetches it later if it turns out to).
 */
export async function loadArtifacts(bucket: R2Bucket, sha256: string, opts: { glue?: boolean } = {}): Promise<LoadedArtifacts> {
  const descriptor = await readDescriptor(bucket, sha256);
  if (!descriptor) throw missing(sha256, 'no transpiled artifacts');
  const prefix = artifactPrefix(sha256);
  const [glue, ...coreObjs] = await Promise.all([
    opts.glue === false ? null : loadGlue(bucket, descriptor),
    ...descriptor.coreModules.map((m) => bucket.get(`${prefix}${m}`)),
  ]);
  if (coreObjs.some((o) => !o)) throw missing(sha256, 'incomplete artifacts');
  const cores: Record<string, ArrayBuffer> = {};
  await Promise.all(descriptor.coreModules.map(async (m, i) => (cores[m] = await coreObjs[i]!.arrayBuffer())));
  return { descriptor, glue, cores };
}

/** The jco glue of a component whose artifacts are stored. */
export async function loadGlue(bucket: R2Bucket, descriptor: ArtifactDescriptor): Promise<string> {
  const obj = await bucket.get(`${artifactPrefix(descriptor.sha256)}${descriptor.glue}`);
  if (!obj) throw missing(descriptor.sha256, 'incomplete artifacts');
  return obj.text();
}
