// Re-creating the authors' checkpoints (docs/math.md §3.2): U(−1, 1) + AP2 initialisation, REINFORCE training, and
// the saved parameters (`checkpoints/ours-chk-<E>.json`, in the params-file layout, so `sbn gradeval --params` reads
// them), which a rerun with the same settings reuses.
import * as path from 'node:path';
import type { ModelSpec } from '../../spec/types';
import { disposeNetwork, networkFromValues, networkValues, type LayerValues } from '../../model/network';
import { Rng } from '../../rng';
import { createEstimator } from '../../estimators';
import { exactGradient } from '../../estimators/exact';
import type { Dataset } from '../../gradients/draws';
import { BatchIterator, type Split } from '../../data';
import { createOptimizer } from '../../train/optimizer';
import { DivergenceError, trainStep, type StepSettings, type StepState } from '../../train/trainer';
import type { GradaccTrainingLog } from '../types';
import { GRADACC_SIZES } from './model';
import { readJson, writeJson } from './files';

/** The training that produced the authors' checkpoints (docs/math.md §3.2, their pickled options). */
export const GRADACC_TRAINING = { lr: 0.03, momentum: 0.9, nesterov: false, batchSize: 10 } as const;

/** Epochs after which the parameters are saved: the three the paper evaluates. */
export const GRADACC_EPOCHS = [1, 100, 2000];

export interface DenseValues {
  weight: number[][];
  bias: number[];
}

/** Weights then biases of each layer U(−1, 1), row-major, layer by layer (the authors' initialisation). */
export function uniformValues(sizes: number[], rng: Rng): DenseValues[] {
  const u = () => 2 * rng.uniform() - 1;
  return sizes.slice(1).map((out, k) => ({
    weight: Array.from({ length: out }, () => Array.from({ length: sizes[k] }, u)),
    bias: Array.from({ length: out }, u),
  }));
}

/**
 * AP2 initialisation (docs/math.md §3.2): propagate the inputs' per-feature mean m and variance v through each hidden
 * layer as μ = Wm + b, s² = W²v and rescale W ← W/s, b ← (b − μ)/s, so that every pre-activation has mean 0 and
 * variance 1 under this independent-inputs approximation. The next layer's inputs then have the {0,1} moments of
 * a zero-mean unit-variance logit, σ̃(0) = 0.5 and 0.5·(1 − 0.5) = 0.25. The output layer is not normalised.
 * The data variance is the unbiased one and s² gets 1e−10, both as in the authors' code (torch's var(), their
 * fw_AP2_init), so that our init matches theirs for the same U(−1, 1) draws.
 */
export function ap2Init(values: DenseValues[], X: ArrayLike<number>[]): DenseValues[] {
  const N = X.length;
  const d = X[0].length;
  let m = Array.from({ length: d }, (_, i) => {
    let s = 0;
    for (const x of X) s += x[i];
    return s / N;
  });
  let v = m.map((mi, i) => {
    let s = 0;
    for (const x of X) s += (x[i] - mi) ** 2;
    return s / (N - 1);
  });
  return values.map((layer, k) => {
    if (k === values.length - 1) return { weight: layer.weight.map((r) => [...r]), bias: [...layer.bias] };
    const weight: number[][] = [];
    const bias: number[] = [];
    layer.weight.forEach((row, j) => {
      let mu = layer.bias[j];
      let s2 = 0;
      row.forEach((w, i) => {
        mu += w * m[i];
        s2 += w * w * v[i];
      });
      const s = Math.sqrt(s2 + 1e-10);
      weight.push(row.map((w) => w / s));
      bias.push((layer.bias[j] - mu) / s);
    });
    m = bias.map(() => 0.5);
    v = bias.map(() => 0.25);
    return { weight, bias };
  });
}

/** Epochs whose parameters are saved for a training of `epochs` epochs: those of the paper that fit, and the last. */
export function savedEpochs(epochs: number): number[] {
  return [...new Set([...GRADACC_EPOCHS.filter((e) => e <= epochs), epochs])].sort((a, b) => a - b);
}

export interface TrainingSettings {
  model: string;
  data: string;
  init: string;
  estimator: string;
  seed: number;
  epochs: number;
  lr: number;
  momentum: number;
  nesterov: boolean;
  batchSize: number;
}

/** ours-chk-<E>.json: a params file (`layers`) with what produced it. */
interface OursCheckpointFile {
  format: 'sbn-gradacc-checkpoint';
  version: 1;
  epoch: number;
  settings: TrainingSettings;
  exactLoss: number;
  layers: LayerValues[];
  /** In the last checkpoint only: its presence marks the training as finished. */
  training?: GradaccTrainingLog;
}

export function trainingSettings(spec: ModelSpec, seed: number, epochs: number): TrainingSettings {
  return {
    model: spec.name,
    data: 'toy-2d',
    init: 'U(-1,1) + AP2',
    estimator: 'reinforce (no baseline, 1 sample)',
    seed,
    epochs,
    ...GRADACC_TRAINING,
  };
}

export function oursCheckpointFile(outDir: string, epoch: number): string {
  return path.join(outDir, 'checkpoints', `ours-chk-${epoch}.json`);
}

export interface TrainingOutcome {
  training: GradaccTrainingLog;
  /** Saved parameters by epoch. */
  checkpoints: Map<number, LayerValues[]>;
  trained: boolean;
}

/** The saved checkpoints of an earlier finished training with the same settings, if all are there. */
export function finishedTraining(outDir: string, settings: TrainingSettings): TrainingOutcome | undefined {
  const checkpoints = new Map<number, LayerValues[]>();
  let training: GradaccTrainingLog | undefined;
  for (const epoch of savedEpochs(settings.epochs)) {
    const file = readJson<OursCheckpointFile>(oursCheckpointFile(outDir, epoch));
    if (!file || file.format !== 'sbn-gradacc-checkpoint' || JSON.stringify(file.settings) !== JSON.stringify(settings))
      return undefined;
    checkpoints.set(epoch, file.layers);
    if (epoch === settings.epochs) training = file.training;
  }
  return training ? { training, checkpoints, trained: false } : undefined;
}

/** The authors' training took one noise sample per point and did not clip the gradient. */
const STEP_SETTINGS: StepSettings = { samples: 1, clip: Infinity };

/**
 * REINFORCE training of the re-created checkpoints (docs/math.md §3.2): SGD with momentum (no Nesterov), batches of
 * 10 in a fresh seeded order each epoch, one noise sample per point, objective = batch mean of the loss estimate.
 * Seed streams: `init` (the U(−1, 1) draws), `data` (epoch orders), `noise` (the estimator).
 */
export async function trainCheckpoints(
  spec: ModelSpec,
  split: Split,
  data: Dataset,
  settings: TrainingSettings,
  outDir: string,
  log: (line: string) => void,
): Promise<TrainingOutcome> {
  const started = Date.now();
  const root = new Rng(settings.seed);
  const state: StepState = {
    net: networkFromValues(spec, ap2Init(uniformValues(GRADACC_SIZES, root.split('init')), data.X)),
    estimator: createEstimator('reinforce', { baseline: 'none' }),
    optimizer: createOptimizer({
      type: 'sgd',
      momentum: settings.momentum,
      nesterov: settings.nesterov,
      weightDecay: 0,
    }),
    noise: root.split('noise'),
    step: 0,
  };
  const iterator = new BatchIterator(split, {
    batchSize: settings.batchSize,
    rng: root.split('data'),
    shuffle: true,
    augment: 'none',
    inputShape: spec.input.shape,
  });
  const saveAt = new Set(savedEpochs(settings.epochs));
  const logEvery = Math.max(1, Math.round(settings.epochs / 10));
  const loss: number[] = [];
  const exactLoss: Record<string, number> = {};
  const checkpoints = new Map<number, LayerValues[]>();
  let training: GradaccTrainingLog | undefined;
  try {
    for (let epoch = 1; epoch <= settings.epochs; epoch++) {
      // Summed in float32, as the backend summed it when this loop kept the sum there: the recorded training
      // losses of earlier re-creations stay what they were.
      let lossSum = 0;
      let steps = 0;
      for (let b = iterator.next(); b; b = iterator.next()) {
        try {
          lossSum = Math.fround(lossSum + trainStep(state, STEP_SETTINGS, b, settings.lr));
        } catch (e) {
          if (e instanceof DivergenceError)
            throw new Error(`REINFORCE training diverged in epoch ${epoch}: ${e.message}`, { cause: e });
          throw e;
        }
        state.step++;
        steps++;
      }
      const mean = lossSum / steps;
      loss.push(mean);
      if (saveAt.has(epoch)) {
        const layers = networkValues(state.net);
        const exact = exactGradient(spec, layers, data.X, data.Y).loss;
        exactLoss[String(epoch)] = exact;
        checkpoints.set(epoch, layers);
        const file: OursCheckpointFile = {
          format: 'sbn-gradacc-checkpoint',
          version: 1,
          epoch,
          settings,
          exactLoss: exact,
          layers,
        };
        if (epoch === settings.epochs) {
          training = {
            epochs: settings.epochs,
            lr: settings.lr,
            momentum: settings.momentum,
            batchSize: settings.batchSize,
            seed: settings.seed,
            loss,
            exactLoss,
            seconds: (Date.now() - started) / 1000,
          };
          file.training = training;
        }
        writeJson(oursCheckpointFile(outDir, epoch), file);
        log(
          `training: epoch ${epoch}/${settings.epochs}, training loss ${mean.toFixed(4)}, ` +
            `exact expected loss ${exact.toFixed(6)}; saved ${oursCheckpointFile(outDir, epoch)}`,
        );
      } else if (epoch % logEvery === 0) {
        log(
          `training: epoch ${epoch}/${settings.epochs}, training loss ${mean.toFixed(4)} ` +
            `(${((Date.now() - started) / 1000).toFixed(0)} s)`,
        );
      }
      // let signals and pending I/O through between epochs
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    disposeNetwork(state.net);
    state.optimizer.dispose();
  }
  return { training: training!, checkpoints, trained: true };
}
