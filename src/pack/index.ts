// The pack layer's public surface: reading, verifying, building and signing `.gtpack` archives.

export type { BuildOptions, BuildResult } from './builder.js';
export { buildPack } from './builder.js';
export type { DecodeOptions, EncodeOptions } from './cbor.js';
export { CborError, CborFloat, CborTagged, decodeCbor, encodeCanonicalCbor, encodeCbor, isCanonicalCbor } from './cbor.js';
export type { ComponentSource } from './component-sources.js';
export { COMPONENT_SOURCES_EXTENSION, componentSources, componentWasmPath, packComponentIds } from './component-sources.js';
export { blake3Hex, sha256Digest, sha256Hex, sha256HexAsync } from './digest.js';
export type { PackErrorCode } from './errors.js';
export { PackError } from './errors.js';
export { keyId, parsePrivateKeyPem, parsePublicKey, parseTrustedKeys, privateKeyToPem, publicKeyToPem } from './keys.js';
export type { PackLock, PackLockComponent } from './lock.js';
export { decodePackLock, encodePackLock } from './lock.js';
export { componentManifestFromValue, decodePackManifest } from './manifest-decode.js';
export { buildSymbolTables, encodeComponentManifest, encodePackManifest, manifestSigningBytes } from './manifest-encode.js';
export type {
  ComponentManifest,
  ExtensionRef,
  PackDependency,
  PackFlowEntry,
  PackKind,
  PackManifest,
  Signature,
} from './manifest-types.js';
export type { PackYaml } from './pack-yaml.js';
export { packYamlSchema } from './pack-yaml.js';
export type { LegacyManifest, OpenedPack, OpenOptions } from './reader.js';
export { openPack } from './reader.js';
export type { SbomEntry } from './sbom.js';
export { decodeSbom, encodeSbom, mediaTypeFor, SBOM_FORMAT } from './sbom.js';
export type { KeyPair, SignatureCheck, SignatureStatus } from './signing.js';
export { checkSignatures, generateKeyPair, publicKeyFromSeed, signManifest, verifyEd25519Strict } from './signing.js';
export type { IntegrityProblem, IntegrityProblemCode, PackReport, TrustPolicy, VerifyOptions } from './verify.js';
export { verifyPack } from './verify.js';
export { signPackArchive } from './writer.js';
export type { ZipEntry, ZipLimits, ZipWriteEntry } from './zip.js';
export { DEFAULT_ZIP_LIMITS, readZip, writeZip } from './zip.js';
