import { CodedError } from '../../core/coded-error.js';

export type NodeHostErrorCode = 'WasmUnreadable' | 'WasmInvalid' | 'NotAComponent' | 'UnsupportedAbi' | 'Trap' | 'ManifestInvalid';

/** A failure of the Node component host; the message starts with its code, as the CLI prints it. */
export class NodeHostError extends CodedError<NodeHostErrorCode> {
  constructor(code: NodeHostErrorCode, message: string) {
    super(code, `${code}: ${message}`);
  }
}
