/**
 * An error caused by the user's input (a file, a flag), as opposed to a bug in otoc.
 * The CLI prints it as one line, `otoc: <file>: <message>`, and exits with `exitCode`.
 */
export class OtocError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'OtocError';
  }

  /** The same error, attributed to `file` unless it already names one. */
  inFile(file: string): OtocError {
    return this.file === undefined ? new OtocError(this.message, file, this.exitCode) : this;
  }
}

/** Runs `make`; an OtocError it throws is about `file` unless it already names another. */
export function attributedTo<T>(file: string, make: () => T): T {
  try {
    return make();
  } catch (e) {
    throw e instanceof OtocError ? e.inFile(file) : e;
  }
}
