// Ctrl-C for long commands (`sbn train`, `sbn experiment train`): the first SIGINT/SIGTERM asks the job to stop after
// the current step (it then writes a checkpoint); a second one exits at once.
import { log } from './log';

export interface StopSignal {
  requested(): boolean;
  dispose(): void;
}

export function listenForStop(onSecond: string): StopSignal {
  let stop = false;
  const handler = () => {
    if (stop) { log(onSecond); process.exit(130); }
    stop = true;
    process.stderr.write('\n');
    log('stopping after this step (Ctrl-C again to exit at once)…');
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    requested: () => stop,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
