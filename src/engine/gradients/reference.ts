// The reference gradient the diagnostics compare estimators with (docs/math.md §3.8): the exact gradient where
// enumeration fits; otherwise the mean of local-expectation draws (unbiased, and far less noisy than REINFORCE),
// drawn in growing chunks until every layer's relative standard error is below a target; REINFORCE with a
// leave-one-out baseline only when not even a few local-expectation draws fit the time budget.
import type { Network } from '../model/network';
import { networkValues, parameterSizes } from '../model/network';
import { exactGradient } from '../estimators/exact';
import { exactCost } from '../estimators/exactCost';
import { gradientDrawsPass, type Dataset, type GradientSummary } from './draws';
import type { Pass } from '../passes';

/** How the reference was obtained: `exact` enumeration or the mean of draws of an unbiased estimator. */
export type ReferenceKind = 'exact' | 'local-expectation' | 'reinforce-loo';

export interface ReferenceOptions {
  seed: number;
  /** Target relative standard error of the mean per layer (‖SE‖ / ‖mean‖). */
  targetError: number;
  /** Seconds the reference may take (checked between chunks of draws). */
  budgetSeconds: number;
  /** Upper bound on draws; a fixed bound (no time cut) makes the reference reproducible from the seed. */
  maxDraws: number;
  /** Bound the draws by `maxDraws` only, not by the clock (runs whose training depends on the reference). */
  ignoreClock?: boolean;
  /** false: draw even where enumeration fits (to check a sampled reference against the exact one). Default true. */
  exact?: boolean;
  /** Skip the probe and use this estimator (as chosen by an earlier pass). */
  kind?: Exclude<ReferenceKind, 'exact'>;
}

export interface ReferenceGradient {
  kind: ReferenceKind;
  /** Per layer (W row-major, then bias). */
  layers: Float64Array[];
  /** Relative standard error per layer (0 for exact). */
  relativeError: number[];
  /** Absolute variance of the reference mean per layer: trace of its covariance (0 for exact). */
  meanVariance: number[];
  draws: number;
  seconds: number;
}

/** Default target relative standard error of a sampled reference per layer. */
export const DEFAULT_REFERENCE_TARGET_ERROR = 0.05;
/** Default bound on a sampled reference's draws. */
export const DEFAULT_REFERENCE_MAX_DRAWS = 2000;

/** Fewest local-expectation draws a reference may have; fewer do not fit and REINFORCE-LOO is used instead. */
export const MIN_REFERENCE_DRAWS = 8;

function norm2(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return s;
}

/** Per-layer mean and sum of squared deviations, merged over chunks of draws (Chan et al.'s parallel update). */
class PooledMoments {
  count = 0;
  mean: Float64Array[];
  m2: Float64Array[];
  constructor(sizes: number[]) {
    this.mean = sizes.map((P) => new Float64Array(P));
    this.m2 = sizes.map((P) => new Float64Array(P));
  }
  add(s: GradientSummary): void {
    const nB = s.draws;
    const n = this.count + nB;
    s.layers.forEach((l, k) => {
      const mean = this.mean[k];
      const m2 = this.m2[k];
      for (let i = 0; i < mean.length; i++) {
        const d = l.mean[i] - mean[i];
        m2[i] += l.std[i] * l.std[i] * (nB - 1) + (d * d * this.count * nB) / n;
        mean[i] += (d * nB) / n;
      }
    });
    this.count = n;
  }
  /** Trace of the covariance of the mean, per layer. */
  meanVariance(): number[] {
    return this.m2.map((m) => m.reduce((a, b) => a + b, 0) / Math.max(1, this.count - 1) / this.count);
  }
  relativeError(): number[] {
    return this.meanVariance().map((v, k) => Math.sqrt(v / Math.max(norm2(this.mean[k]), 1e-300)));
  }
}

/** The reference gradient of `net` on `data`, as a pass that yields between chunks of draws. */
export function* referenceGradientPass(net: Network, data: Dataset, o: ReferenceOptions): Pass<ReferenceGradient> {
  const started = Date.now();
  const sizes = parameterSizes(net);
  if (o.exact !== false && !exactCost(net.spec, data.X.length).refusal) {
    const layers = exactGradient(net.spec, networkValues(net), data.X, data.Y).layers;
    return {
      kind: 'exact',
      layers,
      relativeError: sizes.map(() => 0),
      meanVariance: sizes.map(() => 0),
      draws: 0,
      seconds: (Date.now() - started) / 1000,
    };
  }
  const pooled = new PooledMoments(sizes);
  let kind = o.kind ?? 'local-expectation';
  let chunk = Math.min(MIN_REFERENCE_DRAWS, o.maxDraws);
  let seed = o.seed;
  const draw = function* (draws: number): Pass<void> {
    const s = yield* gradientDrawsPass(net, data, kind === 'local-expectation' ? 'local-expectation' : 'reinforce', {
      draws,
      seed: seed++,
      estimatorOptions: { baseline: 'loo' },
    });
    pooled.add(s);
  };
  yield* draw(chunk);
  const elapsed = (): number => (Date.now() - started) / 1000;
  if (o.kind === undefined && !o.ignoreClock && elapsed() > o.budgetSeconds) {
    // not even the fewest local-expectation draws fit: the cheap, noisier reference
    kind = 'reinforce-loo';
    pooled.count = 0;
    pooled.mean.forEach((m) => m.fill(0));
    pooled.m2.forEach((m) => m.fill(0));
    chunk = Math.min(MIN_REFERENCE_DRAWS * 8, o.maxDraws);
    yield* draw(chunk);
  }
  while (pooled.count < o.maxDraws && Math.max(...pooled.relativeError()) > o.targetError) {
    const perDraw = elapsed() / pooled.count;
    // enough draws to reach the target if the error falls as 1/√draws, at least doubling, within the bounds
    const worst = Math.max(...pooled.relativeError());
    const wanted = Math.ceil(pooled.count * ((worst / o.targetError) ** 2 - 1));
    let next = Math.min(Math.max(wanted, pooled.count), o.maxDraws - pooled.count);
    if (!o.ignoreClock) next = Math.min(next, Math.floor((o.budgetSeconds - elapsed()) / perDraw));
    if (next < 2) break;
    yield* draw(next);
  }
  return {
    kind,
    layers: pooled.mean,
    relativeError: pooled.relativeError(),
    meanVariance: pooled.meanVariance(),
    draws: pooled.count,
    seconds: elapsed(),
  };
}
