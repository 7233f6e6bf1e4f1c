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

/**
 * `text` with every control character (C0, DEL, C1) and every Unicode line separator or
 * bidirectional override written as an escape (`\x00`, `\u202e`): messages echo names and
 * paths from the input, which must neither break the one-line format nor drive the terminal.
 */
export function escapeControl(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`;
  });
}
