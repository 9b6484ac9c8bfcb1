// The pack layer's public surface: reading, verifying, building and signing `.gtpack` archives.
export { CborError, CborFloat, CborTagged, decodeCbor, encodeCanonicalCbor, encodeCbor, isCanonicalCbor } from './cbor.js';
export type { DecodeOptions, EncodeOptions } from './cbor.js';
export { blake3Hex, sha256Digest, sha256Hex, sha256HexAsync } from './digest.js';
export { PackError } from './errors.js';
export type { PackErrorCode } from './errors.js';
export {
  buildSymbolTables,
  componentManifestFromValue,
  decodePackManifest,
  encodeComponentManifest,
  encodePackManifest,
  manifestSigningBytes,
} from './manifest.js';
export type { ComponentManifest, ExtensionRef, PackDependency, PackFlowEntry, PackKind, PackManifest, Signature } from './manifest.js';
export { decodePackLock, encodePackLock } from './lock.js';
export type { PackLock, PackLockComponent } from './lock.js';
export { openPack } from './reader.js';
export type { LegacyManifest, OpenedPack, OpenOptions } from './reader.js';
export { decodeSbom, encodeSbom, mediaTypeFor, SBOM_FORMAT } from './sbom.js';
export type { SbomEntry } from './sbom.js';
export { keyId, parsePrivateKeyPem, parsePublicKey, parseTrustedKeys, privateKeyToPem, publicKeyToPem } from './keys.js';
export { checkSignatures, generateKeyPair, publicKeyFromSeed, signManifest, verifyEd25519Strict } from './signing.js';
export type { KeyPair, SignatureCheck, SignatureStatus } from './signing.js';
export { componentWasmPath, verifyPack } from './verify.js';
export type { IntegrityProblem, IntegrityProblemCode, PackReport, TrustPolicy, VerifyOptions } from './verify.js';
export { buildPack, packYamlSchema, signPackArchive } from './builder.js';
export type { BuildOptions, BuildResult, PackYaml } from './builder.js';
export { DEFAULT_ZIP_LIMITS, readZip, writeZip } from './zip.js';
export type { ZipEntry, ZipLimits, ZipWriteEntry } from './zip.js';
