// The typed form of a model file (*.sbn.json / *.sbn.yaml). The JSON Schema in schemas/ describes the
// same structure for editors; parseModel() turns a file into this type or into a list of SpecErrors.
import type { TrainingEstimatorName } from '../../estimators';

/** Binary state coding of the hidden units: ±1 (`pm1`) or {0,1} (`01`). docs/math.md §1.2. */
export type StateCoding = 'pm1' | '01';
/** Noise z in x = sign(a − z): its CDF F is the sigmoid (`logistic`) or Φ (`normal`). docs/math.md §1.1. */
export type NoiseKind = 'logistic' | 'normal';
/** `logistic`: one output unit, labels ±1, ℓ = log(1 + e^{−yη}). `nll`: softmax over K classes, labels 0..K−1. */
export type OutputLoss = 'logistic' | 'nll';

export interface DenseLayerSpec {
  type: 'dense';
  units: number;
  /** Optional display name; defaults to `dense<k>` (k counted from 1 over hidden layers). */
  name?: string;
}

/**
 * A binary convolution (docs/math.md §1.4): odd kernel, zero padding, bias; noise i.i.d. per output unit.
 * Inputs and outputs are [channels, height, width] (channel-major, as in PyTorch).
 */
export interface ConvLayerSpec {
  type: 'conv';
  filters: number;
  /** Odd kernel size: 1, 3 or 5. */
  kernel: number;
  /** Default 1. */
  stride?: number;
  /** Zero padding on every side; default 0. */
  padding?: number;
  name?: string;
}

/** Flattens a [C, H, W] feature map channel-major into a vector (no parameters, no noise). */
export interface FlattenLayerSpec {
  type: 'flatten';
  name?: string;
}

/** Hidden layers. `dense` flattens a [C, H, W] input implicitly; `conv` needs a [C, H, W] input. */
export type LayerSpec = DenseLayerSpec | ConvLayerSpec | FlattenLayerSpec;

export interface OutputSpec {
  units: number;
  loss: OutputLoss;
}

/** Built-in data sets, or `file`: a .json/.csv file of features and labels, or a folder of IDX files. */
export type DatasetName = 'mnist' | 'fashion-mnist' | 'toy-2d' | 'cifar10' | 'file';

export interface DataSpec {
  dataset: DatasetName;
  /** Required for `cifar10` (folder of data_batch_*.bin) and `file`; relative to the model file. */
  path?: string;
  /** Training examples held out for validation: a count (≥ 1) or a fraction in (0, 1). Default 0 (none). */
  validation?: number;
  /** Seed of the train/validation permutation (the paper uses 1; docs/math.md §4.1). Default 1. */
  splitSeed?: number;
  /**
   * `flipcrop`: random horizontal flip then random crop from the image padded by 4 (docs/math.md §4.1).
   * Default none.
   */
  augment?: 'none' | 'flipcrop';
  /** Input scaling: `unit` [0, 1] (default), `pm1` [−1, 1], `standardize` (per feature, training statistics). */
  scale?: 'unit' | 'pm1' | 'standardize';
  /** Use only the first N training examples (after the split); for quick runs. */
  limit?: number;
}

export interface OptimizerSpec {
  type: 'sgd' | 'adam';
  /** SGD momentum; default 0.9. */
  momentum?: number;
  /** SGD Nesterov momentum; default true (docs/math.md §4.5). */
  nesterov?: boolean;
  /** Adam; defaults 0.9, 0.999, 1e-8. */
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** L2 weight decay; default 0. */
  weightDecay?: number;
}

/** A learning-rate schedule over epochs (fractional epochs: the schedule is evaluated every step). */
export type LrSchedule =
  | { schedule: 'constant'; base: number }
  | { schedule: 'step'; base: number; stepEpochs: number; gamma: number }
  | { schedule: 'cosine'; base: number; min?: number };

/**
 * Bounded search over log10(lr) with short trial runs (docs/math.md §4.5: Brent's bounded minimisation over [−6, 0],
 * at most 10 trials of 5 epochs, divergence = +∞). The chosen lr is then kept constant.
 */
export interface LrSearchSpec {
  /** trialExamples: trials train on the first N training examples only (quick searches on big data sets). */
  search: { min?: number; max?: number; trials?: number; trialEpochs?: number; trialExamples?: number };
}

/**
 * A fixed grid over log10(lr), min to max in steps of `step` decades, every rate trained from the same initial
 * network for `trialEpochs` epochs and judged by the validation SBN u_loss at the trial's end (docs/math.md §4.5,
 * "the fair protocol"); where the best rate lies on the grid's edge, the grid grows one step beyond it, at most
 * `extend` times per side. Needs a validation split. Defaults: LR_GRID_DEFAULTS (src/engine/spec/model.ts).
 */
export interface LrGridSpec {
  /** trialExamples: trials train on the first N training examples only (quick searches on big data sets). */
  grid: { min?: number; max?: number; step?: number; trialEpochs?: number; trialExamples?: number; extend?: number };
}

/** A number is a constant lr; `"search"` is an lr search with the paper's defaults. */
export type LrSpec = number | 'search' | LrSchedule | LrSearchSpec | LrGridSpec;

/** Training activation of estimator `tanh` (docs/math.md §2.9): the mean field E[x | a], or the authors' tanh(a). */
export type TanhActivation = 'mean-field' | 'tanh';

/** `estimator: auto` (docs/math.md §3.9): per layer, the candidate of least error per unit cost in the diagnostics. */
export interface AutoSpec {
  /** The estimators to choose from; default psa, dste, arm (reinforce, with its loo baseline, needs samples ≥ 2). */
  candidates?: TrainingEstimatorName[];
  /** Exponent of the cost per step in the score MSE × cost^costWeight; 0 = error alone. Default 1. */
  costWeight?: number;
  /** Diagnostics passes a new choice is kept before it may change again. Default 3. */
  stickyPasses?: number;
}

export interface TrainSpec {
  /** Any estimator but `exact` (src/estimators.ts), or `auto`: chosen per layer from the diagnostics. */
  estimator: TrainingEstimatorName | 'auto';
  /** Only with estimator `auto`. */
  auto?: AutoSpec;
  /** Concrete / ST Gumbel / Gumbel-Rao temperature; default 1. */
  tau?: number;
  /** Gumbel-Rao's conditional noise draws per unit; default 10. */
  k?: number;
  /** Estimator `tanh` only: `mean-field` (default) or the authors' deterministic `tanh` network. */
  activation?: TanhActivation;
  /** REINFORCE control variate; default none. */
  baseline?: 'none' | 'mean' | 'loo' | 'input';
  /** Noise samples per example per step (the paper uses 1; docs/math.md §4.3); `loo` needs ≥ 2. Default 1. */
  samples?: number;
  optimizer?: OptimizerSpec;
  lr: LrSpec;
  /** Default 64. */
  batchSize?: number;
  /** Default 10. */
  epochs?: number;
  /** Seed of initialisation, data order and noise. Default 1. */
  seed?: number;
  /** Clamp every gradient entry to [−clip, clip]; default 1000 (docs/math.md §4.5). */
  clip?: number;
  /** `data-dependent` (default): per-channel normalisation of a tanh network on one batch (docs/math.md §4.4). */
  init?: 'default' | 'data-dependent';
  /** Evaluation metrics every N steps (and at every epoch end); default 0 = epoch ends only. */
  evalInterval?: number;
  /** SBN samples per example for the evaluation metrics (the paper uses 10; docs/math.md §4.6). Default 10. */
  evalSamples?: number;
  /** Training-loss log interval in steps; default 10. */
  logInterval?: number;
}

/** Gradient diagnostics and layer statistics while training (issue: live diagnostics). */
export interface DiagnosticsSpec {
  /** Steps between gradient-diagnostic passes; 0 = off (default). */
  interval?: number;
  estimators?: TrainingEstimatorName[];
  /** Default 50. */
  draws?: number;
  /** Default 10 s. */
  budgetSeconds?: number;
  /** Target relative standard error of a local-expectation reference per layer; default 0.05. */
  referenceTargetError?: number;
  /** Default 64. */
  batch?: number;
  /** Steps between layer statistics; default train.logInterval; 0 = off. */
  statsInterval?: number;
}

export interface ModelSpec {
  name: string;
  /** [features] for dense inputs, [channels, height, width] for images. */
  input: { shape: number[] };
  states: StateCoding;
  noise: NoiseKind;
  layers: LayerSpec[];
  output: OutputSpec;
  data?: DataSpec;
  train?: TrainSpec;
  diagnostics?: DiagnosticsSpec;
}

/** One problem found in a model file. `path` uses the file's own keys, e.g. `layers[2].units`. */
export interface SpecError {
  file?: string;
  path: string;
  /** 1-based line and column of the offending value, when the source text is known. */
  line?: number;
  column?: number;
  /** End of the offending text (exclusive, 1-based), for editors that underline a range. */
  endLine?: number;
  endColumn?: number;
  /** What was expected, in words a user understands: "expected an integer ≥ 1, got 0". */
  message: string;
  /**
   * Which stage found it: `syntax` (the text is not valid JSON/YAML; also duplicate keys), `schema` (the JSON
   * Schema rejects the value) or `semantic` (rules beyond the schema). Absent for an unreadable file or an internal
   * error. Editors use it to leave out what another validator (VS Code's JSON language service) already reports.
   */
  kind?: SpecErrorKind;
}

/** The stage of parseModelText that found a SpecError. */
export type SpecErrorKind = 'syntax' | 'schema' | 'semantic';

export type ParseResult = { ok: true; model: ModelSpec } | { ok: false; errors: SpecError[] };
