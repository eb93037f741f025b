// A worker process of the embedded sweep pool (src/engine/sweeps/pool.ts), forked by `sbn sweep --jobs N`: starts the
// backend once, then runs the jobs the pool sends over IPC one at a time and reports how each ended. It follows the
// pool's stop, not the terminal's Ctrl-C; when the pool goes away (killed), it stops its job with a checkpoint and
// exits. Arguments: [--backend <name>].
import { initBackend } from '../engine/backend';
import { runSweepJob, type SweepJobOutcome } from '../engine/sweeps/executor';
import type { PoolReply, PoolRequest } from '../engine/sweeps/pool';
import { checkpointSeconds, versions } from './commands/train';

function reply(m: PoolReply): void {
  if (process.connected) process.send?.(m);
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--backend');
  const preference = i >= 0 ? process.argv[i + 1] : undefined;
  // the pool decides when to stop: a Ctrl-C reaches the whole process group, the pool passes it on as a stop
  process.on('SIGINT', () => undefined);
  let current: AbortController | undefined;
  let quitting = false;
  const quit = (): void => {
    quitting = true;
    if (current) current.abort();
    else process.exit(0);
  };
  process.on('SIGTERM', quit);
  process.on('disconnect', quit);

  let env;
  let every: number;
  try {
    const backend = await initBackend(preference);
    env = { backend: backend.name, backendDetail: backend.detail, versions: versions() };
    every = checkpointSeconds();
  } catch (e) {
    reply({ type: 'fatal', message: `--backend: ${(e as Error).message}` });
    process.exit(2);
  }
  const jobs: PoolRequest[] = [];
  let busy = false;
  const work = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    for (let m = jobs.shift(); m; m = jobs.shift()) {
      if (m.type === 'stop' || quitting) {
        process.disconnect?.();
        process.exit(0);
      }
      current = new AbortController();
      const { job } = m;
      let outcome: SweepJobOutcome;
      try {
        outcome = await runSweepJob(job, {
          env,
          signal: current.signal,
          checkpointSeconds: every,
          onProgress: (progress) => reply({ type: 'progress', pointId: job.pointId, progress }),
        });
      } catch (e) {
        outcome = { status: 'failed', reason: (e as Error).message };
      }
      current = undefined;
      reply({ type: 'done', pointId: job.pointId, outcome });
      if (quitting) process.exit(0);
    }
    busy = false;
  };
  process.on('message', (m: PoolRequest) => {
    if (m.type === 'stop' && current) {
      current.abort();
      return;
    }
    jobs.push(m);
    void work();
  });
  reply({ type: 'ready' });
}

void main();
