// The typed model: built from a validated file value (defaults filled in) and the quantities derived from it.
import { defaultLayerName, layerGeometry } from './geometry';
import type { DataSpec, LayerSpec, LrSpec, ModelSpec, NoiseKind, OptimizerSpec, StateCoding, TrainSpec } from './types';

export { defaultLayerName } from './geometry';

export const DEFAULT_STATES: StateCoding = 'pm1';
export const DEFAULT_NOISE: NoiseKind = 'logistic';

/** Conv layer defaults. */
export const CONV_DEFAULTS = { stride: 1, padding: 0 } as const;

/** What toModelSpec fills in a `data` section where the file leaves a key out. */
export const DATA_DEFAULTS = {
  validation: 0,
  splitSeed: 1,
  augment: 'none',
  scale: 'unit',
} as const satisfies Partial<DataSpec>;

/** What toModelSpec fills in a `train` section where the file leaves a key out (docs/math.md §4.3–4.6). */
export const TRAIN_DEFAULTS = {
  samples: 1,
  batchSize: 64,
  epochs: 10,
  seed: 1,
  clip: 1000,
  init: 'data-dependent',
  evalInterval: 0,
  evalSamples: 10,
  logInterval: 10,
} as const satisfies Partial<TrainSpec>;

/** Optimiser settings filled in per type; without an `optimizer` key the SGD ones are used (docs/math.md §4.5). */
export const OPTIMIZER_DEFAULTS = {
  sgd: { type: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 0 },
  adam: { type: 'adam', beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 },
} as const satisfies Record<OptimizerSpec['type'], OptimizerSpec>;

/** Defaults of an lr search (docs/math.md §4.5). Not filled in: `lr` is kept as written; the trainer applies these. */
export const LR_SEARCH_DEFAULTS = { min: -6, max: 0, trials: 10, trialEpochs: 5 } as const;

/**
 * Defaults of a fixed-grid lr search (docs/math.md §4.5, the fair protocol): log10 lr from −4 to 0 in half decades
 * (9 rates), trials of 2 epochs, the grid extended at most twice beyond an edge that holds the best rate. Not filled
 * in: `lr` is kept as written; the trainer applies these.
 */
export const LR_GRID_DEFAULTS = { min: -4, max: 0, step: 0.5, trialEpochs: 2, extend: 2 } as const;

/** Activation of estimator `tanh` when `activation` is left out (not filled in: it stays absent). */
export const DEFAULT_TANH_ACTIVATION = 'mean-field';

/** Concrete temperature when `tau` is left out (not filled in: `tau` stays absent). */
export const DEFAULT_TAU = 1;

/** Gumbel-Rao's conditional noise draws per unit when `k` is left out (not filled in: `k` stays absent). */
export const DEFAULT_GUMBEL_RAO_K = 10;

/**
 * The ModelSpec of a value that passed schema and semantic validation. Only known keys are copied (`$schema`
 * is dropped); `states` and `noise` get their defaults; a layer keeps `name` only when the file gives one; conv
 * layers get stride 1 and padding 0; `data` and `train` (when present) get their scalar defaults and the default
 * optimiser. Optional keys without a default (data.path, data.limit, train.tau, train.baseline, train.k,
 * train.activation) stay absent.
 */
export function toModelSpec(value: unknown): ModelSpec {
  const v = value as ModelSpec;
  const model: ModelSpec = {
    name: v.name,
    input: { shape: [...v.input.shape] },
    states: v.states ?? DEFAULT_STATES,
    noise: v.noise ?? DEFAULT_NOISE,
    layers: v.layers.map(copyLayer),
    output: { units: v.output.units, loss: v.output.loss },
  };
  if (v.data !== undefined) model.data = copyData(v.data);
  if (v.train !== undefined) model.train = copyTrain(v.train);
  if (v.diagnostics !== undefined)
    model.diagnostics = {
      ...v.diagnostics,
      ...(v.diagnostics.estimators ? { estimators: [...v.diagnostics.estimators] } : {}),
    };
  return model;
}

/**
 * The model with gradient diagnostics every `interval` steps when its file has no `diagnostics` section (a default
 * from outside the file, e.g. the extension's setting sbn.diagnostics.interval); unchanged otherwise, or for 0.
 */
export function withDiagnosticsDefault(model: ModelSpec, interval: number | undefined): ModelSpec {
  if (model.diagnostics !== undefined || !interval || !Number.isInteger(interval) || interval < 0) return model;
  return { ...model, diagnostics: { interval } };
}

function named<T extends LayerSpec>(layer: T, name: string | undefined): T {
  return name === undefined ? layer : { ...layer, name };
}

function copyLayer(l: LayerSpec): LayerSpec {
  switch (l.type) {
    case 'dense':
      return named({ type: 'dense', units: l.units }, l.name);
    case 'conv':
      return named(
        {
          type: 'conv',
          filters: l.filters,
          kernel: l.kernel,
          stride: l.stride ?? CONV_DEFAULTS.stride,
          padding: l.padding ?? CONV_DEFAULTS.padding,
        },
        l.name,
      );
    case 'flatten':
      return named({ type: 'flatten' }, l.name);
  }
}

/** Keys whose value is present (not undefined), in `keys` order. */
function pick<T extends object, K extends keyof T>(from: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (from[k] !== undefined) out[k] = from[k];
  return out;
}

function copyData(d: DataSpec): DataSpec {
  return {
    dataset: d.dataset,
    ...pick(d, ['path']),
    validation: d.validation ?? DATA_DEFAULTS.validation,
    splitSeed: d.splitSeed ?? DATA_DEFAULTS.splitSeed,
    augment: d.augment ?? DATA_DEFAULTS.augment,
    scale: d.scale ?? DATA_DEFAULTS.scale,
    ...pick(d, ['limit']),
  };
}

function copyOptimizer(o: OptimizerSpec | undefined): OptimizerSpec {
  if (o === undefined) return { ...OPTIMIZER_DEFAULTS.sgd };
  if (o.type === 'adam') {
    const { adam } = OPTIMIZER_DEFAULTS;
    return {
      type: 'adam',
      beta1: o.beta1 ?? adam.beta1,
      beta2: o.beta2 ?? adam.beta2,
      epsilon: o.epsilon ?? adam.epsilon,
      weightDecay: o.weightDecay ?? adam.weightDecay,
    };
  }
  const { sgd } = OPTIMIZER_DEFAULTS;
  return {
    type: 'sgd',
    momentum: o.momentum ?? sgd.momentum,
    nesterov: o.nesterov ?? sgd.nesterov,
    weightDecay: o.weightDecay ?? sgd.weightDecay,
  };
}

function copyLr(lr: LrSpec): LrSpec {
  if (typeof lr === 'number' || typeof lr === 'string') return lr;
  if ('search' in lr) return { search: pick(lr.search, ['min', 'max', 'trials', 'trialEpochs', 'trialExamples']) };
  if ('grid' in lr) return { grid: pick(lr.grid, ['min', 'max', 'step', 'trialEpochs', 'trialExamples', 'extend']) };
  switch (lr.schedule) {
    case 'constant':
      return { schedule: 'constant', base: lr.base };
    case 'step':
      return { schedule: 'step', base: lr.base, stepEpochs: lr.stepEpochs, gamma: lr.gamma };
    case 'cosine':
      return { schedule: 'cosine', base: lr.base, ...pick(lr, ['min']) };
  }
}

/** A train section's settings that have a default (TRAIN_DEFAULTS), filled in: the one place they are applied. */
export function trainSettingsWithDefaults(t: TrainSpec) {
  const d = TRAIN_DEFAULTS;
  return {
    samples: t.samples ?? d.samples,
    batchSize: t.batchSize ?? d.batchSize,
    epochs: t.epochs ?? d.epochs,
    seed: t.seed ?? d.seed,
    clip: t.clip ?? d.clip,
    init: t.init ?? d.init,
    evalInterval: t.evalInterval ?? d.evalInterval,
    evalSamples: t.evalSamples ?? d.evalSamples,
    logInterval: t.logInterval ?? d.logInterval,
  };
}

function copyTrain(t: TrainSpec): TrainSpec {
  return {
    estimator: t.estimator,
    ...pick(t, ['tau', 'baseline', 'k', 'activation']),
    ...(t.auto ? { auto: { ...t.auto, ...(t.auto.candidates ? { candidates: [...t.auto.candidates] } : {}) } } : {}),
    optimizer: copyOptimizer(t.optimizer),
    lr: copyLr(t.lr),
    ...trainSettingsWithDefaults(t),
  };
}

/** Why a model file without a `train` section cannot be trained (the CLI and the editor say it alike). */
export const NO_TRAIN_SECTION = 'the model file has no train section (estimator, lr, epochs, …)';

/**
 * Whether a model file can be trained: it has a `train` section (a file without one, like toy2d-gradeval, is for
 * gradient evaluation). Undefined (a file that does not parse): offered, so that training reports its problems.
 */
export function canTrain(model: ModelSpec | undefined): boolean {
  return model === undefined || model.train !== undefined;
}

/** Display names of the hidden layers, explicit or default, in order. */
export function hiddenLayerNames(model: ModelSpec): string[] {
  return model.layers.map((l, i) => l.name ?? defaultLayerName(l.type, i));
}

/** Trainable parameters (weights and biases) of all layers, the output layer included. */
export function parameterCount(model: ModelSpec): number {
  return layerGeometry(model).reduce((sum, g) => sum + g.params, 0);
}

/** Stochastic binary units per example: all hidden dense and conv units (flatten and the output have none). */
export function binaryUnitCount(model: ModelSpec): number {
  return layerGeometry(model).reduce((sum, g) => sum + g.binaryUnits, 0);
}
