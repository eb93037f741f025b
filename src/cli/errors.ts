// Errors the user can act on: printed as one line (file, field, what was expected), exit code 2.
import { phraseEnvironmentHint } from '../engine/environmentHint';

/** How the CLI phrases the engine's pointer to the environment report. */
export const CLI_ENVIRONMENT_HINT = 'run `sbn doctor` for details';

/** A message for the terminal: the engine's neutral pointer to the environment report becomes `sbn doctor`. */
export function cliMessage(message: string): string {
  return phraseEnvironmentHint(message, CLI_ENVIRONMENT_HINT);
}

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}

/** `file: field: message`, leaving out the parts that are empty. */
export function fieldError(file: string, field: string, message: string): CliError {
  return new CliError([file, field, message].filter((s) => s !== '').join(': '));
}

/**
 * Engine errors the user can act on, as one-line CLI errors: an enumeration that is too large (named at the
 * model's `layers`) and a bad numeric setting (RangeError). Anything else is rethrown as it is.
 */
export function asCliError(e: unknown, modelFile: string): never {
  if (e instanceof Error && e.name === 'ExactTooLargeError') throw new CliError(`${modelFile}: layers: ${e.message}`);
  if (e instanceof RangeError) throw new CliError(e.message);
  throw e;
}

/** One line: line breaks and the indentation after them become one space. */
export function oneLine(text: string): string {
  return text.trim().replace(/\s*[\r\n]+\s*/g, ' ');
}

/** What the user can do about a file-system error, by its code. */
const FILE_SYSTEM_ERRORS: Record<string, string> = {
  ENOSPC: 'no space left on the device; free some space and run the command again',
  EDQUOT: 'the disk quota is exhausted; free some space and run the command again',
  EACCES: 'permission denied; choose a folder you can write to (or change its permissions)',
  EPERM: 'operation not permitted; choose a folder you can write to (or change its permissions)',
  EROFS: 'the file system is read-only; choose a folder on a writable disk',
  ENOTDIR: 'a part of the path is a file, not a folder; choose another path',
  EISDIR: 'expected a file, got a folder',
  ENAMETOOLONG: 'the path is too long; choose a shorter one',
  EMFILE: 'too many open files; close other programs or raise the limit (ulimit -n)',
};

/** A Node file-system error whose cause the user can fix (ENOSPC, EACCES, …), with its path when it names one. */
export function fileSystemProblem(e: unknown): { path?: string; code: string; what: string } | undefined {
  const error = e as NodeJS.ErrnoException | null;
  if (!error || typeof error !== 'object' || typeof error.code !== 'string') return undefined;
  const what = FILE_SYSTEM_ERRORS[error.code];
  if (what === undefined) return undefined;
  return typeof error.path === 'string' ? { path: error.path, code: error.code, what } : { code: error.code, what };
}

/**
 * The error as one the user can act on (exit 2), or undefined for an internal error: a CliError as it is, and a
 * file-system error whose cause the user can fix (no space, no permission, a read-only disk; with its path).
 */
export function asUserError(e: unknown): CliError | undefined {
  if (e instanceof CliError) return e;
  const fsProblem = fileSystemProblem(e);
  if (fsProblem)
    return new CliError(
      `${fsProblem.path === undefined ? '' : `${fsProblem.path}: `}${fsProblem.what} (${fsProblem.code})`,
    );
  return undefined;
}
