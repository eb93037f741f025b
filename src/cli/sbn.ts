// The `sbn` executable (bundled to dist/cli.js, started by bin/sbn.js): runs the CLI on the process's arguments.
// A failure exits at once with its code; success lets the process end by itself (pending output is flushed).
import { BACKEND_PROBE_FLAG, runBackendProbe } from '../engine/doctor';
import { runCli } from './main';

if (process.argv[2] === BACKEND_PROBE_FLAG) {
  // a child process of `sbn doctor` that only initialises one backend (src/engine/doctor.ts)
  void runBackendProbe(process.argv[3]);
} else {
  void runCli(process.argv.slice(2)).then((code) => {
    if (code !== 0) process.exit(code);
  });
}
