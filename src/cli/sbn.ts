// The `sbn` executable (bundled to dist/cli.js, started by bin/sbn.js): runs the CLI on the process's arguments.
// A failure exits at once with its code; success lets the process end by itself (pending output is flushed).
import { runCli } from './main';

void runCli(process.argv.slice(2)).then((code) => {
  if (code !== 0) process.exit(code);
});
