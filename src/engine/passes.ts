// Long computations (an evaluation pass, a gradient-diagnostics pass) written once as generators that yield at
// batch boundaries: `runToEnd` drives one synchronously (the CLI's `sbn eval`, the extension's comparisons), and
// `runInterruptible` lets the event loop deliver a Stop (IPC message, Ctrl-C) between batches and abandons the pass
// when one arrives, so training can stop within about a second at any moment.

/** A computation that yields (nothing) between batches and returns its result. */
export type Pass<T> = Generator<void, T, void>;

/** Thrown by `runInterruptible` when a stop was requested between two batches of a pass. */
export class StopRequested extends Error {
  constructor() {
    super('stop requested');
  }
}

/** Let IPC messages, timers and signals (Stop, Ctrl-C) be handled. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Run a pass to its end without yielding to the event loop. */
export function runToEnd<T>(pass: Pass<T>): T {
  for (;;) {
    const r = pass.next();
    if (r.done) return r.value;
  }
}

/**
 * Run a pass, yielding to the event loop at every batch boundary; when `shouldStop` says so, end the pass (its
 * `finally` blocks run: tensors are released) and throw StopRequested.
 */
export async function runInterruptible<T>(pass: Pass<T>, shouldStop?: () => boolean): Promise<T> {
  for (;;) {
    const r = pass.next();
    if (r.done) return r.value;
    await yieldToEventLoop();
    if (shouldStop?.()) {
      pass.return(undefined as never);
      throw new StopRequested();
    }
  }
}
