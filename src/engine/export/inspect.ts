// `sbn inspect CHECKPOINT|RUN`: what a checkpoint holds (layers, shapes, parameter statistics, step, random
// generator states, optimizer) and, for a run, what it was trained with and where it came from.
import * as path from 'node:path';
import { readConfig, readEnvironment, RunStore, type TensorData } from '../runs';
import { provenanceFacts, type Provenance } from '../provenance';
import { openExportSource } from './source';

export interface TensorStats {
  name: string;
  shape: number[];
  count: number;
  /** Over the finite values; null when there are none. */
  mean: number | null;
  std: number | null;
  min: number | null;
  max: number | null;
  /** Euclidean norm of the finite values. */
  norm: number;
  /** Values that are NaN or ±∞. */
  nonFinite: number;
}

export interface Inspection {
  checkpointFile: string;
  step: number;
  epoch: number;
  params: TensorStats[];
  optimizer: { type: string; scalars: Record<string, number>; state: number } | null;
  /** Random generator states by stream, as stored (xoshiro128** state words). */
  rng: Record<string, unknown>;
  data: Record<string, unknown> | null;
  run: {
    dir: string;
    name: string;
    created: string;
    status: string | null;
    /** The model file the run was started from, and the copy in the run folder. */
    source: string;
    modelCopy: string;
  } | null;
  /** From config.json: the model and the resolved train section (null without a run or when unreadable). */
  trainedWith: Record<string, unknown> | null;
  /** From environment.json. */
  environment: { backend: string | null; backendDetail: string | null; kernels: string | null } | null;
  provenance: Provenance | null;
}

export function tensorStats(name: string, t: TensorData): TensorStats {
  let n = 0;
  let sum = 0;
  let sumSq = 0;
  let min = Infinity;
  let max = -Infinity;
  let nonFinite = 0;
  for (const v of t.data) {
    if (!Number.isFinite(v)) {
      nonFinite++;
      continue;
    }
    n++;
    sum += v;
    sumSq += v * v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = n ? sum / n : null;
  return {
    name,
    shape: t.shape,
    count: t.data.length,
    mean,
    std: mean === null ? null : Math.sqrt(Math.max(0, sumSq / n - mean * mean)),
    min: n ? min : null,
    max: n ? max : null,
    norm: Math.sqrt(sumSq),
    nonFinite,
  };
}

function pick(o: unknown, keys: string[]): Record<string, unknown> {
  const src = (typeof o === 'object' && o !== null ? o : {}) as Record<string, unknown>;
  return Object.fromEntries(keys.filter((k) => src[k] !== undefined).map((k) => [k, src[k]]));
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/** Inspect a run folder (its latest checkpoint, or epoch `which`'s) or a checkpoint file. */
export function inspect(target: string, which: 'latest' | number = 'latest'): Inspection {
  const src = openExportSource(target, which);
  const cp = src.checkpoint;
  const out: Inspection = {
    checkpointFile: src.checkpointFile,
    step: cp.step,
    epoch: cp.epoch,
    params: Object.entries(cp.params).map(([name, t]) => tensorStats(name, t)),
    optimizer: cp.optimizer
      ? { type: cp.optimizer.type, scalars: cp.optimizer.scalars, state: Object.keys(cp.optimizer.state).length }
      : null,
    rng: cp.rng ?? {},
    data: cp.data ?? null,
    run: null,
    trainedWith: null,
    environment: null,
    provenance: null,
  };
  if (src.runDir === null || src.manifest === null) return out;
  const dir = src.runDir;
  let status: string | null = null;
  try {
    status = RunStore.status(dir).status;
  } catch {
    /* a run without status.json still has its checkpoint */
  }
  out.run = {
    dir,
    name: src.manifest.name,
    created: src.manifest.created,
    status,
    source: src.manifest.source,
    modelCopy: path.join(dir, src.manifest.model),
  };
  try {
    const config = readConfig(dir) as { model?: unknown; train?: unknown };
    const model = pick(config.model, ['name', 'states', 'noise']);
    const train = pick(config.train, [
      'estimator',
      'optimizer',
      'lr',
      'epochs',
      'batchSize',
      'samples',
      'seed',
      'clip',
      'schedule',
      'tau',
      'baseline',
      'k',
    ]);
    out.trainedWith = { model, train };
  } catch {
    /* left null: inspect shows what it can read */
  }
  try {
    const env = readEnvironment(dir) as Record<string, unknown>;
    out.environment = { backend: str(env.backend), backendDetail: str(env.backendDetail), kernels: str(env.kernels) };
    out.provenance = provenanceFacts(env);
  } catch {
    /* left null */
  }
  return out;
}
