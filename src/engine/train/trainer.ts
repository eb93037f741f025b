// The training loop (docs/math.md §4.5–§4.6): one estimator, an optimiser and a learning-rate rule, the data in
// seeded batches, metrics appended to the run as it goes, checkpoints at every epoch end, every few
// minutes and on stop, and an exact resume: every random stream, the data order, the optimiser and the
// running averages are part of the checkpoint, so a resumed run continues bit for bit.
import * as tf from '@tensorflow/tfjs';
import type { ModelSpec, TrainSpec, LrSpec, LrSchedule, LrSearchSpec } from '../spec/types';
import { LR_GRID_DEFAULTS, LR_SEARCH_DEFAULTS, OPTIMIZER_DEFAULTS, trainSettingsWithDefaults } from '../spec/model';
import { initNetwork, loadTensorMap, networkTensorMap, disposeNetwork, type Network } from '../model/network';
import { Rng, type RngState } from '../rng';
import {
  createEstimator,
  type Estimator,
  type EstimatorState,
  type HostGradients,
  type TrainingEstimatorName,
} from '../estimators';
import { inputTensor } from '../gradients/draws';
import { BatchIterator, type BatchIteratorState, type LoadedData } from '../data';
import { findResumeCheckpoint, type Checkpoint, type LrCriterion, type RunStore } from '../runs';
import { createOptimizer, type LayerGradients, type Optimizer } from './optimizer';
import { hostGradientsAllowed, nativeKernels, type NativeKernels } from '../kernels';
import { learningRate } from './schedule';
import { dataDependentInit } from './init';
import { evaluateSplitPass, type SbnMetrics } from './evaluate';
import { gridSearchLearningRate, searchLearningRate, type LrGridOptions, type LrSearchOptions } from './lrSearch';
import {
  diagnosticsBatch,
  gradientDiagnosticsPass,
  layerStatistics,
  resolveDiagnostics,
  type DiagnosticsRecord,
  type LayerStats,
} from './monitor';
import { AutoEstimator, resolveAuto, type AutoDecision, type ResolvedAuto } from './auto';
import { runInterruptible, StopRequested, yieldToEventLoop } from '../passes';
import { checkpointProblem, type Accumulators } from './recovery';

/** TrainSpec with every default filled in (what config.json records). */
export type ResolvedTrainSpec = Required<
  Omit<TrainSpec, 'tau' | 'baseline' | 'k' | 'activation' | 'optimizer' | 'auto'>
> &
  Pick<TrainSpec, 'tau' | 'baseline' | 'k' | 'activation'> & {
    optimizer: NonNullable<TrainSpec['optimizer']>;
    auto?: ResolvedAuto;
  };

export function resolveTrainSpec(t: TrainSpec): ResolvedTrainSpec {
  return {
    estimator: t.estimator,
    tau: t.tau,
    baseline: t.baseline,
    k: t.k,
    ...(t.activation ? { activation: t.activation } : {}),
    ...(t.estimator === 'auto' ? { auto: resolveAuto(t.auto) } : {}),
    optimizer: { ...OPTIMIZER_DEFAULTS.sgd, ...t.optimizer },
    lr: t.lr,
    ...trainSettingsWithDefaults(t),
  };
}

export interface StepEvent {
  step: number;
  epoch: number;
  loss: number;
  lr: number;
  samplesPerSecond: number;
  stepsPerEpoch: number;
  totalSteps: number;
}
export interface EvalEvent extends SbnMetrics {
  split: 'train' | 'validation' | 'test';
  step: number;
  epoch: number;
}
export interface LrTrialEvent {
  trial: number;
  lr: number;
  objective: number;
  diverged: boolean;
}

export interface TrainerEvents {
  step?(e: StepEvent): void;
  eval?(e: EvalEvent): void;
  epoch?(e: { step: number; epoch: number; loss: number; seconds: number }): void;
  lrTrial?(e: LrTrialEvent): void;
  checkpoint?(e: { step: number; epoch: number }): void;
  diagnostics?(e: DiagnosticsRecord & { step: number; epoch: number }): void;
  /** estimator auto: the per-layer choice after each diagnostics pass. */
  auto?(e: AutoDecision & { step: number; epoch: number }): void;
  layerStats?(e: { step: number; epoch: number; layers: LayerStats[] }): void;
  message?(text: string): void;
}

export interface TrainOptions {
  spec: ModelSpec;
  train: ResolvedTrainSpec;
  data: LoadedData;
  store?: RunStore;
  events?: TrainerEvents;
  /**
   * Polled after every step and between the batches of every evaluation and diagnostics pass: true stops cleanly
   * with a checkpoint (within about a second).
   */
  shouldStop?: () => boolean;
  /** A latest checkpoint is also written at a log point when this long has passed since the last one. */
  checkpointSeconds?: number;
  /** Training examples used for the train-split evaluation (a fixed prefix, unaugmented). */
  evalTrainExamples?: number;
}

export interface TrainResult {
  status: 'finished' | 'stopped' | 'diverged';
  step: number;
  epoch: number;
  lr: number;
  message?: string;
  final?: Record<string, SbnMetrics>;
}

export class DivergenceError extends Error {
  constructor(
    readonly step: number,
    readonly layer: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The passes that follow training step `step` and read its result: a gradient-diagnostics pass, evaluations and,
 * at an epoch's end, the epoch record and the epoch checkpoint. A stop can interrupt them; a checkpoint then holds
 * the list of what is left (its random streams as they were before the interrupted pass), and a resume does
 * exactly that first — so it computes what the uninterrupted run computed (docs/run-format.md, "Resume").
 */
interface PendingPasses {
  step: number;
  /** The epoch the records of these passes carry. */
  epoch: number;
  diagnostics: boolean;
  evals: Array<'train' | 'validation'>;
  /** At an epoch's end: the epoch's mean training loss (the epoch record and checkpoint follow the evaluations). */
  epochEnd?: { loss: number };
}

/**
 * What one optimisation step reads and updates: the trainer's loop state, or that of a training of its own that an
 * experiment runs (experiments/gradacc/recreation.ts).
 */
export interface StepState {
  net: Network;
  optimizer: Optimizer;
  estimator: Pick<Estimator, 'estimate' | 'state' | 'restore'>;
  /** The stream of the estimator's noise. */
  noise: Rng;
  /** Steps done so far (the step a divergence names is the next one). */
  step: number;
}

/** The settings one step uses; `clip: Infinity` leaves the gradient unclipped. */
export type StepSettings = Pick<ResolvedTrainSpec, 'samples' | 'clip'>;

interface LoopState extends StepState {
  /** With `estimator: auto`: the same object as `estimator`, which the diagnostics passes update. */
  auto?: AutoEstimator;
  iterator: BatchIterator;
  evalRng: Rng;
  /** Streams of the monitors: drawing from them never changes training. */
  diagnosticsRng: Rng;
  statsRng: Rng;
  epochsDone: number;
  acc: Accumulators;
  lr: LrSchedule;
  pending: PendingPasses | null;
}

/** The initial network for a seed: same for every method and lr trial (docs/math.md §4.4). */
export function initialNetwork(spec: ModelSpec, train: ResolvedTrainSpec, data: LoadedData): Network {
  const root = new Rng(train.seed);
  const net = initNetwork(spec, root.split('init'));
  if (train.init === 'data-dependent') {
    const it = new BatchIterator(data.train, {
      batchSize: Math.min(train.batchSize, data.train.n),
      rng: root.split('init-batch'),
      shuffle: true,
      augment: spec.data?.augment ?? 'none',
      inputShape: data.inputShape,
    });
    const b = it.next()!;
    const x = inputTensor(net, b.x, b.n);
    dataDependentInit(net, x);
    x.dispose();
  }
  return net;
}

function newLoop(spec: ModelSpec, train: ResolvedTrainSpec, data: LoadedData, lr: LrSchedule): LoopState {
  const root = new Rng(train.seed);
  const net = initialNetwork(spec, train, data);
  const auto = train.estimator === 'auto' ? new AutoEstimator(resolveAuto(train.auto), net.layers.length) : undefined;
  return {
    net,
    optimizer: createOptimizer(train.optimizer),
    estimator:
      auto ??
      createEstimator(train.estimator as TrainingEstimatorName, {
        tau: train.tau,
        baseline: train.baseline,
        k: train.k,
        activation: train.activation,
      }),
    ...(auto ? { auto } : {}),
    iterator: new BatchIterator(data.train, {
      batchSize: train.batchSize,
      rng: root.split('data'),
      shuffle: true,
      augment: spec.data?.augment ?? 'none',
      inputShape: data.inputShape,
    }),
    noise: root.split('noise'),
    evalRng: root.split('eval'),
    diagnosticsRng: root.split('diagnostics'),
    statsRng: root.split('stats'),
    step: 0,
    epochsDone: 0,
    acc: { logSum: 0, logCount: 0, epochSum: 0, epochCount: 0 },
    lr,
    pending: null,
  };
}

function disposeLoop(s: LoopState): void {
  disposeNetwork(s.net);
  s.optimizer.dispose();
}

/**
 * Whether every value of the (clipped) gradients is finite, as a boolean scalar. Clipped to a bound whose sum over
 * all the values stays far below float32's largest number, a sum is non-finite exactly when a value is (NaN and ∞
 * propagate, and no sum of clipped values can overflow): one pass over the gradient instead of two.
 */
function allFinite(gradients: tf.Tensor[], train: StepSettings): tf.Tensor {
  const size = gradients.reduce((sum, g) => sum + g.size, 0);
  const flags = gradients.map((g) =>
    Number.isFinite(train.clip) && size * train.clip < 1e30 ? tf.isFinite(tf.sum(g)) : tf.all(tf.isFinite(g)),
  );
  return flags.reduce((a, b) => tf.logicalAnd(a, b));
}

/** A step's checked gradients: the loss, the first non-finite part (0: the loss, k + 1: layer k; -1: none). */
interface CheckedStep {
  loss: number;
  bad: number;
  layers: LayerGradients;
  /** The tensors to free after the update (the tensor route's). */
  tensors?: tf.TensorContainer;
}

/**
 * The host route of a step: the native dense step's arrays (one draw, so the mean over draws is the draw itself),
 * clipped and checked in place by the addon, then straight to the optimiser — the values the tensor route gives
 * (tf.clipByValue, tf.isFinite) without a TensorFlow.js op or copy in between.
 */
function checkHostGradients(host: HostGradients, train: StepSettings, kernels: HostCheckKernels): CheckedStep {
  const loss = host.loss[0];
  const clip = Number.isFinite(train.clip) ? train.clip : Infinity;
  let bad = Number.isFinite(loss) ? -1 : 0;
  host.layers.forEach((l, k) => {
    const finite = kernels.clipFinite(l.weight, clip) && kernels.clipFinite(l.bias, clip);
    if (!finite && bad < 0) bad = k + 1;
  });
  return { loss, bad, layers: host.layers };
}

type HostCheckKernels = NativeKernels & Required<Pick<NativeKernels, 'clipFinite'>>;

/**
 * Each loop's arrays for the host route's gradients (one draw), handed to the native step to fill: reused from step
 * to step instead of 2.7 MB of new arrays per step for 784-512-512-10. Nothing holds them past a step: the
 * optimiser reads them and the estimate's tensors are disposed within it.
 */
const hostArrays = new WeakMap<StepState, HostGradients>();

function hostArraysOf(s: StepState): HostGradients {
  const have = hostArrays.get(s);
  const fits = (h: HostGradients) =>
    h.layers.length === s.net.layers.length &&
    h.layers.every(
      (l, k) => l.weight.length === s.net.layers[k].weight.size && l.bias.length === s.net.layers[k].bias.size,
    );
  if (have && fits(have)) return have;
  const made: HostGradients = {
    loss: new Float32Array(1),
    layers: s.net.layers.map((p) => ({ weight: new Float32Array(p.weight.size), bias: new Float32Array(p.bias.size) })),
  };
  hostArrays.set(s, made);
  return made;
}

/**
 * One optimisation step: estimate, average over the noise samples, clamp, check for NaN/Inf (naming the
 * layer), update. Returns the estimator's loss value. Throws a DivergenceError on a non-finite loss or gradient.
 * An estimate with host arrays (a native dense step) and one draw takes the host route (checkHostGradients) unless
 * the step records gradient norms or SBN_DENSE_STEP=tensors; the tensor route is the reference and gives the same
 * values.
 */
export function trainStep(
  s: StepState,
  train: StepSettings,
  batch: { x: Float32Array; y: Float32Array; n: number },
  lr: number,
  norms?: number[],
): number {
  const G = train.samples;
  const kernels = nativeKernels();
  const hostCheck =
    G === 1 && !norms && kernels?.clipFinite && hostGradientsAllowed() ? (kernels as HostCheckKernels) : undefined;
  // the host arrays leave the tidy through this variable: a tidy's result is walked value by value
  let host: HostGradients | undefined;
  const tensors = tf.tidy(() => {
    const x1 = inputTensor(s.net, batch.x, batch.n);
    const y1 = tf.tensor1d(batch.y, 'float32');
    const x = G === 1 ? x1 : tf.tile(x1, [G, ...x1.shape.slice(1).map(() => 1)]);
    const y = G === 1 ? y1 : tf.tile<tf.Tensor1D>(y1, [G]);
    const est = s.estimator.estimate(s.net, { x, y, groups: G, ...(hostCheck && { into: hostArraysOf(s) }) }, s.noise);
    if (hostCheck && est.host) {
      host = est.host;
      return undefined;
    }
    const clip = (g: tf.Tensor) => (Number.isFinite(train.clip) ? tf.clipByValue(g, -train.clip, train.clip) : g);
    // the mean over one group is the group itself: a reshape, not a pass over the gradient
    const mean = (g: tf.Tensor) => (g.shape[0] === 1 ? tf.reshape(g, g.shape.slice(1)) : tf.mean(g, 0));
    const layers = est.layers.map((l) => ({ weight: clip(mean(l.weight)), bias: clip(mean(l.bias)) }));
    const finite = tf.stack([
      tf.all(tf.isFinite(est.loss)),
      ...layers.map((l) => allFinite([l.weight, l.bias], train)),
    ]);
    // one read per step: the loss, then 1 or 0 for the loss and each layer's gradient being finite
    const status = tf.concat([tf.reshape(tf.mean(est.loss), [1]), tf.cast(finite, 'float32')]);
    const gradNorms = norms ? tf.stack(layers.map((l) => tf.norm(l.weight))) : undefined;
    return { status, layers, gradNorms };
  });
  let checked: CheckedStep;
  if (host && hostCheck) checked = checkHostGradients(host, train, hostCheck);
  else {
    const t = tensors!;
    if (norms && t.gradNorms) norms.push(...Array.from(t.gradNorms.dataSync()));
    const [loss, ...finite] = Array.from(t.status.dataSync());
    checked = { loss, bad: finite.findIndex((f) => f === 0), layers: t.layers, tensors: t };
  }
  const { bad } = checked;
  if (bad >= 0) {
    tf.dispose(checked.tensors);
    const step = s.step + 1;
    throw new DivergenceError(
      step,
      bad === 0 ? 'loss' : s.net.layerNames[bad - 1],
      bad === 0
        ? `non-finite training loss at step ${step}`
        : `non-finite gradient at step ${step} in layer ${s.net.layerNames[bad - 1]}`,
    );
  }
  s.optimizer.step(s.net, checked.layers, lr);
  tf.dispose(checked.tensors);
  return checked.loss;
}

function scheduleOf(lr: LrSpec): LrSchedule | undefined {
  if (typeof lr === 'number') return { schedule: 'constant', base: lr };
  if (lr === 'search' || 'search' in lr || 'grid' in lr) return undefined;
  return lr;
}

/**
 * Train for `epochs` epochs without a run folder and return what the lr search minimises (LrCriterion): the mean
 * training objective of the last epoch (Brent's search), or the validation SBN u_loss after the last epoch,
 * evaluated as the trainer's own evaluations are (train.evalSamples samples per example; the grid search).
 */
export async function trialObjective(
  spec: ModelSpec,
  train: ResolvedTrainSpec,
  data: LoadedData,
  lr: number,
  epochs: number,
  shouldStop?: () => boolean,
  criterion: LrCriterion = 'train.objective',
): Promise<{ objective: number; diverged: boolean }> {
  const s = newLoop(spec, train, data, { schedule: 'constant', base: lr });
  try {
    while (s.epochsDone < epochs) {
      const b = s.iterator.next();
      if (!b) continue;
      const loss = trainStep(s, train, b, lr);
      await yieldToEventLoop();
      if (shouldStop?.()) throw new StopRequested();
      if (!Number.isFinite(loss) || loss > 1e10) return { objective: Infinity, diverged: true };
      s.acc.epochSum += loss * b.n;
      s.acc.epochCount += b.n;
      if (b.epochDone) {
        s.epochsDone++;
        if (s.epochsDone < epochs) s.acc.epochSum = s.acc.epochCount = 0;
      }
    }
    if (criterion === 'train.objective') return { objective: s.acc.epochSum / s.acc.epochCount, diverged: false };
    // the model file's checks (spec/semantic.ts) require data.validation with a grid search
    if (!data.validation)
      throw new Error('the grid search picks the rate by the validation u_loss: no validation split');
    const m = await runInterruptible(
      evaluateSplitPass(s.net, data.validation, train.evalSamples, s.evalRng, data.validation.n),
      shouldStop ?? (() => false),
    );
    const diverged = m.u_loss === null || !Number.isFinite(m.u_loss);
    return { objective: diverged ? Infinity : m.u_loss, diverged };
  } catch (e) {
    if (e instanceof DivergenceError) return { objective: Infinity, diverged: true };
    throw e;
  } finally {
    disposeLoop(s);
  }
}

/** The data with only the first `count` training examples (the lr search's quick trials). */
function firstExamples(data: LoadedData, count: number): LoadedData {
  const per = data.train.x.length / data.train.n;
  return { ...data, train: { x: data.train.x.subarray(0, count * per), y: data.train.y.subarray(0, count), n: count } };
}

function checkpointOf(s: LoopState, epoch: number): Checkpoint {
  return {
    format: 'sbn-checkpoint',
    version: 1,
    step: s.step,
    epoch,
    params: networkTensorMap(s.net),
    optimizer: s.optimizer.state(),
    rng: {
      noise: s.noise.getState(),
      eval: s.evalRng.getState(),
      diagnostics: s.diagnosticsRng.getState(),
      stats: s.statsRng.getState(),
    },
    data: s.iterator.state() as unknown as Record<string, unknown>,
    extra: {
      accumulators: { ...s.acc },
      epochsDone: s.epochsDone,
      lr: s.lr,
      estimator: s.estimator.state?.() ?? {},
      ...(s.pending ? { pending: { ...s.pending, evals: [...s.pending.evals] } } : {}),
    },
  };
}

function restoreLoop(s: LoopState, cp: Checkpoint): void {
  loadTensorMap(s.net, cp.params);
  if (cp.optimizer) s.optimizer.restore(cp.optimizer);
  const rng = cp.rng as { noise: RngState; eval: RngState; diagnostics?: RngState; stats?: RngState };
  s.noise = new Rng(rng.noise);
  s.evalRng = new Rng(rng.eval);
  if (rng.diagnostics) s.diagnosticsRng = new Rng(rng.diagnostics);
  if (rng.stats) s.statsRng = new Rng(rng.stats);
  s.iterator.restore(cp.data as unknown as BatchIteratorState);
  const extra = cp.extra as {
    accumulators: Accumulators;
    epochsDone: number;
    lr: LrSchedule;
    estimator?: EstimatorState;
    pending?: PendingPasses;
  };
  if (extra.estimator) s.estimator.restore?.(extra.estimator);
  s.acc = { ...extra.accumulators };
  s.epochsDone = extra.epochsDone;
  s.step = cp.step;
  s.lr = extra.lr;
  s.pending = extra.pending ? { ...extra.pending, evals: [...extra.pending.evals] } : null;
}

/** Train (or, with `resume`, continue) a run. */
export async function train(o: TrainOptions, resume?: Checkpoint): Promise<TrainResult> {
  const { spec, train: t, data, store, events } = o;
  const n = data.train.n;
  const stepsPerEpoch = Math.ceil(n / t.batchSize);
  const totalSteps = stepsPerEpoch * t.epochs;
  let lr = scheduleOf(t.lr);
  if (resume) {
    lr = (resume.extra as { lr: LrSchedule }).lr;
  } else if (!lr) {
    const grid = typeof t.lr === 'object' && 'grid' in t.lr ? t.lr.grid : undefined;
    const search: LrSearchOptions | LrGridOptions = grid ?? (t.lr === 'search' ? {} : (t.lr as LrSearchSpec).search);
    const criterion: LrCriterion = grid ? 'validation.u_loss' : 'train.objective';
    const trialEpochs = search.trialEpochs ?? (grid ? LR_GRID_DEFAULTS : LR_SEARCH_DEFAULTS).trialEpochs;
    const trialData =
      search.trialExamples && search.trialExamples < n ? firstExamples(data, search.trialExamples) : data;
    const trial = (value: number) => trialObjective(spec, t, trialData, value, trialEpochs, o.shouldStop, criterion);
    let chosen: number;
    try {
      chosen = grid
        ? await gridSearchLearningRate(grid, store, trial, (e) => events?.lrTrial?.(e))
        : await searchLearningRate(search, store, trial, (e) => events?.lrTrial?.(e));
    } catch (e) {
      if (!(e instanceof StopRequested)) throw e;
      // the finished trials are in metrics.jsonl; a resumed run repeats only the interrupted one
      store?.setStatus('stopped', 'stopped during the learning-rate search');
      return { status: 'stopped', step: 0, epoch: 0, lr: 0 };
    }
    lr = { schedule: 'constant', base: chosen };
    store?.appendMetrics({ kind: 'lr-chosen', step: 0, lr: chosen, criterion });
    events?.message?.(
      `learning rate ${chosen.toPrecision(3)} chosen by ${grid ? 'the grid search (validation u_loss)' : 'search'}`,
    );
  }
  const s = newLoop(spec, t, data, lr);
  if (resume) {
    restoreLoop(s, resume);
    store?.appendMetrics({ kind: 'resume', step: s.step, epoch: s.epochsDone });
  }
  const stopRequested = o.shouldStop ?? (() => false);
  const evalTrain = Math.min(o.evalTrainExamples ?? 5000, n);
  // Every pass draws from a copy of its stream, kept only when the pass completes: a pass a stop interrupts leaves
  // the stream as it was, and the resumed run repeats the pass from the same state.
  const evaluate = async (split: 'train' | 'validation' | 'test', epoch: number): Promise<SbnMetrics | undefined> => {
    const target = split === 'train' ? data.train : split === 'validation' ? data.validation : data.test;
    if (!target) return undefined;
    const rng = new Rng(s.evalRng.getState());
    const m = await runInterruptible(
      evaluateSplitPass(s.net, target, t.evalSamples, rng, split === 'train' ? evalTrain : target.n),
      stopRequested,
    );
    s.evalRng = rng;
    store?.appendMetrics({ kind: 'eval', split, step: s.step, epoch, ...m });
    events?.eval?.({ split, step: s.step, epoch, ...m });
    return m;
  };
  const checkpoint = (epoch: number, keep: 'latest' | 'epoch') => {
    if (!store) return;
    store.writeCheckpoint(checkpointOf(s, epoch), { keep });
    events?.checkpoint?.({ step: s.step, epoch });
  };
  const monitor = resolveDiagnostics(spec, t);
  const diagData = monitor.interval > 0 ? diagnosticsBatch(data.train.x, data.train.y, n, monitor.batch) : undefined;
  let lastCheckpoint = Date.now();
  let windowStart = Date.now();
  let windowSamples = 0;
  const epochStart = { time: Date.now() };
  const epochsNow = () => s.epochsDone + s.acc.epochCount / n;
  const runPending = async () => {
    const p = s.pending;
    if (!p) return;
    if (p.diagnostics && diagData) {
      const rng = new Rng(s.diagnosticsRng.getState());
      const plan = s.auto?.plan ?? undefined;
      const r = await runInterruptible(gradientDiagnosticsPass(s.net, diagData, monitor, rng, plan), stopRequested);
      s.diagnosticsRng = rng;
      store?.appendMetrics({ kind: 'diagnostics', step: s.step, epoch: p.epoch, ...r });
      events?.diagnostics?.({ step: s.step, epoch: p.epoch, ...r });
      if (s.auto) {
        const decision = s.auto.update(r, diagData.X.length, t.batchSize * t.samples);
        store?.appendMetrics({ kind: 'auto', step: s.step, epoch: p.epoch, ...decision });
        events?.auto?.({ step: s.step, epoch: p.epoch, ...decision });
      }
    }
    p.diagnostics = false;
    while (p.evals.length > 0) {
      await evaluate(p.evals[0], p.epoch);
      p.evals.shift();
    }
    s.pending = null;
    if (p.epochEnd) {
      const seconds = (Date.now() - epochStart.time) / 1000;
      store?.appendMetrics({ kind: 'epoch', step: s.step, epoch: s.epochsDone, loss: p.epochEnd.loss, seconds });
      events?.epoch?.({ step: s.step, epoch: s.epochsDone, loss: p.epochEnd.loss, seconds });
      epochStart.time = Date.now();
      checkpoint(s.epochsDone, 'epoch');
      lastCheckpoint = Date.now();
    }
  };
  const stopNow = (): TrainResult => {
    const epoch = epochsNow();
    checkpoint(epoch, 'latest');
    store?.setStatus('stopped', `stopped at step ${s.step}`, s.step);
    return { status: 'stopped', step: s.step, epoch, lr: learningRate(s.lr, epoch, t.epochs) };
  };
  try {
    // a Stop that arrived while the data loaded is delivered here; then the passes a stop interrupted, if any
    await yieldToEventLoop();
    if (stopRequested()) return stopNow();
    // estimator auto decides its first choice on the initial network, before the first step
    if (s.auto && !s.auto.decided && s.step === 0 && !s.pending)
      s.pending = { step: 0, epoch: 0, diagnostics: true, evals: [] };
    await runPending();
    while (s.epochsDone < t.epochs) {
      const b = s.iterator.next();
      if (!b) continue;
      const epochNow = s.epochsDone + Math.min(1, (s.acc.epochCount + b.n) / n);
      const rate = learningRate(s.lr, s.epochsDone + s.acc.epochCount / n, t.epochs);
      const wantStats = monitor.statsInterval > 0 && (s.step + 1) % monitor.statsInterval === 0;
      const gradNorms: number[] | undefined = wantStats ? [] : undefined;
      const loss = trainStep(s, t, b, rate, gradNorms);
      s.step++;
      if (wantStats) {
        const x = inputTensor(s.net, b.x, b.n);
        const layers = layerStatistics(s.net, x, s.statsRng, gradNorms);
        x.dispose();
        store?.appendMetrics({ kind: 'layerStats', step: s.step, epoch: epochNow, layers });
        events?.layerStats?.({ step: s.step, epoch: epochNow, layers });
      }
      s.acc.logSum += loss * b.n;
      s.acc.logCount += b.n;
      s.acc.epochSum += loss * b.n;
      s.acc.epochCount += b.n;
      windowSamples += b.n;
      const logPoint = s.step % t.logInterval === 0 || b.epochDone;
      if (logPoint) {
        const seconds = (Date.now() - windowStart) / 1000;
        const record = {
          step: s.step,
          epoch: epochNow,
          loss: s.acc.logSum / s.acc.logCount,
          lr: rate,
          samplesPerSecond: windowSamples / Math.max(seconds, 1e-9),
        };
        store?.appendMetrics({ kind: 'step', ...record });
        events?.step?.({ ...record, stepsPerEpoch, totalSteps });
        s.acc.logSum = 0;
        s.acc.logCount = 0;
        windowStart = Date.now();
        windowSamples = 0;
      }
      let epochEnd: PendingPasses['epochEnd'];
      if (b.epochDone) {
        s.epochsDone++;
        epochEnd = { loss: s.acc.epochSum / s.acc.epochCount };
        s.acc.epochSum = 0;
        s.acc.epochCount = 0;
      }
      const evalNow = b.epochDone || (t.evalInterval > 0 && s.step % t.evalInterval === 0);
      const diagnosticsNow = diagData !== undefined && s.step % monitor.interval === 0;
      s.pending =
        evalNow || diagnosticsNow || epochEnd
          ? {
              step: s.step,
              epoch: epochNow,
              diagnostics: diagnosticsNow,
              evals: evalNow ? ['train', 'validation'] : [],
              ...(epochEnd ? { epochEnd } : {}),
            }
          : null;
      // the step's own work is done and recorded: from here a stop keeps what is left in the checkpoint
      await yieldToEventLoop();
      if (stopRequested()) return stopNow();
      await runPending();
      // a mid-epoch checkpoint after the step's evaluation, so that nothing of the step is left to redo
      if (logPoint && !b.epochDone && store && (Date.now() - lastCheckpoint) / 1000 >= (o.checkpointSeconds ?? 120)) {
        checkpoint(epochNow, 'latest');
        lastCheckpoint = Date.now();
      }
      if (stopRequested()) return stopNow();
    }
    const final: Record<string, SbnMetrics> = {};
    const m = await evaluate('test', s.epochsDone);
    if (m) final.test = m;
    store?.setStatus('finished', undefined, s.step);
    return {
      status: 'finished',
      step: s.step,
      epoch: s.epochsDone,
      lr: learningRate(s.lr, s.epochsDone, t.epochs),
      final,
    };
  } catch (e) {
    if (e instanceof StopRequested) return stopNow();
    if (e instanceof DivergenceError) {
      const kept = store
        ? findResumeCheckpoint(store.dir, (cp) => checkpointProblem(cp, t)).found?.checkpoint.step
        : undefined;
      const message =
        `${e.message}; training stopped` +
        (kept !== undefined
          ? `, the last good checkpoint (step ${kept}) is kept`
          : ', before any checkpoint was written');
      store?.appendMetrics({ kind: 'diverged', step: e.step, layer: e.layer, message });
      store?.setStatus('diverged', message);
      return {
        status: 'diverged',
        step: s.step,
        epoch: s.epochsDone + s.acc.epochCount / n,
        lr: learningRate(s.lr, s.epochsDone + s.acc.epochCount / n, t.epochs),
        message,
      };
    }
    throw e;
  } finally {
    disposeLoop(s);
  }
}
