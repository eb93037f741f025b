// The result files of `sbn experiment gradacc` and `sbn experiment train` (the paper's Experiments 1 and 2,
// docs/math.md §3 and §4). Written as JSON beside the HTML report, which is drawn from exactly this data (src/report/).
// Plain data only (no engine imports): the report page (webview/report.ts) type-checks against this file in the
// browser build.

/** One layer's accuracy of M-sample averages (src/engine/gradients/accuracy.ts computes it). */
export interface LayerAccuracy {
  layer: string;
  /** Per M: mean cosine over trials, its 15% and 85% quantiles, relative RMSE and the number of trials. */
  cos: number[];
  cosQ15: number[];
  cosQ85: number[];
  rmse: number[];
  trials: number[];
  /** Sample standard deviation over trials of the cosine and of the squared relative error (for error bars). */
  cosStd: number[];
  sqErrStd: number[];
}

/** What a report needs of a GradientAccuracyResult (which satisfies it). */
export interface GradientAccuracyData {
  model: string;
  draws: number;
  seed: number;
  M: number[];
  exactLoss: number;
  exactNorms: { layer: string; norm: number }[];
  estimators: { label: string; estimator: string; loss: number; seconds: number; layers: LayerAccuracy[] }[];
}

/** Where a result was computed. */
export interface ExperimentEnvironment {
  created: string;
  backend: string;
  kernels: string;
  cpu: string;
  cpus: number;
  node: string;
  platform: string;
  /** `sbn …` as typed, to reproduce the result; absolute paths in it are written relative to the working directory. */
  command: string;
}

/** The authors' value of one curve at our values of M (null where they have no point). */
export interface ReferenceCurve {
  cos: (number | null)[];
  rmse: (number | null)[];
}

/** Largest deviation of our curve from the authors' over the M where both exist. */
export interface CurveDeviation {
  /** max |cos_ours − cos_authors| */
  maxCosDeviation: number;
  /** max |rmse_ours / rmse_authors − 1| */
  maxRmseRelDeviation: number;
  /** the M where each maximum occurs */
  atMCos: number;
  atMRmse: number;
}

export interface GradaccCheckpoint {
  /** e.g. `authors-chk-100`, `ours-chk-2000` */
  id: string;
  title: string;
  /**
   * `authors`: their stored checkpoint (reference/authors-psa-neurips2020); `recreated`: our REINFORCE training
   * (docs/math.md §3.2).
   */
  source: 'authors' | 'recreated';
  /** Training epochs behind the parameters. */
  epoch: number;
  result: GradientAccuracyData;
  /**
   * The authors' published curves this checkpoint is set against: `quantitative` (same parameters: chk-100) or
   * `qualitative` (our re-created chk-2000 against theirs). Keyed by estimator label, one entry per layer.
   */
  reference?: {
    checkpoint: string;
    kind: 'quantitative' | 'qualitative';
    curves: Record<string, ReferenceCurve[]>;
    deviations: Record<string, CurveDeviation[]>;
  };
  /** Plain-language findings (who wins at which M, bias floors), computed from the numbers. */
  findings: string[];
}

export interface GradaccTrainingLog {
  epochs: number;
  lr: number;
  momentum: number;
  batchSize: number;
  seed: number;
  /** Mean training objective (REINFORCE's loss estimate) per epoch. */
  loss: number[];
  /** Exact expected loss at each saved checkpoint epoch. */
  exactLoss: Record<string, number>;
  seconds: number;
}

export interface GradaccExperiment {
  format: 'sbn-experiment-gradacc';
  version: 1;
  environment: ExperimentEnvironment;
  draws: number;
  seed: number;
  M: number[];
  checkpoints: GradaccCheckpoint[];
  training?: GradaccTrainingLog;
}

/** One method of a training suite (docs/math.md §4.3). */
export interface TrainSuiteMethod {
  method: string;
  label: string;
  status: 'pending' | 'running' | 'finished' | 'stopped' | 'crashed' | 'diverged';
  /** The method's run folder, relative to the suite folder (where the report lies): `runs/<date>-<name>`. */
  runDir: string | null;
  /** One of the authors' choices where ours differ (Concrete at τ = 0.5, the deterministic tanh(a) network). */
  authors?: boolean;
  /** Chosen by the lr search (docs/math.md §4.5) and every trial it made (objective null: diverged). */
  lr: number | null;
  lrTrials: { lr: number; objective: number; diverged: boolean }[];
  /**
   * What the search minimised: `validation.u_loss` (the grid of the fair protocol) or `train.objective` (Brent's
   * search over the trial's mean training objective). Absent before the search recorded it (Brent's).
   */
  lrCriterion?: 'train.objective' | 'validation.u_loss';
  epochs: number;
  secondsPerEpoch: number | null;
  /** Per epoch (x = epoch, fractional for intermediate evaluations) of the SBN metrics and the method's own loss. */
  curves: {
    train: { epoch: number[]; u_loss: number[]; acc1: number[]; acc_e: number[] };
    validation: { epoch: number[]; u_loss: number[]; acc1: number[]; acc_e: number[] };
    /** the method's own training objective r_loss (mean over each epoch) */
    objective: { epoch: number[]; value: number[] };
  };
  /** Test accuracy as a true SBN vs the number of samples averaged (docs/math.md §4.7). */
  test: { split: string; samples: number[]; accuracy: number[] } | null;
  message?: string;
  /** With `--seeds N` (N > 1): every seed's run (seed 1 is the one above) and its final metrics. */
  seeds?: SeedRun[];
  /**
   * With `--seeds N`: per final metric (`validation.u_loss`, `validation.acc1`, `validation.acc_e`, `test.acc1`:
   * one sample, `test.acc`: all samples) the statistics over the finished seeds (src/engine/sweeps/report.ts).
   */
  spread?: Record<string, SeedStats>;
  /**
   * With at least 2 finished seeds: per curve (SEED_CURVES: `train.u_loss`, …, `objective`, `test.accuracy`) the
   * mean and 95 % interval over the finished seeds at each x (epoch, resp. samples averaged) — the charts' bands.
   */
  bands?: Record<string, SeedBand>;
}

/** A curve over seeds: at each x, the mean and 95 % Student-t interval (null where fewer than 2 seeds have a value). */
export interface SeedBand {
  x: number[];
  mean: (number | null)[];
  lower: (number | null)[];
  upper: (number | null)[];
  /** Seeds with a value at each x. */
  n: number[];
}

/** One seed's run of a method: its folder (relative to the suite folder), status and final metrics (null: none). */
export interface SeedRun {
  seed: number;
  runDir: string | null;
  status: TrainSuiteMethod['status'];
  final: Record<string, number | null>;
}

/** Mean, sample standard deviation and 95 % Student-t interval over seeds (null below 1 resp. 2 values). */
export interface SeedStats {
  n: number;
  mean: number | null;
  sd: number | null;
  ci95: [number, number] | null;
}

export interface TrainSuiteReport {
  format: 'sbn-experiment-train';
  version: 1;
  suite: string;
  title: string;
  description: string;
  environment: ExperimentEnvironment;
  model: string;
  methods: TrainSuiteMethod[];
  /** Per-layer bias of estimators at init and at the end of training (`sbn experiment bias`), where measured. */
  bias?: SuiteBiasEntry[];
}

/** One layer's bias of an estimator's mean gradient against the diagnostics reference (suiteBias.ts). */
export interface LayerBias {
  layer: string;
  /** Cosine of the estimator's mean gradient (over the draws) to the reference. */
  cos: number;
  /** ‖mean − reference‖ / ‖reference‖. */
  relativeError: number;
  /** Relative standard error of the reference (0 where it is exact). */
  referenceError: number;
  /** Relative standard error of the estimator's mean: √(trace of one draw's covariance / draws) / ‖reference‖. */
  meanError: number;
  /**
   * The relative error that noise alone gives, √(meanError² + referenceError²): a relativeError not clearly above it
   * (e.g. below twice it) says nothing about bias; more reference draws lower it.
   */
  noiseFloor: number;
}

/**
 * The per-layer bias of one method's estimator at one stage of a suite: `init` on the suite's initial network (the
 * same for every method, docs/math.md §4.4), `final` on the last checkpoint of the method's seed-1 run.
 */
export interface SuiteBiasEntry {
  stage: 'init' | 'final';
  method: string;
  estimator: string;
  /** The run whose checkpoint was measured (final), relative to the suite folder; null at init. */
  runDir: string | null;
  epoch: number;
  /** `exact` or the unbiased estimator whose mean is the reference (src/engine/gradients/reference.ts). */
  reference: 'exact' | 'local-expectation' | 'reinforce-loo';
  referenceDraws: number;
  /** The estimator's draws and the training examples (the first N of the run's training split) they were on. */
  draws: number;
  examples: number;
  seed: number;
  seconds: number;
  layers: LayerBias[];
}
