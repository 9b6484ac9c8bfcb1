/**
 * Transpiled component artifacts in R2 under `components/<sha256>/`: `descriptor.json` (written
 * last, so its presence means the set is complete) plus the glue and the metered core modules.
 * A digest already stored is never transpiled again.
 */
import { instantiationPlan, PlanError } from './component-plan.js';
import { ARTIFACT_FORMAT, type ArtifactDescriptor, type BindgenGenerator, GLUE_GENERATOR, sha256Hex, transpileComponent } from './transpile.js';

/** Whether the component's instantiation graph can be recorded (component-plan.ts); reading it is cheap. */
function hasPlan(component: Uint8Array): boolean {
  try {
    instantiationPlan(component);
    return true;
  } catch (err) {
    if (err instanceof PlanError) return false;
    throw err;
  }
}

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
  const sha256 = await sha256Hex(component);
  const existing = await readDescriptor(bucket, sha256);
  if (existing && existing.generator === GLUE_GENERATOR && (existing.plan || !hasPlan(component))) return { descriptor: existing, transpiled: false };
  const { descriptor, files } = await transpileComponent(component, generator, opts);
  const prefix = artifactPrefix(sha256);
  await Promise.all(Object.entries(files).map(([name, data]) => bucket.put(`${prefix}${name}`, data)));
  await bucket.put(`${prefix}descriptor.json`, JSON.stringify(descriptor), { httpMetadata: { contentType: 'application/json' } });
  return { descriptor, transpiled: true };
}

export interface LoadedArtifacts {
  descriptor: ArtifactDescriptor;
  glue: string;
  cores: Record<string, ArrayBuffer>;
}

export async function loadArtifacts(bucket: R2Bucket, sha256: string): Promise<LoadedArtifacts> {
  const descriptor = await readDescriptor(bucket, sha256);
  if (!descriptor) throw Object.assign(new Error(`no transpiled artifacts for component ${sha256}`), { code: 'component.artifacts-missing' });
  const prefix = artifactPrefix(sha256);
  const [glueObj, ...coreObjs] = await Promise.all([
    bucket.get(`${prefix}${descriptor.glue}`),
    ...descriptor.coreModules.map((m) => bucket.get(`${prefix}${m}`)),
  ]);
  if (!glueObj || coreObjs.some((o) => !o)) {
    throw Object.assign(new Error(`artifacts for component ${sha256} are incomplete`), { code: 'component.artifacts-missing' });
  }
  const cores: Record<string, ArrayBuffer> = {};
  await Promise.all(descriptor.coreModules.map(async (m, i) => (cores[m] = await coreObjs[i]!.arrayBuffer())));
  return { descriptor, glue: await glueObj.text(), cores };
}
