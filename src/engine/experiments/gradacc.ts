// Experiment 1 end to end (docs/math.md §3): the gradient accuracy of the paper's seven estimators on the authors'
// checkpoints and on our own re-creation of them (U(−1, 1) + AP2 init, REINFORCE training, docs/math.md §3.2), compared
// with the authors' published curves, with findings stated from the numbers.
//
// Finished work is kept on disk under the output folder so that a rerun only computes what is missing:
// `checkpoints/ours-chk-<E>.json` (parameters in the params-file layout, so `sbn gradeval --params` reads them)
// and `results/<checkpoint id>.json` (one gradient-accuracy result, keyed by everything it depends on).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from '../spec/types';
import { disposeNetwork, networkFromValues, networkValues, type LayerValues, type Network } from '../model/network';
import { Rng } from '../rng';
import { createEstimator } from '../estimators';
import { exactGradient } from '../estimators/exact';
import { inputTensor, type Dataset } from '../gradients/draws';
import { gradientAccuracy, PAPER_M, type EstimatorEntry, type GradientAccuracyResult } from '../gradients/accuracy';
import { BatchIterator, readToy2d, type Split } from '../data';
import { createOptimizer } from '../train/optimizer';
import { writeFileAtomic } from '../files';
import type {
  CurveDeviation,
  ExperimentEnvironment,
  GradaccCheckpoint,
  GradaccExperiment,
  GradaccTrainingLog,
  ReferenceCurve,
} from './types';

/** The 2-5-5-5-1 net of Experiment 1, as in examples/toy2d-gradeval.sbn.json. */
export const GRADACC_MODEL: ModelSpec = {
  name: 'gradeval-5-5-5',
  input: { shape: [2] },
  states: '01',
  noise: 'logistic',
  layers: [
    { type: 'dense', units: 5 },
    { type: 'dense', units: 5 },
    { type: 'dense', units: 5 },
  ],
  output: { units: 1, loss: 'logistic' },
};

/** Units per layer of GRADACC_MODEL, input first. */
export const GRADACC_SIZES = [2, 5, 5, 5, 1];

/** Weights and biases of GRADACC_MODEL: 15 + 30 + 30 + 6. */
export const GRADACC_PARAMETERS = GRADACC_SIZES.slice(1).reduce((sum, out, k) => sum + out * (GRADACC_SIZES[k] + 1), 0);

/** The training that produced the authors' checkpoints (docs/math.md §3.2, their pickled options). */
export const GRADACC_TRAINING = { lr: 0.03, momentum: 0.9, nesterov: false, batchSize: 10 } as const;

/** Epochs after which the parameters are saved: the three the paper evaluates. */
export const GRADACC_EPOCHS = [1, 100, 2000];

/** Draws behind the authors' curves: their trial counts are ⌊20000/M⌋. */
export const AUTHORS_DRAWS = 20000;

/** A bias floor is read at the largest M that still averages this many trials. */
export const FLOOR_MIN_TRIALS = 10;

/**
 * PSA "keeps falling like the unbiased methods" when its RMSE from M = 1 to the floor M shrinks to within this
 * factor of 1/√M. Ten trials of a 30-parameter squared error scatter by tens of percent, a bias floor by far more.
 */
const UNBIASED_SLOPE_TOLERANCE = 1.5;

// ---- The authors' curves -------------------------------------------------------------------------------------

/** Our labels → the method names of the authors' figure. */
export const AUTHORS_METHOD: Record<string, string> = {
  reinforce: 'REINFORCE',
  'concrete(tau=0.1)': 'Concrete(t=0.1)',
  'concrete(tau=1)': 'Concrete(t=1)',
  tanh: 'tanh',
  dste: 'ST',
  psa: 'PSA',
  arm: 'ARM',
};

/** gradacc_curves.json: `curves["<checkpoint>/<cos|rmse>/layer<k>"][authorsMethod]` → values over `M`. */
export interface AuthorsCurvesFile {
  M: number[];
  curves: Record<string, Record<string, number[]>>;
}

export interface ReferenceCurves {
  checkpoint: string;
  M: number[];
  /** The authors' curve of one of our labels (undefined when their figure has no such method). */
  get(metric: 'cos' | 'rmse', layer: number, label: string): number[] | undefined;
}

export function referenceCurves(doc: AuthorsCurvesFile, checkpoint: string): ReferenceCurves {
  return {
    checkpoint,
    M: doc.M,
    get: (metric, layer, label) => {
      const method = AUTHORS_METHOD[label];
      return method ? doc.curves[`${checkpoint}/${metric}/layer${layer}`]?.[method] : undefined;
    },
  };
}

/** The authors' value of one curve at M, null where their M list lacks it. */
export function referenceAt(
  ref: ReferenceCurves,
  metric: 'cos' | 'rmse',
  layer: number,
  label: string,
  M: number,
): number | null {
  const values = ref.get(metric, layer, label);
  const i = ref.M.indexOf(M);
  return values && i >= 0 ? values[i] : null;
}

/**
 * The authors' curves at our M and the largest deviations of ours from them, per label their figure has and
 * per layer.
 */
export function compareWithReference(
  result: GradientAccuracyResult,
  ref: ReferenceCurves,
): {
  curves: Record<string, ReferenceCurve[]>;
  deviations: Record<string, CurveDeviation[]>;
} {
  const curves: Record<string, ReferenceCurve[]> = {};
  const deviations: Record<string, CurveDeviation[]> = {};
  for (const e of result.estimators) {
    if (!ref.get('cos', 0, e.label)) continue;
    curves[e.label] = [];
    deviations[e.label] = [];
    e.layers.forEach((l, k) => {
      const cos = result.M.map((M) => referenceAt(ref, 'cos', k, e.label, M));
      const rmse = result.M.map((M) => referenceAt(ref, 'rmse', k, e.label, M));
      const d: CurveDeviation = {
        maxCosDeviation: 0,
        maxRmseRelDeviation: 0,
        atMCos: result.M[0],
        atMRmse: result.M[0],
      };
      result.M.forEach((M, i) => {
        const c = cos[i];
        const r = rmse[i];
        if (c !== null && Math.abs(l.cos[i] - c) > d.maxCosDeviation) {
          d.maxCosDeviation = Math.abs(l.cos[i] - c);
          d.atMCos = M;
        }
        if (r !== null && Math.abs(l.rmse[i] / r - 1) > d.maxRmseRelDeviation) {
          d.maxRmseRelDeviation = Math.abs(l.rmse[i] / r - 1);
          d.atMRmse = M;
        }
      });
      curves[e.label].push({ cos, rmse });
      deviations[e.label].push(d);
    });
  }
  return { curves, deviations };
}

/** The paper's values of M that leave at least 2 trials of `draws` (M = 1 always). */
export function paperMFor(draws: number): number[] {
  return PAPER_M.filter((m) => Math.floor(draws / m) >= 2 || m === 1);
}

// ---- Re-creating the checkpoints (docs/math.md §3.2) -----------------------------------------------------------------

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

interface TrainingSettings {
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

function trainingSettings(spec: ModelSpec, seed: number, epochs: number): TrainingSettings {
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

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

function writeJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, JSON.stringify(value, null, 1) + '\n');
}

export function oursCheckpointFile(outDir: string, epoch: number): string {
  return path.join(outDir, 'checkpoints', `ours-chk-${epoch}.json`);
}

function toyRows(split: Split): Dataset {
  const d = split.x.length / split.n;
  return {
    X: Array.from({ length: split.n }, (_, n) => Array.from(split.x.subarray(n * d, (n + 1) * d))),
    Y: Array.from(split.y),
  };
}

interface TrainingOutcome {
  training: GradaccTrainingLog;
  /** Saved parameters by epoch. */
  checkpoints: Map<number, LayerValues[]>;
  trained: boolean;
}

/** The saved checkpoints of an earlier finished training with the same settings, if all are there. */
function finishedTraining(outDir: string, settings: TrainingSettings): TrainingOutcome | undefined {
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

/**
 * REINFORCE training of the re-created checkpoints (docs/math.md §3.2): SGD with momentum (no Nesterov), batches of 10 in a
 * fresh seeded order each epoch, one noise sample per point, objective = batch mean of the loss estimate.
 * Seed streams: `init` (the U(−1, 1) draws), `data` (epoch orders), `noise` (the estimator).
 */
async function trainCheckpoints(
  spec: ModelSpec,
  split: Split,
  data: Dataset,
  settings: TrainingSettings,
  outDir: string,
  log: (line: string) => void,
): Promise<TrainingOutcome> {
  const started = Date.now();
  const root = new Rng(settings.seed);
  const net = networkFromValues(spec, ap2Init(uniformValues(GRADACC_SIZES, root.split('init')), data.X));
  const estimator = createEstimator('reinforce', { baseline: 'none' });
  const optimizer = createOptimizer({
    type: 'sgd',
    momentum: settings.momentum,
    nesterov: settings.nesterov,
    weightDecay: 0,
  });
  const iterator = new BatchIterator(split, {
    batchSize: settings.batchSize,
    rng: root.split('data'),
    shuffle: true,
    augment: 'none',
    inputShape: spec.input.shape,
  });
  const noise = root.split('noise');
  const saveAt = new Set(savedEpochs(settings.epochs));
  const logEvery = Math.max(1, Math.round(settings.epochs / 10));
  const loss: number[] = [];
  const exactLoss: Record<string, number> = {};
  const checkpoints = new Map<number, LayerValues[]>();
  let training: GradaccTrainingLog | undefined;
  try {
    for (let epoch = 1; epoch <= settings.epochs; epoch++) {
      // The epoch's loss stays on the backend until the epoch ends: one read per epoch, not per step.
      let lossSum: tf.Tensor = tf.scalar(0);
      let steps = 0;
      for (let batch = iterator.next(); batch; batch = iterator.next()) {
        const b = batch;
        const step = tf.tidy(() => {
          const x = inputTensor(net, b.x, b.n);
          const y = tf.tensor1d(b.y, 'float32');
          const est = estimator.estimate(net, { x, y, groups: 1 }, noise);
          return {
            lossSum: tf.add(lossSum, tf.mean(est.loss)),
            layers: est.layers.map((l) => ({ weight: tf.mean(l.weight, 0), bias: tf.mean(l.bias, 0) })),
          };
        });
        optimizer.step(net, step.layers, settings.lr);
        tf.dispose(step.layers);
        lossSum.dispose();
        lossSum = step.lossSum;
        steps++;
      }
      const mean = lossSum.dataSync()[0] / steps;
      lossSum.dispose();
      if (!Number.isFinite(mean))
        throw new Error(`REINFORCE training diverged in epoch ${epoch} (training loss ${mean})`);
      loss.push(mean);
      if (saveAt.has(epoch)) {
        const layers = networkValues(net);
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
          `training: epoch ${epoch}/${settings.epochs}, training loss ${mean.toFixed(4)}, exact expected loss ${exact.toFixed(6)}; saved ${oursCheckpointFile(outDir, epoch)}`,
        );
      } else if (epoch % logEvery === 0) {
        log(
          `training: epoch ${epoch}/${settings.epochs}, training loss ${mean.toFixed(4)} (${((Date.now() - started) / 1000).toFixed(0)} s)`,
        );
      }
      // let signals and pending I/O through between epochs
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    disposeNetwork(net);
    optimizer.dispose();
  }
  return { training: training!, checkpoints, trained: true };
}

// ---- Gradient accuracy per checkpoint, cached ------------------------------------------------------------------

interface ResultKey {
  model: string;
  draws: number;
  seed: number;
  M: number[];
  estimators: EstimatorEntry[];
  /** sha256 of the parameter values (a retrained checkpoint invalidates its result) */
  params: string;
  data: string;
}

interface ResultFile {
  format: 'sbn-gradacc-result';
  version: 1;
  key: ResultKey;
  result: GradientAccuracyResult;
}

function sha256(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

export function resultFile(outDir: string, id: string): string {
  return path.join(outDir, 'results', `${id}.json`);
}

// ---- Findings ------------------------------------------------------------------------------------------------

/** A set of curves over the same M: ours (from a result) or the authors' (at our M). */
interface CurveView {
  M: number[];
  labels: string[];
  layers: number;
  trials(i: number): number;
  rmse(label: string, layer: number): (number | null)[];
  cos(label: string, layer: number): (number | null)[];
}

function oursView(result: GradientAccuracyResult): CurveView {
  const by = new Map(result.estimators.map((e) => [e.label, e]));
  return {
    M: result.M,
    labels: result.estimators.map((e) => e.label),
    layers: result.estimators[0]?.layers.length ?? 0,
    trials: (i) => result.estimators[0]?.layers[0].trials[i] ?? Math.floor(result.draws / result.M[i]),
    rmse: (label, k) => by.get(label)?.layers[k].rmse ?? result.M.map(() => null),
    cos: (label, k) => by.get(label)?.layers[k].cos ?? result.M.map(() => null),
  };
}

function authorsView(M: number[], curves: Record<string, ReferenceCurve[]>, layers: number): CurveView {
  return {
    M,
    labels: Object.keys(curves),
    layers,
    trials: (i) => Math.floor(AUTHORS_DRAWS / M[i]),
    rmse: (label, k) => curves[label]?.[k]?.rmse ?? M.map(() => null),
    cos: (label, k) => curves[label]?.[k]?.cos ?? M.map(() => null),
  };
}

const UNBIASED = new Set(['reinforce', 'arm']);

function layerName(k: number, layers: number): string {
  return k === layers - 1 ? 'output layer' : `hidden layer ${k + 1}`;
}

function num(v: number): string {
  if (!Number.isFinite(v) || v === 0) return String(v);
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 0.01) return v.toPrecision(3).replace(/0+$/, '').replace(/\.$/, '');
  return v.toPrecision(2);
}

function bestAt(view: CurveView, k: number, i: number): { label: string; value: number } | undefined {
  let best: { label: string; value: number } | undefined;
  for (const label of view.labels) {
    const v = view.rmse(label, k)[i];
    if (v !== null && Number.isFinite(v) && (!best || v < best.value)) best = { label, value: v };
  }
  return best;
}

/** Index of the largest M with at least FLOOR_MIN_TRIALS trials. */
function floorIndex(view: CurveView): number {
  let at = 0;
  view.M.forEach((_, i) => {
    if (view.trials(i) >= FLOOR_MIN_TRIALS) at = i;
  });
  return at;
}

function armBelowPsa(view: CurveView, k: number): number | null {
  const arm = view.rmse('arm', k);
  const psa = view.rmse('psa', k);
  const i = view.M.findIndex((_, j) => arm[j] !== null && psa[j] !== null && arm[j] < psa[j]);
  return i >= 0 ? view.M[i] : null;
}

/** How PSA's RMSE shrinks from M = 1 to the M of index i, against 1/√M and the unbiased estimators'. */
function psaDecay(
  view: CurveView,
  k: number,
  i: number,
):
  | {
      falling: boolean;
      ratio: number;
      from: number;
      to: number;
      M: number;
      unbiased: { label: string; ratio: number }[];
    }
  | undefined {
  const psa = view.rmse('psa', k);
  if (i === 0 || psa[0] === null || psa[i] === null) return undefined;
  const M = view.M[i];
  const ratio = psa[i] / psa[0];
  const unbiased = view.labels
    .filter((l) => UNBIASED.has(l))
    .flatMap((label) => {
      const r = view.rmse(label, k);
      return r[0] !== null && r[i] !== null ? [{ label, ratio: r[i] / r[0] }] : [];
    });
  return { falling: ratio <= UNBIASED_SLOPE_TOLERANCE / Math.sqrt(M), ratio, from: psa[0], to: psa[i], M, unbiased };
}

/**
 * Plain-language findings of one checkpoint, each computed from the numbers; with the authors' curves (at our M)
 * the same statements are computed from theirs and every disagreement is spelled out.
 */
export function gradaccFindings(result: GradientAccuracyResult, reference?: GradaccCheckpoint['reference']): string[] {
  const ours = oursView(result);
  const L = ours.layers;
  const theirs = reference ? authorsView(result.M, reference.curves, L) : undefined;
  const who = reference ? `the authors' ${reference.checkpoint}` : '';
  const lines: string[] = [];
  const shownM = [1, 10, 100, 1000].filter((m) => result.M.includes(m));

  // who wins at which M, per hidden layer
  for (let k = 0; k < L - 1; k++) {
    const layer = layerName(k, L);
    const parts: string[] = [];
    const differ: string[] = [];
    for (const M of shownM) {
      const i = result.M.indexOf(M);
      const o = bestAt(ours, k, i);
      parts.push(`M=${M}: ${o ? `${o.label} (${num(o.value)})` : 'n/a'}`);
      const t = theirs ? bestAt(theirs, k, i) : undefined;
      if (theirs && t && o && t.label !== o.label)
        differ.push(`authors: ${t.label} best at M=${M} in ${layer}; ours: ${o.label}`);
    }
    let line = `${layer}: lowest relative RMSE at ${parts.join(', ')}`;
    if (theirs)
      line += differ.length ? `; DIFFERS from ${who}: ${differ.join('; ')}` : `; ${who} curves have the same winners`;
    lines.push(line + '.');
  }

  // Bias floors and slopes are read at our floor M for both: the authors' value at the same M (from more
  // trials) is what ours estimates, whatever the number of draws.
  const fi = floorIndex(ours);
  const floorM = `M=${ours.M[fi]}, the largest M with ≥ ${FLOOR_MIN_TRIALS} trials`;

  // bias floors of the biased estimators
  for (const label of ours.labels.filter((l) => !UNBIASED.has(l))) {
    const values = Array.from({ length: L }, (_, k) => ours.rmse(label, k)[fi]);
    let line =
      `bias floor of ${label} (relative RMSE at ${floorM}): ` +
      values.map((v, k) => `${layerName(k, L)} ${v === null ? 'n/a' : num(v)}`).join(', ');
    if (theirs && theirs.labels.includes(label)) {
      const tv = Array.from({ length: L }, (_, k) => theirs.rmse(label, k)[fi]);
      line += `; ${who}: ${tv.map((v) => (v === null ? 'n/a' : num(v))).join(', ')}`;
      const far = values.flatMap((v, k) => {
        const t = tv[k];
        if (v === null || t === null || t <= 0) return [];
        const r = v / t;
        return r > 1.5 || r < 1 / 1.5
          ? [`${layerName(k, L)} ours ${num(v)} vs authors ${num(t)} (${r.toFixed(2)}×)`]
          : [];
      });
      if (far.length) line += `; DIFFERS by more than 1.5×: ${far.join(', ')}`;
    }
    lines.push(line + '.');
  }

  // where unbiased ARM overtakes PSA
  if (ours.labels.includes('arm') && ours.labels.includes('psa')) {
    const lastM = ours.M[ours.M.length - 1];
    const say = (M: number | null) => (M === null ? `never up to M=${lastM}` : `from M=${M}`);
    const o = Array.from({ length: L }, (_, k) => armBelowPsa(ours, k));
    let line = `ARM's relative RMSE falls below PSA's: ${o.map((M, k) => `${layerName(k, L)} ${say(M)}`).join(', ')}`;
    if (theirs) {
      const t = Array.from({ length: L }, (_, k) => armBelowPsa(theirs, k));
      const differ = t.flatMap((M, k) =>
        M !== o[k] ? [`${layerName(k, L)}: authors ${say(M)}, ours ${say(o[k])}`] : [],
      );
      line += differ.length ? `; DIFFERS from ${who}: ${differ.join('; ')}` : `; ${who} curves agree`;
    }
    lines.push(line + '.');
  }

  // the sign of the deterministic relaxation's cosine in hidden layer 1
  if (ours.labels.includes('tanh')) {
    const sign = (c: number) =>
      c >= 0 ? `positive (${num(c)})` : `negative (${num(c)}: it points away from the true gradient)`;
    const o = ours.cos('tanh', 0)[0];
    if (o !== null) {
      let line = `tanh's cosine in hidden layer 1 is ${sign(o)}`;
      const t = theirs?.cos('tanh', 0)[0];
      if (theirs && t !== null && t !== undefined) {
        line +=
          Math.sign(t) === Math.sign(o)
            ? `; ${who}: ${sign(t)} too`
            : `; DIFFERS from ${who}: authors ${sign(t)}, ours ${sign(o)}`;
      }
      lines.push(line + '.');
    }
  }

  // does PSA behave like an unbiased estimator in the last hidden layer and the output layer?
  for (const k of [L - 2, L - 1]) {
    if (k < 0) continue;
    const o = psaDecay(ours, k, fi);
    if (!o) continue;
    const describe = (d: NonNullable<ReturnType<typeof psaDecay>>) =>
      `${d.falling ? "keeps falling like the unbiased methods'" : 'levels off (a bias floor)'}: ${num(d.from)} at M=1 → ${num(d.to)} at M=${d.M}, ×${num(d.ratio)}` +
      ` (1/√M: ×${num(1 / Math.sqrt(d.M))}${d.unbiased.map((u) => `, ${u.label} ×${num(u.ratio)}`).join('')})`;
    let line = `${layerName(k, L)}: PSA's relative RMSE ${describe(o)}`;
    const t = theirs ? psaDecay(theirs, k, fi) : undefined;
    if (t)
      line +=
        t.falling === o.falling ? `; ${who}: ${describe(t)}` : `; DIFFERS from ${who}: authors' PSA ${describe(t)}`;
    lines.push(line + '.');
  }

  // how close the numbers are (for a qualitative comparison: how different the two trainings came out)
  if (reference) {
    let cos = { v: -1, at: '' };
    let rmse = { v: -1, at: '' };
    for (const [label, layers] of Object.entries(reference.deviations)) {
      layers.forEach((d, k) => {
        if (d.maxCosDeviation > cos.v)
          cos = { v: d.maxCosDeviation, at: `${label}, ${layerName(k, L)}, M=${d.atMCos}` };
        if (d.maxRmseRelDeviation > rmse.v)
          rmse = { v: d.maxRmseRelDeviation, at: `${label}, ${layerName(k, L)}, M=${d.atMRmse}` };
      });
    }
    if (cos.v >= 0) {
      const what =
        reference.kind === 'quantitative'
          ? 'same parameters: the difference is Monte-Carlo and digitisation error'
          : 'a different training run: read it as a picture to compare, not a match';
      lines.push(
        `largest deviation from ${who} curves (${what}): cosine ${num(cos.v)} (${cos.at}); relative RMSE ${(100 * rmse.v).toFixed(1)}% (${rmse.at}).`,
      );
    }
  }
  return lines;
}

// ---- The experiment ------------------------------------------------------------------------------------------

export interface AuthorsData {
  /** Parameters of the authors' chk-1 and chk-100 (params-file layout). */
  checkpoints: { 'chk-1': LayerValues[]; 'chk-100': LayerValues[] };
  /** Their digitised curves of chk-100 and chk-2000. */
  curves: { 'chk-100': ReferenceCurves; 'chk-2000': ReferenceCurves };
}

export interface GradaccOptions {
  outDir: string;
  draws: number;
  seed: number;
  epochs: number;
  /** The paper's seven (the CLI's PAPER_ESTIMATORS). */
  estimators: EstimatorEntry[];
  environment: ExperimentEnvironment;
  /** Without it, only our re-created checkpoints are evaluated and nothing is compared. */
  authors?: AuthorsData;
  log?: (line: string) => void;
  onProgress?: (checkpoint: string, label: string, done: number, total: number) => void;
}

export interface GradaccRun {
  experiment: GradaccExperiment;
  /** False when the checkpoints of an earlier finished training were reused. */
  trained: boolean;
  /** Checkpoint ids whose gradient accuracy was computed now, and those read from results/. */
  computed: string[];
  reused: string[];
}

interface Planned {
  id: string;
  title: string;
  source: 'authors' | 'recreated';
  epoch: number;
  values: LayerValues[];
  reference?: { ref: ReferenceCurves; kind: 'quantitative' | 'qualitative' };
}

export async function runGradaccExperiment(o: GradaccOptions): Promise<GradaccRun> {
  const log = o.log ?? (() => undefined);
  const spec = GRADACC_MODEL;
  const raw = readToy2d().train;
  const split: Split = { x: Float32Array.from(raw.x), y: raw.y, n: raw.n };
  const data = toyRows(split);
  const M = paperMFor(o.draws);

  const settings = trainingSettings(spec, o.seed, o.epochs);
  let outcome = finishedTraining(o.outDir, settings);
  if (outcome)
    log(
      `training: reusing the finished training in ${path.dirname(oursCheckpointFile(o.outDir, o.epochs))} (same settings)`,
    );
  else {
    log(
      `training: REINFORCE, ${o.epochs} epochs of ${Math.ceil(split.n / settings.batchSize)} steps (lr ${settings.lr}, momentum ${settings.momentum}, batch ${settings.batchSize}, seed ${o.seed})`,
    );
    outcome = await trainCheckpoints(spec, split, data, settings, o.outDir, log);
    log(`training: ${outcome.training.seconds.toFixed(1)} s`);
  }

  const planned: Planned[] = [];
  if (o.authors) {
    planned.push({
      id: 'authors-chk-1',
      title: "Authors' chk-1 (their REINFORCE training, 1 epoch)",
      source: 'authors',
      epoch: 1,
      values: o.authors.checkpoints['chk-1'],
    });
    planned.push({
      id: 'authors-chk-100',
      title: "Authors' chk-100 (their REINFORCE training, 100 epochs)",
      source: 'authors',
      epoch: 100,
      values: o.authors.checkpoints['chk-100'],
      reference: { ref: o.authors.curves['chk-100'], kind: 'quantitative' },
    });
  }
  for (const [epoch, values] of outcome.checkpoints) {
    const curves =
      o.authors && epoch === 100
        ? o.authors.curves['chk-100']
        : o.authors && epoch === 2000
          ? o.authors.curves['chk-2000']
          : undefined;
    planned.push({
      id: `ours-chk-${epoch}`,
      title: `Re-created chk-${epoch} (our REINFORCE training, ${epoch} epoch${epoch === 1 ? '' : 's'})`,
      source: 'recreated',
      epoch,
      values,
      reference: curves ? { ref: curves, kind: 'qualitative' } : undefined,
    });
  }

  const computed: string[] = [];
  const reused: string[] = [];
  const checkpoints: GradaccCheckpoint[] = [];
  for (const p of planned) {
    const key: ResultKey = {
      model: spec.name,
      draws: o.draws,
      seed: o.seed,
      M,
      estimators: o.estimators,
      params: sha256(p.values),
      data: sha256(data),
    };
    const file = resultFile(o.outDir, p.id);
    const cached = readJson<ResultFile>(file);
    let result: GradientAccuracyResult;
    if (cached?.format === 'sbn-gradacc-result' && JSON.stringify(cached.key) === JSON.stringify(key)) {
      result = cached.result;
      reused.push(p.id);
      log(`${p.id}: reusing ${file}`);
    } else {
      const net: Network = networkFromValues(spec, p.values);
      try {
        result = gradientAccuracy(net, data, o.estimators, {
          draws: o.draws,
          seed: o.seed,
          M,
          onProgress: (label, done, total) => o.onProgress?.(p.id, label, done, total),
        });
      } finally {
        disposeNetwork(net);
      }
      writeJson(file, { format: 'sbn-gradacc-result', version: 1, key, result } satisfies ResultFile);
      computed.push(p.id);
      log(`${p.id}: ${result.estimators.reduce((s, e) => s + e.seconds, 0).toFixed(1)} s, written to ${file}`);
    }
    let reference: GradaccCheckpoint['reference'];
    if (p.reference) {
      const { curves, deviations } = compareWithReference(result, p.reference.ref);
      reference = { checkpoint: p.reference.ref.checkpoint, kind: p.reference.kind, curves, deviations };
    }
    checkpoints.push({
      id: p.id,
      title: p.title,
      source: p.source,
      epoch: p.epoch,
      result,
      reference,
      findings: gradaccFindings(result, reference),
    });
  }

  return {
    experiment: {
      format: 'sbn-experiment-gradacc',
      version: 1,
      environment: o.environment,
      draws: o.draws,
      seed: o.seed,
      M,
      checkpoints,
      training: outcome.training,
    },
    trained: outcome.trained,
    computed,
    reused,
  };
}
