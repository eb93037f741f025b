// `sbn worker --queue URL [--concurrency K]`: takes sweep points from the BullMQ queue in Redis until stopped and
// trains each (docs/sweeps.md, several machines). Ctrl-C / SIGTERM: running points checkpoint and go back to the
// queue, then the worker exits. With K > 1 it runs K worker processes (one training each, like the embedded pool).
import { fork, type ChildProcess } from 'node:child_process';
import {
  checkQueueReachable,
  parseQueueUrl,
  queueSettings,
  runQueueWorker,
  urlWithoutPassword,
  QueueConfigError,
  REDIS_PASSWORD_ENV,
} from '../../engine/sweeps/queue';
import { startBackend } from '../backend';
import { CliError } from '../errors';
import { parsePositiveInt } from '../inputs';
import { log } from '../log';
import { listenForStop } from '../stopSignal';
import { checkpointSeconds, versions } from './train';

export interface WorkerCliOptions {
  queue: string;
  concurrency: string;
  backend?: string;
}

/** More processes than this on one machine is a typing mistake rather than a plan. */
const MAX_WORKER_CONCURRENCY = 256;

export async function workerCommand(o: WorkerCliOptions): Promise<void> {
  const stop = listenForStop('second Ctrl-C: exiting at once; the running points resume from their last checkpoint');
  try {
    let connection;
    let settings;
    try {
      connection = parseQueueUrl(o.queue, '--queue');
      settings = queueSettings();
    } catch (e) {
      if (e instanceof QueueConfigError) throw new CliError(e.message);
      throw e;
    }
    const concurrency = parsePositiveInt(o.concurrency, '--concurrency', MAX_WORKER_CONCURRENCY);
    const checkpointEvery = checkpointSeconds();
    if (concurrency > 1) {
      await superviseWorkers(o, concurrency, urlWithoutPassword(connection), connection.password, () =>
        stop.requested(),
      );
      return;
    }
    try {
      await checkQueueReachable(connection);
    } catch (e) {
      if (e instanceof QueueConfigError) throw new CliError(e.message);
      throw e;
    }
    const backend = await startBackend(o.backend);
    const controller = new AbortController();
    // the stop signal is polled (it has no callback); a quarter second is well within the checkpoint's second
    const poll = setInterval(() => {
      if (stop.requested()) controller.abort();
    }, 250);
    // a worker started by `--concurrency K` stops when the process that started it goes away
    const orphaned = () => controller.abort();
    process.once('disconnect', orphaned);
    try {
      const summary = await runQueueWorker({
        connection,
        settings,
        env: { backend: backend.name, backendDetail: backend.detail, versions: versions() },
        checkpointSeconds: checkpointEvery,
        signal: controller.signal,
        log,
      });
      log(
        `worker stopped: ${summary.finished} point(s) finished, ${summary.failed} failed, ` +
          `${summary.requeued} given back to the queue`,
      );
    } catch (e) {
      if (e instanceof QueueConfigError) throw new CliError(e.message);
      throw e;
    } finally {
      clearInterval(poll);
      process.off('disconnect', orphaned);
      // the channel to the process that started this one would keep this process alive
      if (process.connected) process.disconnect();
    }
  } finally {
    stop.dispose();
  }
}

/**
 * K worker processes, each `sbn worker --concurrency 1`: one training per process, as the embedded pool does. The
 * password goes to them in the environment, never on their command line. A stop is passed on once to each.
 */
async function superviseWorkers(
  o: WorkerCliOptions,
  concurrency: number,
  url: string,
  password: string | undefined,
  stopRequested: () => boolean,
): Promise<void> {
  const script = process.argv[1];
  const args = ['worker', '--queue', url, '--concurrency', '1', ...(o.backend ? ['--backend', o.backend] : [])];
  const env = { ...process.env, ...(password !== undefined ? { [REDIS_PASSWORD_ENV]: password } : {}) };
  const children: ChildProcess[] = [];
  const exits: Promise<number>[] = [];
  for (let i = 0; i < concurrency; i++) {
    // a process group of its own: a Ctrl-C in the terminal reaches only this process, which passes it on once
    const child = fork(script, args, { env, stdio: 'inherit', detached: true });
    children.push(child);
    exits.push(new Promise((resolve) => child.on('exit', (code, sig) => resolve(code ?? (sig ? 1 : 0)))));
  }
  let forwarded = false;
  const poll = setInterval(() => {
    if (!stopRequested() || forwarded) return;
    forwarded = true;
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  }, 250);
  try {
    const codes = await Promise.all(exits);
    const bad = codes.filter((c) => c !== 0);
    if (bad.length)
      throw new CliError(`${bad.length} of ${concurrency} worker processes exited with an error (see above)`, 1);
  } finally {
    clearInterval(poll);
  }
}
