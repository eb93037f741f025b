// Figures shared by the Gradient Diagnostics panel, the Estimator Comparison and Run Evaluation panels (webview/)
// and their hosts: the 1/√M reference slope of the "vs M" charts and how an SNR reads when an estimator has no
// variance. Neutral (no Node, no vscode, no DOM, no engine).

/** Key of the 1/√M reference series of a layer's relative-RMSE chart. */
export function sqrtReferenceKey(layer: string): string {
  return `m/rmse-ref/${layer}`;
}

/**
 * The 1/√M reference slope over the given M: what the relative RMSE of an unbiased estimator does as M grows (its
 * variance falls like 1/M). It passes through `anchor` at the smallest M (the median of the estimators' values
 * there, see sqrtReferenceAnchor), so that curves parallel to it are the unbiased ones. Undefined without a positive,
 * finite anchor or with fewer than two M (a slope needs two points).
 */
export function sqrtReference(M: readonly number[], anchor: number): { x: number[]; y: number[] } | undefined {
  if (M.length < 2 || !(anchor > 0) || !Number.isFinite(anchor)) return undefined;
  const m0 = M[0];
  return { x: M.slice(), y: M.map((m) => anchor * Math.sqrt(m0 / m)) };
}

/** The median of the positive, finite values (the estimators' relative RMSE at the smallest M); NaN when none. */
export function sqrtReferenceAnchor(values: readonly number[]): number {
  const v = values.filter((x) => x > 0 && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : Math.sqrt(v[mid - 1] * v[mid]);
}

/**
 * Below this trace of the covariance of one draw (relative to ‖mean‖²), an estimator is deterministic on this batch
 * (tanh, a straight-through estimator without noise): its SNR is infinite, not ‖mean‖² / 1e-300.
 */
export const DETERMINISTIC_RELATIVE_VARIANCE = 1e-24;

/** Whether an estimator with this variance and squared mean norm draws the same gradient every time. */
export function isDeterministic(variance: number, mean2: number): boolean {
  return variance <= DETERMINISTIC_RELATIVE_VARIANCE * Math.max(mean2, 1e-300);
}

/**
 * The SNR as a finite number, or null when the estimator is deterministic (no variance: the SNR is infinite). Run
 * records store a non-finite number as null: with a variance of 0 that is a deterministic estimator too.
 */
export function finiteSnr(variance: number | null, snr: number | null): number | null {
  if (snr === null || !Number.isFinite(snr)) return null;
  if (variance === null) return snr;
  // snr = ‖mean‖² / max(variance, 1e-300): ‖mean‖² = snr · variance (or snr · 1e-300 at zero variance)
  return isDeterministic(variance, snr * Math.max(variance, 1e-300)) ? null : snr;
}

/** An SNR for tables: "∞ (deterministic)" when there is no variance, else 3 significant digits ("—": unknown). */
export function snrText(variance: number | null, snr: number | null): string {
  if (snr === null && variance !== 0) return '—';
  const v = finiteSnr(variance, snr);
  return v === null ? '∞ (deterministic)' : v.toPrecision(3);
}

/** One bar: a value with its interval (none where the figure has none); `infinite`: an SNR without variance. */
export interface BarValue {
  value: number | null;
  low: number | null;
  high: number | null;
  infinite: boolean;
}

/** Bars per estimator (series) and layer (category) of one figure of an estimator comparison. */
export interface ComparisonBars {
  categories: string[];
  series: { estimator: string; values: BarValue[] }[];
}

/** What comparisonBars needs of an EstimatorComparisonView (webview/ imports this module, not the protocol). */
interface ComparisonFigures {
  layers: string[];
  estimators: {
    estimator: string;
    layers: {
      layer: string;
      cos: (number | null)[];
      cosLow: (number | null)[];
      cosHigh: (number | null)[];
      rmse: (number | null)[];
      rmseLow: (number | null)[];
      rmseHigh: (number | null)[];
      snr: number | null;
    }[];
  }[];
}

const finite = (v: number | null | undefined): number | null =>
  v === null || v === undefined || !Number.isFinite(v) ? null : v;

/**
 * The bars of one figure at the M of index `mIndex`: cosine with its 15–85% interval over the groups of M draws,
 * relative RMSE with ± one standard error, or the SNR (no interval; infinite for a deterministic estimator, which
 * draws the same gradient every time).
 */
export function comparisonBars(view: ComparisonFigures, figure: 'cos' | 'rmse' | 'snr', mIndex = 0): ComparisonBars {
  return {
    categories: view.layers.slice(),
    series: view.estimators.map((e) => ({
      estimator: e.estimator,
      values: view.layers.map((layer): BarValue => {
        const l = e.layers.find((x) => x.layer === layer);
        if (!l) return { value: null, low: null, high: null, infinite: false };
        if (figure === 'snr') return { value: finite(l.snr), low: null, high: null, infinite: l.snr === null };
        const [v, lo, hi] = figure === 'cos' ? [l.cos, l.cosLow, l.cosHigh] : [l.rmse, l.rmseLow, l.rmseHigh];
        return { value: finite(v[mIndex]), low: finite(lo[mIndex]), high: finite(hi[mIndex]), infinite: false };
      }),
    })),
  };
}

/** Keys of the Run Evaluation chart's series. */
export const EVALUATION_SERIES = { ensemble: 'eval/ensemble', single: 'eval/single' } as const;

/**
 * The Run Evaluation chart: the ensemble's accuracy at s = 1 … samples, and a single sample's accuracy as a flat line
 * over the same s (it does not depend on s; the gap between the two is what averaging samples buys).
 */
export function evaluationSeries(
  ensemble: readonly (number | null)[],
  acc1: number | null,
): Record<string, { x: number[]; y: (number | null)[] }> {
  const x = ensemble.map((_, i) => i + 1);
  return {
    [EVALUATION_SERIES.ensemble]: { x, y: ensemble.slice() },
    [EVALUATION_SERIES.single]: { x: x.length ? [1, x[x.length - 1]] : [], y: x.length ? [acc1, acc1] : [] },
  };
}
