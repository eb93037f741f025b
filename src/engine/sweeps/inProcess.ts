// The executor without workers: the jobs run one after another in this process, on its backend (`--jobs 1` of a
// training suite's further seeds). Same contract as the pool: a job the environment failed is run again up to
// maxAttempts times, and the signal stops the running job with a checkpoint (reported `waiting`).
import type { Environment } from '../train/session';
import { runSweepJob, workerName, type SweepExecutor, type SweepExecutorHooks, type SweepJob } from './executor';
import { POOL_MAX_ATTEMPTS } from './pool';

export class InProcessExecutor implements SweepExecutor {
  constructor(
    private readonly env: Environment,
    private readonly o: { checkpointSeconds?: number; maxAttempts?: number } = {},
  ) {}

  async run(jobs: SweepJob[], hooks: SweepExecutorHooks, signal: AbortSignal): Promise<void> {
    const maxAttempts = this.o.maxAttempts ?? POOL_MAX_ATTEMPTS;
    const worker = workerName();
    for (const job of jobs) {
      for (let attempt = 1; ; attempt++) {
        if (signal.aborted) return;
        hooks.onStatus(job.pointId, 'running', { worker, attempt });
        const out = await runSweepJob(job, {
          env: this.env,
          signal,
          checkpointSeconds: this.o.checkpointSeconds,
          onProgress: hooks.onProgress && ((p) => hooks.onProgress?.(job.pointId, p)),
        });
        if (out.status === 'finished') hooks.onStatus(job.pointId, 'finished', { worker, metrics: out.metrics });
        else if (out.status === 'failed') hooks.onStatus(job.pointId, 'failed', { worker, reason: out.reason });
        else if (out.status === 'stopped') hooks.onStatus(job.pointId, 'waiting', { reason: `stopped: ${out.reason}` });
        else if (attempt < maxAttempts) {
          hooks.onStatus(job.pointId, 'waiting', { reason: `${out.reason}; retrying` });
          continue;
        } else hooks.onStatus(job.pointId, 'waiting', { reason: `${out.reason}; gave up after ${attempt} attempts` });
        break;
      }
    }
  }
}
