// `verifyPack`: open, check integrity (SBOM BLAKE3 for every entry, component-manifest sha256
// pins), check signatures, and apply the trust policy. Unlike upstream, `strict` rejects a pack
// with no valid trusted signature or any integrity problem (docs/compat.md, "Packs").
// Every entry is hashed exactly once with BLAKE3; SHA-256 runs on WebCrypto, started first so
// that it can overlap the synchronous BLAKE3 work where the platform runs digests off-thread.
import { errorMessage } from '../core/coded-error.js';
import { isObject } from '../core/is-object.js';
import { decodeCbor } from './cbor.js';
import {
  COMPONENT_SOURCES_EXTENSION,
  componentSourceOf,
  componentSources,
  componentWasmPath,
  packComponentIds,
} from './component-sources.js';
import { blake3Hex, sha256Hex, sha256HexAsync } from './digest.js';
import { PackError } from './errors.js';
import { decodePackLock, type PackLockComponent } from './lock.js';
import { componentManifestFromValue } from './manifest-decode.js';
import { encodeComponentManifest } from './manifest-encode.js';
import type { PackManifest } from './manifest-types.js';
import { type OpenedPack, type OpenOptions, openPack } from './reader.js';
import { decodeSbom, isSbomExempt, type SbomEntry } from './sbom.js';
import { checkSignatures, type SignatureCheck } from './signing.js';

export type TrustPolicy = 'strict' | 'dev';

export interface VerifyOptions extends OpenOptions {
  policy: TrustPolicy;
  /** Raw 32-byte Ed25519 public keys (see `parseTrustedKeys`). */
  trustedKeys?: readonly Uint8Array[];
}

export type IntegrityProblemCode =
  | 'sbom-missing'
  | 'sbom-invalid'
  | 'missing-file'
  | 'hash-mismatch'
  | 'size-mismatch'
  | 'unlisted-file'
  | 'duplicate-listing'
  | 'component-manifest-missing'
  | 'component-manifest-encoding'
  | 'component-manifest-hash'
  | 'component-manifest-id'
  | 'component-manifest-differs'
  | 'component-wasm-missing'
  | 'lock-invalid'
  | 'lock-digest-mismatch'
  | 'component-sources-invalid'
  | 'component-digest-mismatch';

export interface IntegrityProblem {
  code: IntegrityProblemCode;
  /** The archive entry concerned. */
  path: string;
  message: string;
}

export interface PackReport {
  /** Accepted under `policy`. */
  ok: boolean;
  policy: TrustPolicy;
  format: 'pack-v1' | 'legacy';
  pack_id: string;
  version: string;
  kind: string;
  publisher: string;
  name?: string;
  /** `sha256:<hex>` of the whole archive (the runner's pack digest). */
  digest: string;
  size: number;
  flows: Array<{ id: string; kind: string; entrypoints: string[]; nodes: number }>;
  components: Array<{ id: string; version: string; world: string; path: string; sha256: string | null; size: number | null }>;
  assets: number;
  entries: number;
  sbom: {
    status: 'ok' | 'missing' | 'invalid' | 'mismatch';
    source: 'sbom.cbor' | 'sbom.json' | null;
    files: number;
    problems: IntegrityProblem[];
  };
  signatures: SignatureCheck[];
  /** Why the pack is rejected (empty when `ok`). */
  errors: string[];
  warnings: string[];
}

interface SbomOutcome {
  status: PackReport['sbom']['status'];
  source: PackReport['sbom']['source'];
  files: number;
  problems: IntegrityProblem[];
}

function checkSbom(entries: Map<string, Uint8Array>): SbomOutcome {
  const source = entries.has('sbom.cbor') ? 'sbom.cbor' : entries.has('sbom.json') ? 'sbom.json' : null;
  if (source === null) {
    return {
      status: 'missing',
      source,
      files: 0,
      problems: [{ code: 'sbom-missing', path: 'sbom.cbor', message: 'the archive has no sbom.cbor or sbom.json' }],
    };
  }
  let listed: SbomEntry[];
  try {
    listed = decodeSbom(entries.get(source) as Uint8Array, source);
  } catch (e) {
    const msg = e instanceof PackError ? e.message : String(e);
    return { status: 'invalid', source, files: 0, problems: [{ code: 'sbom-invalid', path: source, message: msg }] };
  }
  const problems: IntegrityProblem[] = [];
  const byPath = new Map<string, SbomEntry>();
  for (const item of listed) {
    if (byPath.has(item.path)) problems.push({ code: 'duplicate-listing', path: item.path, message: `${source} lists this path twice` });
    byPath.set(item.path, item);
  }
  for (const [path, item] of byPath) {
    const data = entries.get(path);
    if (data === undefined) {
      problems.push({ code: 'missing-file', path, message: `${source} lists it but the archive does not contain it` });
      continue;
    }
    if (data.length !== item.size)
      problems.push({ code: 'size-mismatch', path, message: `${data.length} bytes, ${source} says ${item.size}` });
    const actual = blake3Hex(data);
    if (actual !== item.hash_blake3.toLowerCase()) {
      problems.push({ code: 'hash-mismatch', path, message: `BLAKE3 is ${actual}, ${source} says ${item.hash_blake3}` });
    }
  }
  for (const path of entries.keys()) {
    if (!isSbomExempt(path) && !byPath.has(path)) problems.push({ code: 'unlisted-file', path, message: `not listed in ${source}` });
  }
  return { status: problems.length === 0 ? 'ok' : 'mismatch', source, files: listed.length, problems };
}

/** The lock's components, or none when the pack has no readable lock (checkLock reports that). */
function lockedComponents(entries: Map<string, Uint8Array>): Record<string, PackLockComponent> {
  const bytes = entries.get('pack.lock.cbor');
  if (bytes === undefined) return {};
  try {
    return decodePackLock(bytes).components;
  } catch {
    return {};
  }
}

/** Lock `resolved_digest` must pin the wasm actually bundled for that component. */
function checkLock(
  entries: Map<string, Uint8Array>,
  comps: Array<{ id: string; path: string; sha256: string | null }>,
): IntegrityProblem[] {
  const bytes = entries.get('pack.lock.cbor');
  if (bytes === undefined) return [];
  let lock;
  try {
    lock = decodePackLock(bytes);
  } catch (e) {
    return [{ code: 'lock-invalid', path: 'pack.lock.cbor', message: errorMessage(e) }];
  }
  const problems: IntegrityProblem[] = [];
  for (const c of comps) {
    const locked = lock.components[c.id];
    if (locked === undefined || c.sha256 === null || !locked.resolved_digest.startsWith('sha256:')) continue;
    if (locked.resolved_digest.toLowerCase() !== `sha256:${c.sha256}`) {
      problems.push({
        code: 'lock-digest-mismatch',
        path: c.path,
        message: `sha256:${c.sha256}, pack.lock.cbor pins ${locked.resolved_digest}`,
      });
    }
  }
  return problems;
}

interface ManifestIndexEntry {
  component_id: string;
  manifest_file: string;
  encoding: string;
  content_hash?: string;
}

function extensionInline(m: PackManifest, key: string): Record<string, unknown> | undefined {
  const inline = m.extensions?.[key]?.inline;
  return isObject(inline) ? inline : undefined;
}

function checkComponentManifests(m: PackManifest, entries: Map<string, Uint8Array>): IntegrityProblem[] {
  const index = extensionInline(m, 'greentic.pack.component_manifests@v1');
  if (index === undefined || !Array.isArray(index.entries)) return [];
  const problems: IntegrityProblem[] = [];
  for (const raw of index.entries as unknown[]) {
    const e = raw as Partial<ManifestIndexEntry>;
    if (typeof e?.manifest_file !== 'string' || typeof e.component_id !== 'string') continue;
    const path = e.manifest_file;
    const bytes = entries.get(path);
    if (bytes === undefined) {
      problems.push({
        code: 'component-manifest-missing',
        path,
        message: `manifest for component "${e.component_id}" is not in the archive`,
      });
      continue;
    }
    if (e.encoding !== 'cbor') {
      problems.push({ code: 'component-manifest-encoding', path, message: `encoding is ${JSON.stringify(e.encoding)}, expected "cbor"` });
      continue;
    }
    if (e.content_hash !== undefined) {
      const actual = `sha256:${sha256Hex(bytes)}`;
      if (actual !== e.content_hash.toLowerCase()) {
        problems.push({ code: 'component-manifest-hash', path, message: `content is ${actual}, the manifest pins ${e.content_hash}` });
        continue;
      }
    }
    let decoded;
    try {
      decoded = componentManifestFromValue(decodeCbor(bytes, { preserveFloats: true }), path);
    } catch (err) {
      problems.push({
        code: 'component-manifest-differs',
        path,
        message: `cannot decode: ${errorMessage(err)}`,
      });
      continue;
    }
    if (decoded.id !== e.component_id) {
      problems.push({ code: 'component-manifest-id', path, message: `declares id "${decoded.id}", the index says "${e.component_id}"` });
      continue;
    }
    const inline = m.components.find((c) => c.id === e.component_id);
    if (inline !== undefined && !sameBytes(encodeComponentManifest(inline), encodeComponentManifest(decoded))) {
      problems.push({
        code: 'component-manifest-differs',
        path,
        message: `differs from the copy of "${e.component_id}" inside manifest.cbor`,
      });
    }
  }
  return problems;
}

/** The component_sources table must be readable, and each bundled wasm must hash to its pinned digest. */
function checkComponentSources(
  m: PackManifest,
  comps: ReadonlyArray<{ id: string; path: string }>,
  shas: ReadonlyArray<string | null>,
): IntegrityProblem[] {
  const { problem } = componentSources(m);
  if (problem !== undefined) {
    return [{ code: 'component-sources-invalid', path: `manifest.cbor${problem.pointer}`, message: problem.message }];
  }
  const problems: IntegrityProblem[] = [];
  comps.forEach((c, i) => {
    const pinned = componentSourceOf(m, c.id)?.digest;
    const sha = shas[i];
    if (pinned === undefined || sha === null || sha === undefined || pinned === `sha256:${sha}`) return;
    problems.push({
      code: 'component-digest-mismatch',
      path: c.path,
      message: `component "${c.id}" hashes to sha256:${sha}, but its ${COMPONENT_SOURCES_EXTENSION} entry pins ${pinned}`,
    });
  });
  return problems;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function baseReport(
  opened: OpenedPack,
  bytes: Uint8Array,
  policy: TrustPolicy,
): Omit<PackReport, 'digest' | 'components' | 'sbom' | 'signatures' | 'ok' | 'errors' | 'warnings'> {
  const assets = [...opened.entries.keys()].filter((p) => p.startsWith('assets/')).length;
  if (opened.manifest !== undefined) {
    const m = opened.manifest;
    const r = {
      policy,
      format: opened.format,
      pack_id: m.pack_id,
      version: m.version,
      kind: m.kind,
      publisher: m.publisher,
      size: bytes.length,
      flows: m.flows.map((fl) => ({ id: fl.id, kind: fl.kind, entrypoints: fl.entrypoints, nodes: Object.keys(fl.flow.nodes).length })),
      assets,
      entries: opened.entries.size,
    };
    return m.name === undefined ? r : { ...r, name: m.name };
  }
  const l = opened.legacy!;
  const r = {
    policy,
    format: opened.format,
    pack_id: l.pack_id,
    version: l.version,
    kind: l.kind ?? 'application',
    publisher: '',
    size: bytes.length,
    flows: l.flows.map((fl) => ({ id: fl.id, kind: fl.kind, entrypoints: [], nodes: 0 })),
    assets,
    entries: opened.entries.size,
  };
  return l.name === undefined ? r : { ...r, name: l.name };
}

/**
 * Open and fully verify a pack. Structural failures (ZIP guards, undecodable manifest) throw
 * `PackError`; integrity and signature outcomes are reported, and `ok` applies the policy.
 */
export async function verifyPack(bytes: Uint8Array, opts: VerifyOptions): Promise<PackReport> {
  const opened = openPack(bytes, opts);
  const digestP = sha256HexAsync(bytes);
  const comps: Array<{ id: string; version: string; world: string; path: string; data: Uint8Array | undefined }> =
    opened.manifest !== undefined
      ? packComponentIds(opened.manifest).map((id) => {
          // A component known only from the component sources is described by the lock, when it has one.
          const declared = opened.manifest!.components.find((c) => c.id === id) ?? lockedComponents(opened.entries)[id];
          const path = componentWasmPath(opened.manifest!, id);
          const version = declared === undefined ? '' : 'version' in declared ? declared.version : (declared.component_version ?? '');
          return { id, version, world: declared?.world ?? '', path, data: opened.entries.get(path) };
        })
      : opened.legacy!.components.map((c) => ({
          id: c.name,
          version: c.version,
          world: c.world ?? '',
          path: c.file_wasm,
          data: opened.entries.get(c.file_wasm),
        }));
  const shaP = Promise.all(comps.map((c) => (c.data === undefined ? Promise.resolve(null) : sha256HexAsync(c.data))));

  const sbom = checkSbom(opened.entries);
  const problems = [...sbom.problems];
  if (opened.manifest !== undefined) problems.push(...checkComponentManifests(opened.manifest, opened.entries));
  for (const c of comps) {
    if (c.data !== undefined) continue;
    const remote = opened.manifest === undefined ? undefined : componentSourceOf(opened.manifest, c.id);
    const message =
      remote !== undefined && remote.wasmPath === null
        ? `component "${c.id}" is a remote artifact (${remote.source ?? 'no source'}) that this runner cannot fetch; bundle its wasm in the pack`
        : `component "${c.id}" has no wasm in the archive`;
    problems.push({ code: 'component-wasm-missing', path: c.path, message });
  }
  const signatures = opened.manifest !== undefined ? checkSignatures(opened.manifest, opts.trustedKeys ?? []) : [];

  const errors: string[] = [];
  const warnings: string[] = [];
  const complain = (msg: string): void => {
    (opts.policy === 'strict' ? errors : warnings).push(msg);
  };
  for (const p of problems) complain(`${p.code}: ${p.path}: ${p.message}`);
  if (opened.format === 'legacy') {
    complain('legacy-format pack: its signatures/pack.sig envelope is not verified by this runner');
  } else if (signatures.length === 0) {
    complain('the pack is unsigned');
  } else if (!signatures.some((s) => s.status === 'valid')) {
    const trusted = opts.trustedKeys?.length ?? 0;
    complain(
      trusted === 0
        ? 'no trusted keys are configured, so no signature can be verified'
        : `no signature verifies with a trusted key (${signatures.map((s) => `${s.key_id}: ${s.status}`).join(', ')})`,
    );
  }

  const [digest, shas] = await Promise.all([digestP, shaP]);
  // A component whose bytes do not match the digest its source entry pins cannot load upstream,
  // whatever the trust policy: it is an error under `dev` too.
  if (opened.manifest !== undefined) {
    for (const p of checkComponentSources(opened.manifest, comps, shas)) {
      problems.push(p);
      errors.push(`${p.code}: ${p.path}: ${p.message}`);
    }
  }
  // The lock check needs the component SHA-256s, so it reports after the other integrity checks.
  for (const p of checkLock(
    opened.entries,
    comps.map((c, i) => ({ id: c.id, path: c.path, sha256: shas[i] ?? null })),
  )) {
    problems.push(p);
    complain(`${p.code}: ${p.path}: ${p.message}`);
  }
  return {
    ...baseReport(opened, bytes, opts.policy),
    ok: errors.length === 0,
    digest: `sha256:${digest}`,
    components: comps.map((c, i) => ({
      id: c.id,
      version: c.version,
      world: c.world,
      path: c.path,
      sha256: shas[i] ?? null,
      size: c.data?.length ?? null,
    })),
    sbom: { status: sbom.status, source: sbom.source, files: sbom.files, problems },
    signatures,
    errors,
    warnings,
  };
}
