import { CodedError } from '../../core/coded-error.js';

export type ComponentBuildErrorCode =
  | 'ComponentDirMissing'
  | 'EntryMissing'
  | 'WitMissing'
  | 'WitInvalid'
  | 'WorldAmbiguous'
  | 'ManifestInvalid'
  | 'BundleFailed'
  | 'ComponentizeFailed';

/** A component that does not build; the message starts with its code, as the CLI prints it. */
export class ComponentBuildError extends CodedError<ComponentBuildErrorCode> {
  constructor(code: ComponentBuildErrorCode, message: string) {
    super(code, `${code}: ${message}`);
  }
}
