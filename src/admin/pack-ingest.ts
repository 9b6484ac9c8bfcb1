// The real upload pipeline: the pack module verifies the archive under the trust policy and
// yields the manifest's compiled flows; component transpilation is delegated to the component
// runtime once it exposes its edge transpiler (until then components are recorded, not prepared).
import { PackError } from '../pack/errors.js';
import { parseTrustedKeys } from '../pack/keys.js';
import { openPack } from '../pack/reader.js';
import { verifyPack } from '../pack/verify.js';
import type { Flow } from '../flow/model.js';
import type { PackInspection, PackUploadPipeline } from './upload.js';

function flowsOf(bytes: Uint8Array): Flow[] {
  const opened = openPack(bytes);
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
    const verifiedBy = report.signatures.find((s) => s.status === 'valid' && s.verified_by !== undefined)?.verified_by ?? null;
    return {
      ok: true,
      report,
      pack_id: report.pack_id,
      version: report.version,
      kind: report.kind,
      publisher: report.publisher,
      signed_by: verifiedBy,
      trust: verifiedBy !== null ? 'verified' : `${policy}-unverified`,
      flows: flowsOf(bytes),
      components: report.components.map((c) => (c.sha256 === null ? { id: c.id } : { id: c.id, digest: `sha256:${c.sha256}` })),
    };
  },
  async prepareComponents() {
    // Transpilation at upload is bound here once src/component exposes its edge transpiler.
  },
};
