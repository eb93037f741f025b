// One point of a sweep as a job any executor can run (the embedded pool on this machine, a queue across machines),
// and the interface of an executor. A job is self-contained: the sweep folder, the point, its run folder and what
// to train; running it twice is harmless — a run folder that exists is resumed from its last checkpoint (exactly as
// `sbn train --resume`, so the run ends bit for bit as if uninterrupted), one that has ended is only read.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readTextFile, TextFileError } from '../files';
import { RunStore, RUN_FILE, readSummary, type RunSummary } from '../runs';
import { MAX_MODEL_FILE_BYTES, modelFileFormat, parseModelText } from '../spec/parse';
import { readJson } from '../spec/readJson';
import { readYaml } from '../spec/readYaml';
import { ConfigError, resumeSession, runSession, startSession, type Environment, type Session } from '../train/session';
import { withOverrides, type FinalMetrics, type PointStatus } from './format';

/** Everything a worker needs to run one point of a sweep. Plain data: it travels to child processes and queues. */
export interface SweepJob {
  /** The sweep folder (absolute, on storage every worker sees). */
  sweepDir: string;
  pointId: string;
  /** sweepJobId(sweep id, point id): the same point of the same sweep always has the same job id. */
  jobId: string;
  /** The point's run folder (absolute). */
  runDir: string;
  /** The model file the point starts from (absolute). */
  modelFile: string;
  /** Dotted model-file fields set for this point (the sweep's overrides and the point's grid values). */
  overrides: Record<string, unknown>;
  /** train.seed of the run. */
  seed: number;
}

/** The job id of a point: derived from the sweep's id and the point's (no `:`, which queues reserve). */
export function sweepJobId(sweepId: string, pointId: string): string {
  return `sbn-sweep-${sweepId}-${pointId}`;
}

/** `<hostname>:<pid>`: who runs a job, as sweep.json records it. */
export function workerName(pid = process.pid): string {
  return `${os.hostname()}:${pid}`;
}

export interface SweepJobProgress {
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number;
}

/**
 * How a job ended. `failed`: the point's own fault (bad overrides, a configuration the model cannot train, NaN):
 * final, never retried. `retry`: the environment's (a file-system error, the run folder locked by a live process):
 * run the job again. `stopped`: the signal stopped it; its run folder continues where it stopped.
 */
export type SweepJobOutcome =
  | { status: 'finished'; metrics: FinalMetrics; note: string }
  | { status: 'failed'; reason: string }
  | { status: 'retry'; reason: string }
  | { status: 'stopped'; reason: string };

export interface RunSweepJobOptions {
  /** Aborting it stops the training cleanly with a checkpoint (within about a second). */
  signal?: AbortSignal;
  onProgress?: (p: SweepJobProgress) => void;
  /** The backend this process runs on, and its versions (environment.json of a new run). */
  env: Environment;
  /** How often a mid-epoch checkpoint is written (seconds); default the trainer's. */
  checkpointSeconds?: number;
}

/** The final metrics of a run's summary: `validation.u_loss` … (null where the value was not finite). */
export function finalMetrics(summary: Pick<RunSummary, 'last'> | null | undefined): FinalMetrics {
  const out: FinalMetrics = {};
  const last = (summary?.last ?? {}) as Record<string, Record<string, unknown> | undefined>;
  for (const [split, e] of Object.entries(last)) {
    if (!e) continue;
    for (const [metric, value] of Object.entries(e)) {
      if (metric === 'epoch') continue;
      out[`${split}.${metric}`] = typeof value === 'number' && Number.isFinite(value) ? value : null;
    }
  }
  return out;
}

/** File-system error codes that say the environment failed, not the point. */
const ENVIRONMENT_CODES = new Set([
  'ENOSPC',
  'EIO',
  'EROFS',
  'EACCES',
  'EPERM',
  'EMFILE',
  'ENFILE',
  'ESTALE',
  'EBUSY',
  'EAGAIN',
  'ENOMEM',
  'EDQUOT',
  'ENOENT',
]);

/** The model file of a point: the job's model file with its overrides and seed, checked as a model file. */
export function pointModel(
  job: Pick<SweepJob, 'modelFile' | 'overrides' | 'seed'>,
): { text: string } & ReturnType<typeof parseModelText> {
  let source: string;
  try {
    source = readTextFile(job.modelFile, MAX_MODEL_FILE_BYTES);
  } catch (e) {
    if (e instanceof TextFileError) throw Object.assign(new Error(e.message), { code: 'ENOENT' });
    throw e;
  }
  const read = modelFileFormat(job.modelFile, source) === 'json' ? readJson(source) : readYaml(source);
  const value = withOverrides(read.value ?? {}, { ...job.overrides, 'train.seed': job.seed });
  const text = JSON.stringify(value, null, 2) + '\n';
  return { text, ...parseModelText(text, job.modelFile) };
}

/**
 * Trains the point's run folder, or resumes it from its newest valid checkpoint when it exists; a run that already
 * ended is only read. Never throws for the point's or the environment's faults: the outcome says which it was.
 */
export async function runSweepJob(job: SweepJob, options: RunSweepJobOptions): Promise<SweepJobOutcome> {
  const { signal } = options;
  let session: Session | undefined;
  try {
    if (!fs.existsSync(job.sweepDir))
      return {
        status: 'retry',
        reason:
          `the sweep folder ${job.sweepDir} is not visible from ${os.hostname()} ` +
          '(run folders must be on storage every worker sees)',
      };
    const complete = fs.existsSync(path.join(job.runDir, RUN_FILE));
    if (complete) {
      const ended = endedRun(job.runDir);
      if (ended) return ended;
      session = resumeSession(job.runDir, { backend: options.env.backend });
    } else {
      // a folder without run.json was cut off while it was being made: it holds nothing a resume could use
      fs.rmSync(job.runDir, { recursive: true, force: true });
      const point = pointModel(job);
      if (!point.ok) {
        const first = point.errors[0];
        return { status: 'failed', reason: `${first.path ? `${first.path}: ` : ''}${first.message}` };
      }
      session = startSession(job.modelFile, point.text, point.model, {}, { runDir: job.runDir }, options.env);
    }
    const { result, summary } = await runSession(session, options.env.backend, {
      shouldStop: () => signal?.aborted === true,
      checkpointSeconds: options.checkpointSeconds,
      events: options.onProgress && {
        step: (e) => options.onProgress?.({ step: e.step, totalSteps: e.totalSteps, epoch: e.epoch, loss: e.loss }),
      },
    });
    if (result.status === 'stopped')
      return { status: 'stopped', reason: result.message ?? `stopped at step ${result.step}` };
    if (result.status === 'diverged') return { status: 'failed', reason: result.message ?? 'training diverged' };
    return { status: 'finished', metrics: finalMetrics(summary), note: `${result.step} steps, ${result.epoch} epochs` };
  } catch (e) {
    if (session?.store.isOpen) session.store.close();
    return classify(e);
  }
}

/** A run that has ended (finished or diverged): its outcome from summary.json, without training. */
function endedRun(runDir: string): SweepJobOutcome | undefined {
  let status: string;
  try {
    status = RunStore.status(runDir).status;
  } catch {
    return undefined;
  }
  if (status !== 'finished' && status !== 'diverged') return undefined;
  const summary = readSummary(runDir);
  if (status === 'diverged') return { status: 'failed', reason: summary?.message ?? 'training diverged' };
  if (!summary) return undefined;
  return {
    status: 'finished',
    metrics: finalMetrics(summary as RunSummary),
    note: `${summary.steps ?? 0} steps (already finished)`,
  };
}

function classify(e: unknown): SweepJobOutcome {
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof ConfigError) return { status: 'failed', reason: message };
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (typeof code === 'string' && ENVIRONMENT_CODES.has(code)) return { status: 'retry', reason: message };
  // the run folder is held by another live writer (a worker that has not yet noticed it lost the job)
  if (/is being (written|opened) by/.test(message)) return { status: 'retry', reason: message };
  return { status: 'failed', reason: message };
}

/** What an executor tells the sweep about a job as it goes. */
export interface SweepStatusDetail {
  /** `<hostname>:<pid>` of the worker that runs or ran it. */
  worker?: string;
  /** Why it failed, or why it waits again. */
  reason?: string;
  metrics?: FinalMetrics;
  /** With `running`: how many times a worker has taken it, this time included. */
  attempt?: number;
}

export interface SweepExecutorHooks {
  /**
   * A job's point changed status: `running` (a worker took it), `finished` (with metrics), `failed` (the point's
   * own fault, with the reason), `waiting` (put back: its worker died or the sweep was stopped; with the reason).
   */
  onStatus(pointId: string, status: PointStatus, detail: SweepStatusDetail): void;
  onProgress?(pointId: string, progress: SweepJobProgress): void;
}

/**
 * Runs the jobs of a sweep to their end. Resolves when every job has finished or failed, or — once `signal` is
 * aborted — when every running job has stopped cleanly (those are reported `waiting`: a resume continues them).
 * Rejects only when the executor itself cannot work (no worker can start).
 */
export interface SweepExecutor {
  run(jobs: SweepJob[], hooks: SweepExecutorHooks, signal: AbortSignal): Promise<void>;
}
