// Ctrl-C for long commands (`sbn train`, `sbn experiment train`): the first SIGINT/SIGTERM asks the job to stop (it
// checkpoints the current step within about a second and records the run as stopped); a second one exits at once,
// after `onExit` has released what the job holds (the run's status and lock). Install it before the job starts, so
// that a Ctrl-C during start-up (backend, data loading) is a stop too rather than a kill by signal.
import { log } from './log';

export interface StopSignal {
  readonly requested: () => boolean;
  /** Run before exiting on a second Ctrl-C (replaces an earlier one). */
  onExit(release: () => void): void;
  dispose(): void;
}

export function listenForStop(onSecond: string): StopSignal {
  let stop = false;
  let release: (() => void) | undefined;
  const handler = () => {
    if (stop) {
      log(onSecond);
      try {
        release?.();
      } catch (e) {
        log(`could not release the run: ${(e as Error).message}`);
      }
      process.exit(130);
    }
    stop = true;
    process.stderr.write('\n');
    log('stopping: checkpointing the current step (Ctrl-C again to exit at once)…');
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    requested: () => stop,
    onExit: (f) => {
      release = f;
    },
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
