// Problems with what an export was asked to read or write that the user can fix (not a run, a run being trained,
// a checkpoint that cannot be read): the CLI prints them as one line with exit code 2.
export class ExportError extends Error {}

/** Runs `f`; its error becomes an ExportError with the same message (for checks that throw plain Errors). */
export function asExportError<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new ExportError((e as Error).message, { cause: e });
  }
}
