// The result panels of two one-off jobs (src/extension/panels/resultPanels.ts): SBN: Compare Estimators (gradient
// accuracy of each estimator on one batch, per layer) and SBN: Evaluate Run (accuracy against the number of samples).
// The host sends the whole result in one message; the page draws its strings as text. Each result carries its
// Markdown rendering (the "Open as Markdown" action).

/** One estimator's figures in one layer of an estimator comparison. */
export interface ComparisonLayerFigures {
  layer: string;
  /** Per M of the view: mean cosine over the groups of M draws, and its 15% and 85% quantiles. */
  cos: (number | null)[];
  cosLow: (number | null)[];
  cosHigh: (number | null)[];
  /** Per M: relative RMSE, and the RMSE at ± one standard error of the mean squared error over the groups. */
  rmse: (number | null)[];
  rmseLow: (number | null)[];
  rmseHigh: (number | null)[];
  /** Trace of the covariance of one draw. */
  variance: number;
  /** ‖mean‖² / variance; null when the estimator is deterministic (no variance: the SNR is infinite). */
  snr: number | null;
  /** ‖mean − reference‖ / ‖reference‖. */
  bias: number;
}

/** What the Estimator Comparison panel shows. */
export interface EstimatorComparisonView {
  /** The model's name. */
  model: string;
  /** The reference gradient in words, e.g. "the exact gradient (enumeration)". */
  reference: string;
  exactReference: boolean;
  /** Relative standard error of the reference per layer (0 for exact). */
  referenceError: number[];
  referenceDraws: number;
  draws: number;
  M: number[];
  layers: string[];
  estimators: { estimator: string; seconds: number; secondsPerDraw: number; layers: ComparisonLayerFigures[] }[];
  /** Where the batch came from and which backend computed it. */
  note: string;
  markdown: string;
}

/** What the Run Evaluation panel shows. */
export interface RunEvaluationView {
  run: string;
  model: string;
  estimator: string;
  split: 'test' | 'validation' | 'train';
  examples: number;
  step: number;
  epoch: number;
  backend: string;
  /** Accuracy of the ensemble (mean prediction) of s samples, for s = 1 … samples. */
  ensemble: number[];
  /** Accuracy of a single sample (acc1), and the metrics of evaluateSplit. */
  acc1: number;
  accE: number;
  metricSamples: number;
  uLoss: number;
  entropy: number;
  /**
   * Where the evaluation was saved, as `<run>/eval-<split>.json` (the run folder's name, not a path of the machine:
   * the panel shows it, and exports carry it).
   */
  file: string;
  markdown: string;
}

/** Host → a result page. */
export type ResultHostMessage =
  { type: 'estimatorComparison'; view: EstimatorComparisonView } | { type: 'runEvaluation'; view: RunEvaluationView };

/** A result page's own action: open the result as a Markdown document. */
export type ResultWebviewMessage = { type: 'openMarkdown' };
