// Errors the user can act on: printed as one line (file, field, what was expected), exit code 2.
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}

/** `file: field: message`, leaving out the parts that are empty. */
export function fieldError(file: string, field: string, message: string): CliError {
  return new CliError([file, field, message].filter((s) => s !== '').join(': '));
}
