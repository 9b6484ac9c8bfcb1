/**
 * The one error base of the project: every error a caller may act on carries a stable `code`
 * (searchable, asserted by tests, mapped to HTTP statuses and exit codes) beside its message.
 * Subclasses add where the problem is (file position, JSON pointer, byte offset) and decide how
 * the message reads; the base keeps the message exactly as given.
 */
export class CodedError<Code extends string = string> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    // Subclasses that run minified (inside the component isolate) set their name explicitly.
    this.name = new.target.name;
  }
}

/** The message of anything thrown: an Error's own message, anything else as text. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
