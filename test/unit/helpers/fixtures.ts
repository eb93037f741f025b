// Shared test fixtures: the authors' gradient-accuracy data (the repository's reference/authors-psa-neurips2020),
// small random networks, and the 5-5-5 model.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ModelSpec, StateCoding, OutputLoss, NoiseKind } from '../../../src/engine/spec/types';
import type { LayerValues } from '../../../src/engine/network';
import type { AuthorsCurvesFile } from '../../../src/engine/experiments/gradacc';
import { Rng } from '../../../src/engine/rng';
import { AUTHORS_CHECKPOINTS_FILE, AUTHORS_CURVES_FILE, authorsReferenceDir } from '../../../src/cli/reference';

export function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + __dirname);
    dir = up;
  }
  return dir;
}

/** The authors' data as the CLI finds it: part of the repository, so no test skips for want of it. */
export function authorsDir(): string {
  return authorsReferenceDir();
}

export function authorsCheckpointsFile(): string {
  return path.join(authorsDir(), AUTHORS_CHECKPOINTS_FILE);
}

export function authorsCurvesFile(): string {
  return path.join(authorsDir(), AUTHORS_CURVES_FILE);
}

export interface GradevalCheckpoint {
  layers: LayerValues[];
  exact_expected_loss: number;
  exact_grad: number[][];
  tanh_relaxation_grad: number[][];
}

export interface GradevalData {
  X: number[][];
  Y: number[];
  checkpoints: Record<string, GradevalCheckpoint>;
}

let cached: GradevalData | undefined;
export function gradevalData(): GradevalData {
  cached ??= JSON.parse(fs.readFileSync(authorsCheckpointsFile(), 'utf8')) as GradevalData;
  return cached;
}

export function gradevalCurves(): AuthorsCurvesFile {
  return JSON.parse(fs.readFileSync(authorsCurvesFile(), 'utf8')) as AuthorsCurvesFile;
}

/** The 2-5-5-5-1 net of Experiment 1 ({0,1} states, logistic noise, logistic loss): the engine's definition. */
export { GRADACC_MODEL as GRADEVAL_MODEL } from '../../../src/engine/experiments/gradacc';

export function denseModel(
  inputs: number,
  hidden: number[],
  outputs: number,
  states: StateCoding,
  loss: OutputLoss,
  noise: NoiseKind = 'logistic',
): ModelSpec {
  return {
    name: 'random',
    input: { shape: [inputs] },
    states,
    noise,
    layers: hidden.map((units) => ({ type: 'dense' as const, units })),
    output: { units: outputs, loss },
  };
}

/** Random weights with a given scale, and random data with labels fitting the loss. */
export function randomProblem(
  spec: ModelSpec,
  rows: number,
  seed: number,
  scale = 1,
): { values: LayerValues[]; X: number[][]; Y: number[] } {
  const rng = new Rng(seed);
  const u = () => (2 * rng.uniform() - 1) * scale;
  const sizes = [spec.input.shape[0], ...spec.layers.map((l) => (l.type === 'dense' ? l.units : 0)), spec.output.units];
  const values: LayerValues[] = [];
  for (let k = 1; k < sizes.length; k++) {
    values.push({
      weight: Array.from({ length: sizes[k] }, () => Array.from({ length: sizes[k - 1] }, u)),
      bias: Array.from({ length: sizes[k] }, u),
    });
  }
  const X = Array.from({ length: rows }, () => Array.from({ length: sizes[0] }, () => 2 * rng.uniform() - 1));
  const K = spec.output.units;
  const Y = Array.from({ length: rows }, () =>
    spec.output.loss === 'logistic' ? (rng.uniform() < 0.5 ? -1 : 1) : rng.int(K),
  );
  return { values, X, Y };
}

export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-300));
}
