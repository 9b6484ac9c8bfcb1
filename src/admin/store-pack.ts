// Storing an accepted pack: its components' transpiled artifacts, the archive and the runtime
// model in R2, then the index row in D1 that makes it visible. Every step writes through staged
// R2 writes, so a failure at any step (a refused component, R2, D1) leaves R2 and D1 as they were.
import { errorMessage } from '../core/coded-error.js';
import { logEvent } from '../edge/telemetry.js';
import type { Env } from '../env.js';
import { findPackByDigest, recordPack } from '../pack-store/pack-index.js';
import { archiveKey, putPackAssets, putPackModel } from '../pack-store/pack-store.js';
import { stageWrites } from '../pack-store/staged-writes.js';
import type { ComponentRejection, PackInspection, PackUploadPipeline } from './upload.js';

export type StoreOutcome =
  | { status: 'stored' }
  | { status: 'component_rejected'; rejection: ComponentRejection }
  | { status: 'failed'; message: string };

export interface AcceptedUpload {
  bytes: Uint8Array;
  digest: string;
  inspection: PackInspection & { pack_id: string; version: string };
}

export async function storePack(env: Env, ingest: PackUploadPipeline, upload: AcceptedUpload): Promise<StoreOutcome> {
  const { bytes, digest, inspection } = upload;
  const staged = stageWrites(env.PACKS);
  try {
    // Components first: a refused component is the likeliest failure, and it then costs no archive write.
    const rejection = await ingest.prepareComponents({ ...env, PACKS: staged.bucket }, inspection);
    if (rejection !== null) {
      await staged.discard();
      return { status: 'component_rejected', rejection };
    }
    await staged.bucket.put(archiveKey(digest), bytes, { httpMetadata: { contentType: 'application/zip' } });
    const assets = inspection.assets ?? {};
    const assetsKey = Object.keys(assets).length === 0 ? undefined : await putPackAssets(staged.bucket, digest, assets);
    const modelKey = await putPackModel(staged.bucket, {
      pack_id: inspection.pack_id,
      version: inspection.version,
      digest,
      kind: inspection.kind ?? 'application',
      flows: inspection.flows ?? [],
      components: (inspection.components ?? []).map(({ wasm: _bytes, ...rest }) => rest),
      ...(assetsKey === undefined ? {} : { assets_key: assetsKey }),
    });
    // The index row goes last: a pack is visible only once everything it needs is stored.
    await recordPack(env.PACK_INDEX, {
      digest,
      pack_id: inspection.pack_id,
      version: inspection.version,
      kind: inspection.kind ?? 'application',
      publisher: inspection.publisher ?? '',
      size: bytes.length,
      signed_by: inspection.signed_by ?? null,
      trust: inspection.trust ?? 'unverified',
      archive_key: archiveKey(digest),
      model_key: modelKey,
      uploaded_at: new Date().toISOString(),
    });
    return { status: 'stored' };
  } catch (err) {
    // A concurrent upload of the same bytes may have recorded its row first: its objects are these.
    const twin = await findPackByDigest(env.PACK_INDEX, digest).catch(() => null);
    if (twin === null) {
      await staged
        .discard()
        .catch((discardErr: unknown) => logEvent('error', 'admin.upload_discard_failed', { digest, error: errorMessage(discardErr) }));
    }
    return { status: 'failed', message: errorMessage(err) };
  }
}
