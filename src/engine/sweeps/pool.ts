// The embedded pool: N worker processes on this machine (no server), each running one job at a time. A worker that
// dies mid-job (killed, out of memory) is replaced and its job is run again — the run folder continues from its
// last checkpoint. A stop (the signal) asks every worker to stop its job cleanly with a checkpoint, then waits for
// them: the jobs go back to `waiting` and a resume continues them.
import { fork, type ChildProcess } from 'node:child_process';
import {
  workerName,
  type SweepExecutor,
  type SweepExecutorHooks,
  type SweepJob,
  type SweepJobOutcome,
} from './executor';
import type { SweepJobProgress } from './executor';

/** Parent → worker. */
export type PoolRequest = { type: 'run'; job: SweepJob } | { type: 'stop' };
/** Worker → parent. */
export type PoolReply =
  | { type: 'ready' }
  | { type: 'progress'; pointId: string; progress: SweepJobProgress }
  | { type: 'done'; pointId: string; outcome: SweepJobOutcome }
  | { type: 'fatal'; message: string };

export interface EmbeddedPoolOptions {
  /** Worker processes (≥ 1). */
  jobs: number;
  /** The worker entry script (dist/sweepWorker.js) and its arguments. */
  workerEntry: string;
  workerArgs?: string[];
  /** Runs of a job (a worker died, or an environment fault) before the pool leaves it waiting for a resume. */
  maxAttempts?: number;
  /** Environment of the workers (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

export class PoolError extends Error {}

/** Default maxAttempts: a job whose worker dies three times in a row is left for `sbn sweep --resume`. */
export const POOL_MAX_ATTEMPTS = 3;

interface Worker {
  child: ChildProcess;
  name: string;
  ready: boolean;
  job?: SweepJob;
  /** The worker said how its job ended (stopped included): its exit is not a death. */
  exited: boolean;
}

export class EmbeddedPool implements SweepExecutor {
  constructor(private readonly o: EmbeddedPoolOptions) {
    if (!Number.isSafeInteger(o.jobs) || o.jobs < 1)
      throw new PoolError(`--jobs: expected an integer ≥ 1, got ${o.jobs}`);
  }

  run(jobs: SweepJob[], hooks: SweepExecutorHooks, signal: AbortSignal): Promise<void> {
    const queue = [...jobs];
    const attempts = new Map<string, number>();
    const workers = new Set<Worker>();
    const maxAttempts = this.o.maxAttempts ?? POOL_MAX_ATTEMPTS;
    let startFailures = 0;
    let everReady = false;
    let fatal: string | undefined;
    let outstanding = jobs.length;

    return new Promise<void>((resolve, reject) => {
      const finishIfDone = (): void => {
        if (workers.size > 0) return;
        if (fatal && !everReady) reject(new PoolError(fatal));
        else resolve();
      };
      const stopAll = (): void => {
        for (const w of workers) send(w, { type: 'stop' });
      };
      signal.addEventListener('abort', stopAll, { once: true });

      const send = (w: Worker, m: PoolRequest): void => {
        if (w.child.connected) w.child.send(m, () => undefined);
      };

      const next = (w: Worker): void => {
        if (signal.aborted || queue.length === 0) {
          send(w, { type: 'stop' });
          return;
        }
        const job = queue.shift()!;
        const attempt = (attempts.get(job.pointId) ?? 0) + 1;
        attempts.set(job.pointId, attempt);
        w.job = job;
        hooks.onStatus(job.pointId, 'running', { worker: w.name, attempt });
        send(w, { type: 'run', job });
      };

      /** A job that did not end (worker died, environment fault): queue it again, or leave it for a resume. */
      const putBack = (job: SweepJob, reason: string): void => {
        if ((attempts.get(job.pointId) ?? 0) >= maxAttempts || signal.aborted) {
          outstanding--;
          hooks.onStatus(job.pointId, 'waiting', {
            reason: signal.aborted
              ? reason
              : `${reason}; gave up after ${maxAttempts} attempts (sbn sweep --resume runs it again)`,
          });
        } else {
          hooks.onStatus(job.pointId, 'waiting', { reason: `${reason}; retrying` });
          queue.push(job);
        }
      };

      const spawn = (): void => {
        const child = fork(this.o.workerEntry, this.o.workerArgs ?? [], {
          env: this.o.env ?? process.env,
          stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
          // the worker follows the pool's stop, not the terminal's Ctrl-C (which reaches the whole process group)
          detached: false,
        });
        const w: Worker = { child, name: workerName(child.pid), ready: false, exited: false };
        workers.add(w);
        let stderr = '';
        child.stderr?.on('data', (d: Buffer) => {
          stderr = (stderr + d.toString('utf8')).slice(-2000);
        });
        child.on('message', (m: PoolReply) => {
          if (m.type === 'ready') {
            w.ready = true;
            everReady = true;
            next(w);
          } else if (m.type === 'progress') hooks.onProgress?.(m.pointId, m.progress);
          else if (m.type === 'fatal') fatal = m.message;
          else if (m.type === 'done' && w.job && w.job.pointId === m.pointId) {
            const job = w.job;
            w.job = undefined;
            const out = m.outcome;
            if (out.status === 'finished') {
              outstanding--;
              hooks.onStatus(job.pointId, 'finished', { worker: w.name, metrics: out.metrics });
            } else if (out.status === 'failed') {
              outstanding--;
              hooks.onStatus(job.pointId, 'failed', { worker: w.name, reason: out.reason });
            } else if (out.status === 'stopped') {
              outstanding--;
              hooks.onStatus(job.pointId, 'waiting', { worker: w.name, reason: `stopped: ${out.reason}` });
            } else putBack(job, out.reason);
            next(w);
          }
        });
        child.on('exit', (code, sig) => {
          workers.delete(w);
          if (!w.ready && !everReady) {
            startFailures++;
            fatal ??= `a sweep worker could not start (exit ${sig ?? code})${stderr ? `: ${lastLine(stderr)}` : ''}`;
          }
          if (w.job) {
            const how = sig ? `killed by ${sig}` : `exited with code ${code}`;
            putBack(w.job, `worker ${w.name} ${how} during the run`);
          }
          // replace it while there is work (a worker that never started is not retried forever)
          if (!signal.aborted && queue.length > 0 && outstanding > 0 && startFailures < this.o.jobs * 2) spawn();
          finishIfDone();
        });
        child.on('error', (e) => {
          fatal ??= `a sweep worker could not start: ${e.message}`;
        });
      };

      if (jobs.length === 0 || signal.aborted) return resolve();
      for (let i = 0; i < Math.min(this.o.jobs, jobs.length); i++) spawn();
    });
  }
}

function lastLine(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return lines[lines.length - 1] ?? '';
}
