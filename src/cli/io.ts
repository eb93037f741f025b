// Where the CLI writes: results to stdout, logs and errors to stderr. The process streams by default; runCli
// (main.ts) swaps in others for a call, so that the CLI can run in-process (tests, the fuzz test) with its output
// captured.

export interface CliOutput {
  /** Results (JSON, tables). */
  out(text: string): void;
  /** Logs, progress and the one-line error. */
  err(text: string): void;
}

export const processOutput: CliOutput = {
  out: (text) => {
    process.stdout.write(text);
  },
  err: (text) => {
    process.stderr.write(text);
  },
};

let current: CliOutput = processOutput;

export function out(text: string): void {
  current.out(text);
}

export function err(text: string): void {
  current.err(text);
}

/** Runs `f` with the CLI's output going to `output`; the previous output is restored afterwards. */
export async function withOutput<T>(output: CliOutput, f: () => Promise<T>): Promise<T> {
  const previous = current;
  current = output;
  try {
    return await f();
  } finally {
    current = previous;
  }
}
