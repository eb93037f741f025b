// Worker processes: spawn → progress → cancel → kill on dispose (the shape of vscode-python's TensorBoard
// session). Each job runs in its own Node process forked with the extension host's executable and
// ELECTRON_RUN_AS_NODE, so training never blocks the extension host. Stop asks the worker to checkpoint
// and exit, then kills it after a grace period; a crash is reported with its reason and leaves a run
// folder that can be resumed.
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isWorkerEvent, type WorkerEvent, type WorkerRequest } from '../protocol';
import { releaseAbandonedRun } from '../engine/runs';
import { describeResume } from '../engine/train/recovery';
import { extensionMessage } from './environment';
import { STEP_RATE_WINDOW, type StepTime } from '../engine/runs/progress';

export type JobKind = WorkerRequest['type'];

/**
 * Jobs that Stop ends at once, with no grace period: their worker has nothing to save (a model preview computes
 * statistics in one synchronous pass, so it could not read a `stop` before it is done, and a stopped preview's
 * result is no longer wanted).
 */
const STOPPED_AT_ONCE: ReadonlySet<JobKind> = new Set<JobKind>(['preview']);

export interface Job {
  readonly id: number;
  readonly kind: Exclude<JobKind, 'stop'>;
  readonly label: string;
  runDir?: string;
  backend?: string;
  estimator?: string;
  lastStep?: Extract<WorkerEvent, { type: 'step' }>;
  /** The latest step events, seconds since `startedAt`: the job's step rate (engine/runs/progress.ts). */
  stepTimes: StepTime[];
  lastEval?: Extract<WorkerEvent, { type: 'eval' }>;
  startedAt: number;
  /** Resolves when the worker has exited, with its last `done` or `error` event (or a crash description). */
  readonly finished: Promise<Extract<WorkerEvent, { type: 'done' | 'error' }>>;
  /**
   * Ask the worker to checkpoint and exit, and kill it if it has not within the grace period (`sbn.stopGracePeriod`);
   * a job in STOPPED_AT_ONCE is killed now. False when the worker was already gone or stopping.
   */
  stop(): boolean;
}

export class RunManager implements vscode.Disposable {
  private readonly jobs = new Map<number, { job: Job; child: ChildProcess }>();
  private nextId = 1;
  private readonly changed = new vscode.EventEmitter<{ job: Job; event?: WorkerEvent }>();
  /** Every event of every job, and job starts/ends. */
  readonly onDidChange = this.changed.event;

  /** `workerEnv` adds to each new worker's environment (read at every fork: the native set-up's folder). */
  constructor(
    private readonly workerPath: string,
    private readonly log: vscode.LogOutputChannel,
    private readonly graceMs: () => number,
    private readonly workerEnv: () => NodeJS.ProcessEnv = () => ({}),
  ) {}

  get active(): Job[] {
    return [...this.jobs.values()].map((j) => j.job);
  }

  activeTraining(): Job[] {
    return this.active.filter((j) => j.kind === 'train' || j.kind === 'resume');
  }

  start(request: Exclude<WorkerRequest, { type: 'stop' }>, label: string): Job {
    const id = this.nextId++;
    const child = fork(this.workerPath, [], {
      execPath: process.execPath,
      env: { ...process.env, ...this.workerEnv(), ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      cwd: path.dirname(this.workerPath),
    });
    let stderrTail = '';
    child.stderr?.on('data', (d: Buffer) => {
      const text = d.toString();
      stderrTail = (stderrTail + text).slice(-4000);
      for (const line of text.split('\n')) if (line.trim()) this.log.debug(`[worker ${id}] ${line}`);
    });
    child.stdout?.on('data', (d: Buffer) => this.log.trace(`[worker ${id}] ${d.toString().trimEnd()}`));
    let last: Extract<WorkerEvent, { type: 'done' | 'error' }> | undefined;
    let stopTimer: NodeJS.Timeout | undefined;
    let stopping = false;
    let killedAfterGrace = false;
    let resolveFinished!: (e: Extract<WorkerEvent, { type: 'done' | 'error' }>) => void;
    const finished = new Promise<Extract<WorkerEvent, { type: 'done' | 'error' }>>((r) => {
      resolveFinished = r;
    });
    const job: Job = {
      id,
      kind: request.type,
      label,
      startedAt: Date.now(),
      stepTimes: [],
      finished,
      // a sweep job's runDir is its sweep folder (known before its worker starts: the host made it)
      runDir:
        request.type === 'resume' || request.type === 'evaluate'
          ? request.runDir
          : request.type === 'sweep'
            ? request.sweepDir
            : undefined,
      stop: () => {
        if (!child.connected || stopping) return false;
        stopping = true;
        this.log.info(`stopping ${label}`);
        if (STOPPED_AT_ONCE.has(request.type)) {
          child.kill('SIGKILL');
          return true;
        }
        child.send({ type: 'stop' } satisfies WorkerRequest);
        stopTimer = setTimeout(() => {
          this.log.warn(`${label} did not stop within ${this.graceMs()} ms; killing the worker`);
          killedAfterGrace = true;
          child.kill('SIGKILL');
        }, this.graceMs());
        return true;
      },
    };
    child.on('message', (m: unknown) => {
      if (!isWorkerEvent(m)) return;
      switch (m.type) {
        case 'started':
          job.runDir = m.runDir ?? job.runDir;
          job.backend = m.backend;
          job.estimator = m.estimator;
          this.log.info(`${label}: ${m.description} (backend ${m.backend})${m.runDir ? ` → ${m.runDir}` : ''}`);
          break;
        case 'step':
          job.lastStep = m;
          job.stepTimes.push({ step: m.step, seconds: (Date.now() - job.startedAt) / 1000 });
          if (job.stepTimes.length > STEP_RATE_WINDOW) job.stepTimes.shift();
          break;
        case 'eval':
          job.lastEval = m;
          this.log.info(
            `${label}: ${m.split} epoch ${m.epoch.toFixed(2)} ` +
              `u_loss ${m.u_loss.toFixed(4)} acc_e ${(100 * m.acc_e).toFixed(2)}%`,
          );
          break;
        case 'message':
          this.log.info(`${label}: ${extensionMessage(m.text)}`);
          break;
        case 'done':
          last = m;
          this.log.info(`${label}: ${m.status}${m.message ? ` — ${m.message}` : ''}`);
          break;
        case 'error':
          last = m;
          this.log.error(`${label}: ${extensionMessage(m.message)}`);
          break;
        default:
          break;
      }
      this.changed.fire({ job, event: m });
    });
    child.on('exit', (code, signal) => {
      if (stopTimer) clearTimeout(stopTimer);
      this.jobs.delete(id);
      if (!last) {
        const reason = killedAfterGrace
          ? `did not stop within ${this.graceMs() / 1000} s and was killed`
          : signal
            ? `was killed by ${signal}`
            : `exited with code ${code}`;
        const tail = stderrTail.trim().split('\n').slice(-3).join(' | ');
        let resume = '';
        if (job.runDir && (job.kind === 'train' || job.kind === 'resume')) {
          // a killed worker cannot record how its run ended: record it here, free the lock, and say what a resume
          // will do
          resume = describeResume(job.runDir);
          if (child.pid !== undefined)
            releaseAbandonedRun(job.runDir, child.pid, `the training worker ${reason}; ${resume}`);
        }
        last = {
          type: 'error',
          message: `the worker ${reason}${tail ? `: ${tail}` : ''}${resume ? ` — ${resume}` : ''}`,
          userError: false,
        };
        this.log.error(`${label}: ${last.message}`);
      }
      this.changed.fire({ job });
      resolveFinished(last);
    });
    child.on('error', (e) => this.log.error(`${label}: worker error ${e.message}`));
    this.jobs.set(id, { job, child });
    child.send(request);
    this.log.info(`${label}: worker ${child.pid} started`);
    this.changed.fire({ job });
    return job;
  }

  /** The worker process of a job (tests kill it to check crash handling). */
  pidOf(job: Job): number | undefined {
    return this.jobs.get(job.id)?.child.pid;
  }

  dispose(): void {
    // Closing the window stops the workers: ask each to checkpoint, then make sure they end.
    for (const { job, child } of this.jobs.values()) {
      job.stop();
      setTimeout(() => child.kill('SIGKILL'), 3000).unref();
    }
    this.changed.dispose();
  }
}
