import { CodedError } from '../core/coded-error.js';

/** A command line the CLI cannot run: the message and the verb's help go to stderr, exit 2. */
export class UsageError extends CodedError<'Usage'> {
  constructor(message: string) {
    super('Usage', message);
  }
}
