// The series the run pages and Compare Runs draw: a series as sent (downsampled on the host, min-max per bucket,
// `sbn.maxPointsPerSeries`), a delta to it, the series keys, and which panel kind shows which series.
import type { EvalRecord, EvalSplit, LayerStatsEntry } from '../engine/runs/records';
import type { PanelKind } from './shared';

/** One series as sent: x is the optimizer step; y may hold null (NaN/∞ in metrics.jsonl, or a gap). */
export interface SeriesPayload {
  x: number[];
  y: (number | null)[];
}

/**
 * New points of one series: the webview truncates its copy of the series to `from` points, then appends `x`/`y`.
 * `from` is below the webview's length when the last (still open) downsampling bucket changed, and 0 when the whole
 * series was rebuilt (a coarser bucket size, or a resumed run that dropped recomputed steps).
 */
export interface SeriesDelta extends SeriesPayload {
  from: number;
}

/** Apply a delta to a series in place (the webview's side of the contract; also used by the unit tests). */
export function applySeriesDelta(target: SeriesPayload, d: SeriesDelta): void {
  const from = Math.max(0, Math.min(d.from, target.x.length));
  target.x.length = from;
  target.y.length = from;
  for (let i = 0; i < d.x.length; i++) {
    target.x.push(d.x[i]);
    target.y.push(d.y[i]);
  }
}

// ------------------------------------------------------------------------------------------------- series names
// Series keys: `<split>/<metric>` for evaluation metrics, otherwise a metric name. Diagnostics and layer statistics
// use `diag/…` and `layer/…` prefixes so that one store can serve every panel of a run.

export type { EvalSplit };
export const EVAL_SPLITS = ['train', 'validation', 'test'] as const satisfies readonly EvalSplit[];
export const EVAL_METRICS = ['u_loss', 'acc1', 'acc_e', 'entropy'] as const satisfies readonly (keyof EvalRecord)[];

export const SERIES = {
  /** The estimator's own training objective (`step.loss`). */
  objective: 'objective',
  /** Mean training objective over each epoch (`epoch.loss`). */
  epochObjective: 'epochObjective',
  lr: 'lr',
  samplesPerSecond: 'samplesPerSecond',
  stepsPerSecond: 'stepsPerSecond',
  evalKey: (split: EvalSplit, metric: (typeof EVAL_METRICS)[number]): string => `${split}/${metric}`,
  /** Gradient diagnostics over training at the smallest M: `diag/<metric>/<layer>/<estimator>`. */
  diagKey: (metric: 'cos' | 'rmse', layer: string, estimator: string): string => `diag/${metric}/${layer}/${estimator}`,
  /**
   * estimator auto's choice over training: `diag/auto/<layer>/<candidate>` is the candidate's position (1, 2, …) in
   * the candidate list while the layer trains with it, null otherwise — one lane per candidate.
   */
  autoKey: (layer: string, candidate: string): string => `diag/auto/${layer}/${candidate}`,
  /** Layer statistics: `layer/<stat>/<layer>`. */
  layerKey: (stat: LayerStat, layer: string): string => `layer/${stat}/${layer}`,
} as const;

export const LAYER_STATS = [
  'firingRate',
  'entropy',
  'preStd',
  'preMean',
  'saturated',
  'weightNorm',
  'gradNorm',
] as const satisfies readonly (keyof LayerStatsEntry)[];
export type LayerStat = (typeof LAYER_STATS)[number];

/** The sidebar's sparklines: the training objective and the validation acc_e. */
export const ACTIVE_RUN_SERIES: readonly string[] = [SERIES.objective, SERIES.evalKey('validation', 'acc_e')];
/** What Compare Runs overlays per run. */
export const COMPARE_SERIES: readonly string[] = [
  SERIES.objective,
  SERIES.evalKey('train', 'u_loss'),
  SERIES.evalKey('validation', 'u_loss'),
  SERIES.evalKey('train', 'acc_e'),
  SERIES.evalKey('validation', 'acc_e'),
];

/** Which series keys a panel kind shows. */
export function panelWants(panel: PanelKind, key: string): boolean {
  if (panel === 'activeRun') return ACTIVE_RUN_SERIES.includes(key);
  if (panel === 'compare') return COMPARE_SERIES.includes(key);
  if (panel === 'preview' || panel === 'environment' || panel === 'report') return false;
  if (panel === 'diagnostics') return key.startsWith('diag/');
  if (panel === 'layers') return key.startsWith('layer/');
  return !key.startsWith('diag/') && !key.startsWith('layer/');
}
