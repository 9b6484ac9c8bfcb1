// What an upload needs from the pack and component modules, as one small interface: verify the
// archive under the deployment's trust policy, read its identity/flows/components, and transpile
// its components once. `worker.ts` binds the real implementations; nothing is stored unless
// `inspect` accepted the pack, and nothing stays stored when a later step fails.
import type { Env } from '../env.js';
import type { Flow } from '../flow/model.js';
import type { PackComponentModel } from '../pack-store/pack-store.js';
import type { TrustPolicy } from '../pack-store/trust-policy.js';

export interface PackInspection {
  ok: boolean;
  /** Verification findings, shown to the uploader as they are (codes + messages, no secrets). */
  report: unknown;
  /** Human summary of why the pack was refused (when !ok). */
  reason?: string;
  pack_id?: string;
  version?: string;
  kind?: string;
  publisher?: string;
  signed_by?: string | null;
  /** "verified" (a trusted signature, no integrity problem) or "<policy>-unverified". */
  trust?: string;
  flows?: Flow[];
  components?: (PackComponentModel & { wasm?: Uint8Array })[];
  /** The pack's `assets/` files keyed relative to that folder (readable by its components at `/assets`). */
  assets?: Record<string, Uint8Array>;
}

/** A component the runtime refuses (not Wasm, not a component, unsupported ABI…), named. */
export interface ComponentRejection {
  component: string;
  code: string;
  message: string;
}

export interface PackUploadPipeline {
  inspect(bytes: Uint8Array, options: { policy: TrustPolicy; trustedKeys: string }): Promise<PackInspection>;
  /**
   * Transpile each component once (keyed by its digest) and store the artifacts in `env.PACKS`.
   * A refused component is returned; storage failures throw.
   */
  prepareComponents(env: Env, inspection: PackInspection): Promise<ComponentRejection | null>;
}

/** Upload size limit; a request body above it is refused before it is read in full. */
export const MAX_PACK_BYTES = 64 * 1024 * 1024;
