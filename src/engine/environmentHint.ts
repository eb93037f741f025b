// Every "cannot" message of the engine (a backend that cannot load, a data set that is missing, kernels that are
// missing) ends with this marker, so that the user is pointed to the one report that explains the machine. The
// engine stays neutral; the CLI phrases it as `sbn doctor` (src/cli/errors.ts) and the extension as
// SBN: Show Environment (src/extension/environment.ts).
export const ENVIRONMENT_HINT = 'see the environment report';

/** `message` followed by the marker (once). */
export function withEnvironmentHint(message: string): string {
  return message.includes(ENVIRONMENT_HINT) ? message : `${message}; ${ENVIRONMENT_HINT}`;
}

/** The marker replaced by how this front end shows the report, e.g. "run `sbn doctor` for details". */
export function phraseEnvironmentHint(message: string, phrase: string): string {
  return message.split(ENVIRONMENT_HINT).join(phrase);
}
