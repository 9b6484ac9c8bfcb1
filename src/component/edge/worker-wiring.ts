/**
 * Wiring for the Worker: what the admin upload path and the session/flow layer call.
 * `transpilePackComponents` prepares a pack's components once per digest (R2 `components/<sha256>/`);
 * `edgeComponentRunner` gives a runner for one (pack, tenant) with the production host wiring.
 */
import type { Env } from '../../env.js';
import type { Dialect } from '../isolate/protocol.js';
import { ComponentError } from '../upload/transpile.js';
import { ensureComponentArtifacts } from './artifact-store.js';
import { EdgeTranspiler } from './edge-transpiler.js';
import { hostTargetFactory } from './host-entrypoint.js';
import type { TenantPolicy } from './host-policy.js';
import { ComponentRunner, DEFAULT_COMPONENT_CPU_MS, type PackDeployment } from './runner.js';
import type { ComponentStateStores } from './state-object.js';

export interface PreparedComponent {
  id: string;
  sha256: string;
  dialect: Dialect;
  /** False when artifacts for this digest were already stored. */
  transpiled: boolean;
}

/** Transpiles each component unless its digest is already stored; the first failure names the component. */
export async function transpilePackComponents(env: Env, components: { id: string; wasm: Uint8Array }[]): Promise<PreparedComponent[]> {
  const transpiler = new EdgeTranspiler(env.LOADER);
  const out: PreparedComponent[] = [];
  // Sequential: the transpiler isolate handles one component at a time anyway.
  for (const c of components) {
    try {
      const res = await ensureComponentArtifacts(env.PACKS, c.wasm, transpiler);
      out.push({ id: c.id, sha256: res.descriptor.sha256, dialect: res.descriptor.dialect, transpiled: res.transpiled });
    } catch (err) {
      if (err instanceof ComponentError) throw new ComponentError(err.code, `component "${c.id}": ${err.message}`);
      throw err;
    }
  }
  return out;
}

export function cpuMsOf(env: Env): number {
  const n = Number(env.COMPONENT_CPU_MS);
  return Number.isFinite(n) && n > 0 ? n : DEFAULT_COMPONENT_CPU_MS;
}

export function edgeComponentRunner(
  env: Env,
  pack: PackDeployment,
  scope: {
    tenant: string;
    team?: string;
    tenantPolicy: TenantPolicy;
    environment?: Record<string, string>;
    /** The turn's component state buffer; without one, state writes are applied at once. */
    state?: ComponentStateStores;
  },
): ComponentRunner {
  return new ComponentRunner(pack, {
    loader: env.LOADER,
    bucket: env.PACKS,
    host: hostTargetFactory(env, scope.state),
    env: env.GREENTIC_ENV,
    tenant: scope.tenant,
    team: scope.team,
    tenantPolicy: scope.tenantPolicy,
    cpuMs: cpuMsOf(env),
    environment: scope.environment,
  });
}
