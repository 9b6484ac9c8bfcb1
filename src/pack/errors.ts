import { CodedError } from '../core/coded-error.js';

/**
 * Typed failures of the pack layer. `code` is stable (tests, the admin API and the CLI switch on
 * it); `where` names the archive entry, JSON pointer or source file the problem is in.
 */
export type PackErrorCode =
  | 'ZipCorrupt'
  | 'ZipUnsupported'
  | 'UnsafePath'
  | 'DuplicateEntry'
  | 'NotRegularFile'
  | 'EntryTooLarge'
  | 'ArchiveTooLarge'
  | 'CompressionBomb'
  | 'ManifestMissing'
  | 'ManifestDecode'
  | 'ManifestEncode'
  | 'DesignerPack'
  | 'SbomDecode'
  | 'KeyParse'
  | 'SignatureInvalid'
  | 'PackSource'
  | 'FlowCompile';

export class PackError extends CodedError<PackErrorCode> {
  readonly where: string;
  constructor(code: PackErrorCode, message: string, where: string) {
    super(code, `${code}: ${message} (${where})`);
    this.name = 'PackError';
    this.where = where;
  }
}
