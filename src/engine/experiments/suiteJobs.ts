// A training suite (trainSuite.ts) as jobs on the sweep executors (src/engine/sweeps/executor.ts): each method's run
// — its learning-rate search, then training at the rate the search chose — is one job, and with `seeds` > 1 every
// further seed of a method (2..N, trained at that method's chosen rate) is one more, started once the method's search
// has ended. Brent's search (docs/math.md §4.5) picks each trial from the ones before it, so the trials of one method
// run in turn inside its job; the methods' searches run side by side. A job's id derives from the suite's id (made
// once, in suite.json) and the method and seed, and its run folder is recorded in suite.json before the job starts:
// a resumed suite re-attaches to the same jobs and run folders, and an ended run is never trained again.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../files';
import { readMetrics, RunStore } from '../runs';
import type { SweepExecutor, SweepJob, SweepStatusDetail } from '../sweeps/executor';
import type { PointStatus } from '../sweeps/format';
import {
  methodModel,
  readSuiteState,
  runPath,
  runSuite,
  testAccuracy,
  updateSuiteState,
  type SuiteOptions,
  type SuiteRunEntry,
  type SuiteState,
} from './trainSuite';

export interface SuiteJobOptions extends SuiteOptions {
  /**
   * Runs the jobs (the embedded pool, a queue). Without one, the methods' runs are trained here one after another
   * exactly as runSuite does, and further seeds by `seedExecutor`.
   */
  executor?: SweepExecutor;
  /** Without `executor`: what runs the further seeds' jobs (an in-process executor). */
  seedExecutor?: SweepExecutor;
  /** Every method is trained with seeds 1..seeds (default 1: the search's run only). */
  seeds?: number;
  /** A job of the suite changed status (as the executor reports it). */
  onJob?: (e: { method: string; seed: number; status: PointStatus; runDir: string; detail: SweepStatusDetail }) => void;
}

/** The job id of a method's run with one seed: derived from the suite's id, so a resume re-attaches to it. */
export function suiteJobId(suiteId: string, method: string, seed: number): string {
  return `sbn-suite-${suiteId}-${method}-seed${seed}`;
}

/** The run folder of a job, relative to the suite folder. */
function jobRunDir(method: string, seed: number): string {
  return path.posix.join('runs', `${method}-seed${seed}`);
}

/** The rate the method's search chose (its `lr-chosen` record), if it has got that far. */
export function chosenRate(runDir: string): number | undefined {
  if (!fs.existsSync(runDir)) return undefined;
  let lr: number | undefined;
  for (const r of readMetrics(runDir, { tolerant: true }).records) if (r.kind === 'lr-chosen') lr = r.lr;
  return lr;
}

interface PlannedJob {
  method: string;
  seed: number;
  job: SweepJob;
}

/** The suite's id, made (under the lock) if suite.json has none yet. */
function suiteId(o: SuiteOptions): string {
  return updateSuiteState(o.dir, o.suite.name, (s) => {
    s.id ??= crypto.randomBytes(6).toString('hex');
  }).id!;
}

/** The model file of a method (models/<method>.sbn.json), written when missing. */
function modelFile(o: SuiteOptions, method: string): string {
  const file = path.join(o.dir, 'models', `${method}.sbn.json`);
  if (!fs.existsSync(file)) writeFileAtomic(file, JSON.stringify(methodModel(o, method), null, 2) + '\n');
  return file;
}

/** The entry of a method's run with `seed` in suite.json (seed 1: the method's own entry). */
function entryOf(state: SuiteState, method: string, seed: number): SuiteRunEntry | undefined {
  const m = state.methods[method];
  return seed === 1 ? m : m?.seeds?.[String(seed)];
}

/**
 * Records the run folder of a job in suite.json (keeping the one already recorded) and returns the job. Seed 1
 * trains the method's model file as it is (with its lr search); a further seed trains it at `lr`.
 */
function planJob(o: SuiteOptions, id: string, method: string, seed: number, lr?: number): PlannedJob {
  const state = updateSuiteState(o.dir, o.suite.name, (s) => {
    const fresh = { runDir: jobRunDir(method, seed) };
    if (seed === 1) s.methods[method] ??= fresh;
    else {
      const m = (s.methods[method] ??= { runDir: jobRunDir(method, 1) });
      m.seeds ??= {};
      m.seeds[String(seed)] ??= fresh;
    }
  });
  const dir = path.resolve(o.dir);
  return {
    method,
    seed,
    job: {
      sweepDir: dir,
      pointId: `${method}-seed${seed}`,
      jobId: suiteJobId(id, method, seed),
      runDir: runPath(dir, entryOf(state, method, seed)!.runDir),
      modelFile: modelFile(o, method),
      overrides: lr === undefined ? {} : { 'train.lr': lr },
      seed,
    },
  };
}

function diverged(runDir: string): boolean {
  try {
    return RunStore.status(runDir).status === 'diverged';
  } catch {
    return false;
  }
}

/** Marks a run done in suite.json with its test accuracy (or its reason, when it could not be trained). */
function finishRun(o: SuiteOptions, method: string, seed: number, status: PointStatus, reason?: string): void {
  const entry = entryOf(readSuiteState(o.dir, o.suite.name), method, seed)!;
  // a run that diverged has ended too: it is evaluated from its last checkpoint, as runSuite does
  const ended = status === 'finished' || diverged(runPath(o.dir, entry.runDir));
  if (ended) o.onEvaluate?.(seed === 1 ? method : `${method} seed ${seed}`);
  const test = ended ? testAccuracy(o.dir, o.suite, entry.runDir) : undefined;
  updateSuiteState(o.dir, o.suite.name, (s) => {
    const e = entryOf(s, method, seed)!;
    if (ended) Object.assign(e, { test, done: true });
    else e.reason = reason;
  });
}

/** Runs planned jobs on an executor, recording every ending in suite.json; 'stopped' when the signal ended it. */
async function runJobs(
  o: SuiteJobOptions,
  executor: SweepExecutor,
  planned: PlannedJob[],
  signal: AbortSignal,
): Promise<'finished' | 'stopped'> {
  const byPoint = new Map(planned.map((p) => [p.job.pointId, p]));
  let unfinished = 0;
  await executor.run(
    planned.map((p) => p.job),
    {
      onStatus: (pointId, status, detail) => {
        const p = byPoint.get(pointId)!;
        if (status === 'finished' || status === 'failed') finishRun(o, p.method, p.seed, status, detail.reason);
        o.onJob?.({ method: p.method, seed: p.seed, status, runDir: p.job.runDir, detail });
      },
    },
    signal,
  );
  const state = readSuiteState(o.dir, o.suite.name);
  for (const p of planned) {
    const e = entryOf(state, p.method, p.seed);
    if (!e?.done && e?.reason === undefined) unfinished++;
  }
  return signal.aborted && unfinished > 0 ? 'stopped' : 'finished';
}

/**
 * Runs (or continues) the suite: every method's search-and-train run, then seeds 2..N of every method at its
 * chosen rate. Returns 'finished' when every job has ended, 'stopped' when shouldStop() ended it early.
 */
export async function runSuiteJobs(o: SuiteJobOptions): Promise<'finished' | 'stopped'> {
  const seeds = o.seeds ?? 1;
  fs.mkdirSync(path.join(o.dir, 'models'), { recursive: true });
  const id = suiteId(o);
  const controller = new AbortController();
  const poll = setInterval(() => {
    if (o.shouldStop() && !controller.signal.aborted) controller.abort();
  }, 200);
  try {
    if (!o.executor) {
      if ((await runSuite(o)) === 'stopped') return 'stopped';
    } else {
      const state = readSuiteState(o.dir, o.suite.name);
      const todo = o.methods.filter(
        (m) => !(state.methods[m]?.done && fs.existsSync(runPath(o.dir, state.methods[m].runDir))),
      );
      for (const m of o.methods.filter((x) => !todo.includes(x)))
        o.onJob?.({
          method: m,
          seed: 1,
          status: 'finished',
          runDir: runPath(o.dir, state.methods[m].runDir),
          detail: {},
        });
      const planned = todo.map((m) => planJob(o, id, m, 1));
      if ((await runJobs(o, o.executor, planned, controller.signal)) === 'stopped') return 'stopped';
    }
    if (seeds < 2) return 'finished';
    const state = readSuiteState(o.dir, o.suite.name);
    const planned: PlannedJob[] = [];
    for (const m of o.methods) {
      const entry = state.methods[m];
      const lr = entry && chosenRate(runPath(o.dir, entry.runDir));
      if (lr === undefined) {
        o.onJob?.({
          method: m,
          seed: 2,
          status: 'failed',
          runDir: '',
          detail: { reason: 'no further seeds: the learning-rate search of seed 1 chose no rate' },
        });
        continue;
      }
      for (let k = 2; k <= seeds; k++) {
        const e = entryOf(state, m, k);
        if (e?.done && fs.existsSync(runPath(o.dir, e.runDir))) continue;
        planned.push(planJob(o, id, m, k, lr));
      }
    }
    const executor = o.executor ?? o.seedExecutor;
    if (!executor) throw new Error('runSuiteJobs: seeds > 1 need an executor (executor or seedExecutor)');
    return await runJobs(o, executor, planned, controller.signal);
  } finally {
    clearInterval(poll);
  }
}
