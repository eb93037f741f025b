// Experiment 1 of the paper (docs/math.md §3.3): how close M-sample averages of each estimator come to the exact
// gradient, or, where enumeration does not fit, to the diagnostics reference (reference.ts, §3.8). The stream of
// single-draw estimates is cut into consecutive non-overlapping groups of M; each group mean is one trial; per layer
// we report the mean cosine similarity (with its 15–85% band) and the relative RMSE sqrt(mean ||ĝ_M − g||² / ||g||²).
import type { Network } from '../model/network';
import { networkValues, parameterSizes } from '../model/network';
import { exactGradient } from '../estimators/exact';
import { exactCost } from '../estimators/exactCost';
import { gradientDraws, type Dataset } from './draws';
import { runToEnd } from '../passes';
import {
  DEFAULT_REFERENCE_MAX_DRAWS,
  DEFAULT_REFERENCE_TARGET_ERROR,
  referenceGradientPass,
  type ReferenceKind,
} from './reference';
import type { EstimatorName, EstimatorOptions } from '../estimators';
import type { GradientAccuracyData, LayerAccuracy } from '../experiments/types';

export type { LayerAccuracy };

/** The 36 values of M of the paper's figure. */
export const PAPER_M = [
  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000,
  2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000,
];

/** Largest number of stored per-draw values (draws × parameters) per estimator. */
export const MAX_STORED_VALUES = 1e8;

export interface EstimatorEntry {
  /** Label in tables and JSON, e.g. `psa`, `concrete(tau=0.1)`. */
  label: string;
  name: EstimatorName;
  options: EstimatorOptions;
}

export interface EstimatorAccuracy {
  label: string;
  estimator: EstimatorName;
  options: EstimatorOptions;
  loss: number;
  seconds: number;
  layers: LayerAccuracy[];
}

/** What the estimators were compared with. */
export interface AccuracyReference {
  kind: ReferenceKind;
  /** Draws of the sampled reference (0 for exact). */
  draws: number;
  /** Relative standard error of the reference per layer, ‖SE‖ / ‖mean‖ (0 for exact). */
  relativeError: number[];
  seconds: number;
}

/**
 * The report data (experiments/types.ts) with each estimator's name and options and the reference used.
 * `exactLoss` is null where the reference is sampled; `exactNorms` are then the norms of the sampled reference.
 */
export interface GradientAccuracyResult extends Omit<GradientAccuracyData, 'estimators' | 'exactLoss'> {
  exactLoss: number | null;
  referenceGradient: AccuracyReference;
  estimators: EstimatorAccuracy[];
}

export interface GradientAccuracyOptions {
  draws: number;
  seed: number;
  M: number[];
  /**
   * The sampled reference where enumeration does not fit: draws of local expectation until every layer's relative
   * standard error is below `targetError` or `maxDraws` are spent (no clock: reproducible from the seed).
   */
  reference?: { targetError?: number; maxDraws?: number };
  onProgress?: (label: string, done: number, total: number) => void;
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function stdOf(values: Float64Array, mean: number): number {
  if (values.length < 2) return 0;
  let s = 0;
  for (const v of values) s += (v - mean) ** 2;
  return Math.sqrt(s / (values.length - 1));
}

/** Accuracy of one layer's draws [D × P] (row-major) against the exact gradient g, for every M. */
export function layerAccuracy(
  layer: string,
  draws: Float64Array,
  P: number,
  g: Float64Array,
  Ms: number[],
): LayerAccuracy {
  const D = draws.length / P;
  let gNorm2 = 0;
  for (let i = 0; i < P; i++) gNorm2 += g[i] * g[i];
  const gNorm = Math.sqrt(gNorm2);
  const out: LayerAccuracy = { layer, cos: [], cosQ15: [], cosQ85: [], rmse: [], trials: [], cosStd: [], sqErrStd: [] };
  const avg = new Float64Array(P);
  for (const M of Ms) {
    const T = Math.floor(D / M);
    const cosines = new Float64Array(T);
    const sqErr = new Float64Array(T);
    for (let t = 0; t < T; t++) {
      avg.fill(0);
      for (let d = t * M; d < (t + 1) * M; d++) {
        const row = d * P;
        for (let i = 0; i < P; i++) avg[i] += draws[row + i];
      }
      let dot = 0;
      let n2 = 0;
      let e2 = 0;
      for (let i = 0; i < P; i++) {
        const v = avg[i] / M;
        dot += v * g[i];
        n2 += v * v;
        e2 += (v - g[i]) ** 2;
      }
      cosines[t] = n2 > 0 ? dot / (Math.sqrt(n2) * gNorm) : 0;
      sqErr[t] = e2 / gNorm2;
    }
    const meanCos = cosines.reduce((a, b) => a + b, 0) / T;
    const meanSq = sqErr.reduce((a, b) => a + b, 0) / T;
    const sorted = Float64Array.from(cosines).sort();
    out.cos.push(meanCos);
    out.cosQ15.push(quantile(sorted, 0.15));
    out.cosQ85.push(quantile(sorted, 0.85));
    out.rmse.push(Math.sqrt(meanSq));
    out.trials.push(T);
    out.cosStd.push(stdOf(cosines, meanCos));
    out.sqErrStd.push(stdOf(sqErr, meanSq));
  }
  return out;
}

/** The exact gradient where enumeration fits, else the sampled diagnostics reference (docs/math.md §3.8). */
function accuracyReference(
  net: Network,
  data: Dataset,
  options: GradientAccuracyOptions,
): { layers: Float64Array[]; exactLoss: number | null; info: AccuracyReference } {
  const started = Date.now();
  if (!exactCost(net.spec, data.X.length).refusal) {
    const exact = exactGradient(net.spec, networkValues(net), data.X, data.Y);
    return {
      layers: exact.layers,
      exactLoss: exact.loss,
      info: {
        kind: 'exact',
        draws: 0,
        relativeError: exact.layers.map(() => 0),
        seconds: (Date.now() - started) / 1000,
      },
    };
  }
  const r = runToEnd(
    referenceGradientPass(net, data, {
      // a stream of its own, apart from the estimators' (seed·7919 + i·104729)
      seed: (options.seed * 7919 + 7777) >>> 0,
      targetError: options.reference?.targetError ?? DEFAULT_REFERENCE_TARGET_ERROR,
      maxDraws: options.reference?.maxDraws ?? DEFAULT_REFERENCE_MAX_DRAWS,
      budgetSeconds: Infinity,
      ignoreClock: true,
    }),
  );
  return {
    layers: r.layers,
    exactLoss: null,
    info: { kind: r.kind, draws: r.draws, relativeError: r.relativeError, seconds: r.seconds },
  };
}

export function gradientAccuracy(
  net: Network,
  data: Dataset,
  entries: EstimatorEntry[],
  options: GradientAccuracyOptions,
): GradientAccuracyResult {
  const sizes = parameterSizes(net);
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total * options.draws > MAX_STORED_VALUES) {
    throw new RangeError(
      `gradient accuracy stores every draw: ${options.draws} draws × ${total} parameters exceeds ` +
        `${MAX_STORED_VALUES.toExponential(0)} values; use fewer draws`,
    );
  }
  const reference = accuracyReference(net, data, options);
  const g = reference.layers;
  const Ms = options.M.filter((M) => M >= 1 && M <= options.draws);
  const estimators: EstimatorAccuracy[] = entries.map((entry, index) => {
    const started = Date.now();
    const store = sizes.map((P) => new Float64Array(P * options.draws));
    const every = Math.max(1, Math.floor(options.draws / 50));
    const summary = gradientDraws(net, data, entry.name, {
      draws: options.draws,
      // a distinct stream per estimator, reproducible from the one seed
      seed: (options.seed * 7919 + index * 104729) >>> 0,
      estimatorOptions: entry.options,
      onDraw: (d, layers) => {
        layers.forEach((v, k) => store[k].set(v, d * sizes[k]));
        if (options.onProgress && (d + 1) % every === 0) options.onProgress(entry.label, d + 1, options.draws);
      },
    });
    return {
      label: entry.label,
      estimator: entry.name,
      options: entry.options,
      loss: summary.loss,
      seconds: (Date.now() - started) / 1000,
      layers: sizes.map((P, k) => layerAccuracy(net.layerNames[k], store[k], P, g[k], Ms)),
    };
  });
  return {
    model: net.spec.name,
    draws: options.draws,
    seed: options.seed,
    M: Ms,
    exactLoss: reference.exactLoss,
    exactNorms: g.map((v, k) => ({ layer: net.layerNames[k], norm: Math.sqrt(v.reduce((a, x) => a + x * x, 0)) })),
    referenceGradient: reference.info,
    estimators,
  };
}
