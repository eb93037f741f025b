// Which checkpoint a resume uses and what it will do, in words — without TensorFlow.js, so that the extension host
// (messages about a stopped or killed run) and the CLI compute it from the run folder exactly as the resume does.
// docs/run-format.md, "Resume".
import type { BatchIteratorState } from '../data';
import type { RngState } from '../rng';
import { findResumeCheckpoint, readConfig, type Checkpoint, type ResumeSearch } from '../runs';
import type { ResolvedTrainSpec } from './trainer';

/** The trainer's running sums (checkpoint `extra.accumulators`). */
export interface Accumulators {
  logSum: number;
  logCount: number;
  epochSum: number;
  epochCount: number;
}

function isRngState(v: unknown): boolean {
  const st = (v as RngState | undefined)?.s;
  return (
    Array.isArray(st) && st.length === 4 && st.every((x) => Number.isInteger(x) && x >= -0x80000000 && x <= 0xffffffff)
  );
}

function firstNonFinite(map: Record<string, { data: Float32Array }>): string | undefined {
  for (const [name, t] of Object.entries(map)) {
    for (let i = 0; i < t.data.length; i++) {
      if (!Number.isFinite(t.data[i]))
        return `${name} holds ${Number.isNaN(t.data[i]) ? 'NaN' : 'an infinite value'} (element ${i})`;
    }
  }
  return undefined;
}

/** `params.<name> holds NaN (element i)` for the first parameter that is not a finite number, or undefined. */
export function nonFiniteParameter(cp: Checkpoint): string | undefined {
  const bad = firstNonFinite(cp.params);
  return bad ? `params.${bad}` : undefined;
}

/**
 * Why a checkpoint that parsed cannot continue this training exactly, or undefined when it can: non-finite
 * parameters or optimizer state, a missing optimizer state, random streams, data position or training state,
 * another optimizer, and — given the number of training examples — a step that does not match its position.
 */
export function checkpointProblem(
  cp: Checkpoint,
  t: Pick<ResolvedTrainSpec, 'batchSize' | 'optimizer'>,
  trainingExamples?: number,
): string | undefined {
  const badParam = nonFiniteParameter(cp);
  if (badParam) return badParam;
  if (!cp.optimizer) return 'it has no optimizer state (continuing would restart the optimizer)';
  if (cp.optimizer.type !== t.optimizer.type)
    return `its optimizer is ${cp.optimizer.type} but the run uses ${t.optimizer.type}`;
  const badState = firstNonFinite(cp.optimizer.state);
  if (badState) return `optimizer.state.${badState}`;
  const rng = cp.rng;
  if (!rng || !isRngState(rng.noise) || !isRngState(rng.eval))
    return 'rng: the random generator states (noise, eval) are missing or malformed';
  const data = cp.data as Partial<BatchIteratorState> | undefined;
  if (
    !data ||
    !Number.isSafeInteger(data.position) ||
    !Number.isSafeInteger(data.epoch) ||
    !isRngState(data.rng) ||
    !isRngState(data.orderRng)
  ) {
    return 'data: the position in the data order is missing or malformed';
  }
  const extra = cp.extra as { accumulators?: Partial<Accumulators>; epochsDone?: unknown; lr?: unknown } | undefined;
  const acc = extra?.accumulators;
  if (
    !extra ||
    !acc ||
    !Number.isSafeInteger(extra.epochsDone) ||
    typeof extra.lr !== 'object' ||
    extra.lr === null ||
    !(['logSum', 'logCount', 'epochSum', 'epochCount'] as const).every(
      (k) => typeof acc[k] === 'number' && Number.isFinite(acc[k]),
    )
  ) {
    return 'extra: the training state (accumulators, epochsDone, lr) is missing or malformed';
  }
  if (trainingExamples !== undefined) {
    const epochsDone = extra.epochsDone as number;
    const epochCount = acc.epochCount as number;
    const expected = epochsDone * Math.ceil(trainingExamples / t.batchSize) + Math.ceil(epochCount / t.batchSize);
    if (cp.step !== expected) {
      return (
        `step ${cp.step} does not match its position in the data (${epochsDone} epochs and ${epochCount} examples ` +
        `of ${trainingExamples} in batches of ${t.batchSize} make step ${expected})`
      );
    }
  }
  return undefined;
}

/** Local date and time, to the second: when a checkpoint was written, as messages show it. */
export function localTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const date = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  return `${date} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** The checkpoint a resume of `dir` uses (checked against the run's configuration), and the damaged ones. */
export function resumeSearch(dir: string, trainingExamples?: number): ResumeSearch {
  let t: ResolvedTrainSpec | undefined;
  try {
    t = (readConfig(dir) as { train: ResolvedTrainSpec }).train;
  } catch {
    t = undefined;
  }
  return findResumeCheckpoint(dir, t ? (cp) => checkpointProblem(cp, t, trainingExamples) : undefined);
}

/** What a resume of this search does, in words: "resume continues from step N (checkpoint of <time>)", … */
function resumeNote(search: ResumeSearch): string {
  const damaged = search.damaged.map((d) => d.file).join(', ');
  if (search.found) {
    const f = search.found;
    const which = f.file === 'checkpoint.json' ? 'checkpoint' : `checkpoint ${f.file}`;
    const also = damaged ? `; ${damaged} damaged` : '';
    return `resume continues from step ${f.checkpoint.step} (${which} of ${localTime(f.written)}${also})`;
  }
  if (search.damaged.length)
    return `no valid checkpoint (${damaged} damaged): resume refuses unless told to start over from step 0`;
  return 'no checkpoint yet: resume starts from step 0';
}

/**
 * What resuming the run in `dir` will do, computed from its folder exactly as a resume chooses its checkpoint:
 * "resume continues from step N (checkpoint of <time>)", "no checkpoint yet: resume starts from step 0", or that
 * it has none valid. Every message about a stopped, crashed or killed run uses this.
 */
export function describeResume(dir: string): string {
  try {
    return resumeNote(resumeSearch(dir));
  } catch (e) {
    return `its checkpoints cannot be read (${(e as Error).message})`;
  }
}
