// Errors the user can act on: printed as one line (file, field, what was expected), exit code 2.
import { phraseEnvironmentHint } from '../engine/environmentHint';

/** How the CLI phrases the engine's pointer to the environment report. */
export const CLI_ENVIRONMENT_HINT = 'run `sbn doctor` for details';

/** A message for the terminal: the engine's neutral pointer to the environment report becomes `sbn doctor`. */
export function cliMessage(message: string): string {
  return phraseEnvironmentHint(message, CLI_ENVIRONMENT_HINT);
}

export class CliError extends Error {
  constructor(message: string, readonly exitCode = 2) {
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
