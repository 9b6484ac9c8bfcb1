// The real upload pipeline: the pack module verifies the archive under the trust policy and
// yields the manifest's compiled flows and components; each component is then transpiled once
// per digest by the component runtime (artifacts in R2 under `components/<sha256>/`).

import type { ManifestCapabilities } from '../component/edge/host-policy.js';
import { transpilePackComponents } from '../component/edge/worker-wiring.js';
import { ComponentError } from '../component/upload/transpile.js';
import type { Flow } from '../flow/model.js';
import { PackError } from '../pack/errors.js';
import { parseTrustedKeys } from '../pack/keys.js';
import { openPack } from '../pack/reader.js';
import { type PackReport, verifyPack } from '../pack/verify.js';
import { VERIFIED } from '../pack-store/trust-policy.js';
import type { PackInspection, PackUploadPipeline } from './upload.js';

type OpenedPack = ReturnType<typeof openPack>;

/**
 * A component the pack declares only in its component sources has no manifest to grant from; it
 * gets its own component state (the adaptive card keeps its session there) and nothing else
 * (docs/compat.md).
 */
const UNDECLARED_GRANTS: ManifestCapabilities = { capabilities: { host: { state: { read: true, write: true } } } };

/**
 * Each component's wasm and the capabilities its manifest declares (what the host grants from).
 * The ids and wasm paths are the verifier's: the manifest's components, else the component sources.
 */
function componentsOf(opened: OpenedPack, report: PackReport): NonNullable<PackInspection['components']> {
  const manifest = opened.manifest;
  return report.components.map((c) => {
    const digest = c.sha256 === null ? {} : { digest: `sha256:${c.sha256}` };
    // Legacy-format packs are listed, not transpiled (as before component sources existed).
    if (manifest === undefined) return { id: c.id, ...digest };
    const wasm = opened.entries.get(c.path);
    const declared = manifest.components.find((m) => m.id === c.id);
    if (declared === undefined) return { id: c.id, ...digest, manifest: UNDECLARED_GRANTS, ...(wasm === undefined ? {} : { wasm }) };
    // `resources.memory_mb` caps the component's memory at run time (runner.ts).
    const capabilities: ManifestCapabilities & { resources?: unknown } = {
      capabilities: declared.capabilities as ManifestCapabilities['capabilities'],
      ...(declared.resources === undefined ? {} : { resources: declared.resources }),
    };
    return { id: c.id, ...digest, manifest: capabilities, ...(wasm === undefined ? {} : { wasm }) };
  });
}

function assetsOf(opened: OpenedPack): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  for (const [path, data] of opened.entries) if (path.startsWith('assets/')) files[path.slice('assets/'.length)] = data;
  return files;
}

function flowsOf(opened: OpenedPack): Flow[] {
  if (opened.manifest !== undefined) {
    return opened.manifest.flows.map((entry) => {
      const tags = [...new Set([...(entry.flow.metadata?.tags ?? []), ...entry.tags])];
      return { ...entry.flow, metadata: { ...entry.flow.metadata, tags } };
    });
  }
  const flows: Flow[] = [];
  for (const f of opened.legacy?.flows ?? []) {
    const data = f.file_json === undefined ? undefined : opened.entries.get(f.file_json);
    if (data !== undefined) flows.push(JSON.parse(new TextDecoder().decode(data)) as Flow);
  }
  return flows;
}

export const packUploadPipeline: PackUploadPipeline = {
  async inspect(bytes, { policy, trustedKeys }): Promise<PackInspection> {
    let keys: Uint8Array[];
    try {
      keys = trustedKeys.trim() === '' ? [] : parseTrustedKeys(trustedKeys);
    } catch (err) {
      return { ok: false, report: null, reason: `PACK_TRUSTED_KEYS is invalid: ${(err as Error).message}` };
    }
    let report;
    try {
      report = await verifyPack(bytes, { policy, trustedKeys: keys });
    } catch (err) {
      if (err instanceof PackError) return { ok: false, report: { code: err.code, message: err.message }, reason: err.message };
      throw err;
    }
    if (!report.ok) return { ok: false, report, reason: report.errors.join('; ') || `rejected under the "${policy}" trust policy` };
    const opened = openPack(bytes);
    const verifiedBy = report.signatures.find((s) => s.status === 'valid' && s.verified_by !== undefined)?.verified_by ?? null;
    // Under `dev` the strict findings are warnings: only a pack with none would also pass `strict`.
    const verified = verifiedBy !== null && report.errors.length === 0 && report.warnings.length === 0;
    return {
      ok: true,
      report,
      pack_id: report.pack_id,
      version: report.version,
      kind: report.kind,
      publisher: report.publisher,
      signed_by: verifiedBy,
      trust: verified ? VERIFIED : `${policy}-unverified`,
      flows: flowsOf(opened),
      components: componentsOf(opened, report),
      assets: assetsOf(opened),
    };
  },
  async prepareComponents(env, inspection) {
    for (const c of inspection.components ?? []) {
      if (c.wasm === undefined) continue;
      try {
        await transpilePackComponents(env, [{ id: c.id, wasm: c.wasm }]);
      } catch (err) {
        if (err instanceof ComponentError) return { component: c.id, code: err.code, message: err.message };
        throw err;
      }
    }
    return null;
  },
};
