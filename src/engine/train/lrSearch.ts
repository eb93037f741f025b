// Learning-rate search (docs/math.md §4.5): bounded scalar minimisation of the trial objective over x = log10(lr),
// as the authors did with scipy's minimize_scalar(method='bounded') — Brent's method (golden section with
// parabolic steps), ported from scipy's fminbound — with at most `trials` evaluations. Each trial trains
// the same initial network for a few epochs; divergence counts as +∞ (here 1e10, which keeps the
// parabolic fits finite). Trials are recorded in the run, so an interrupted search resumes without
// repeating them (the method is deterministic, so it asks for the same points again).
//
// The fixed grid (the fair protocol of issue 20, docs/math.md §4.5) tries every rate of a log10 grid instead, judged
// by the validation SBN u_loss at the trial's end, and grows the grid past an edge that holds the best rate.
import type { RunStore } from '../runs';
import { readMetrics } from '../runs';
import { LR_GRID_DEFAULTS, LR_SEARCH_DEFAULTS } from '../spec/model';

export interface LrSearchOptions {
  min?: number;
  max?: number;
  trials?: number;
  trialEpochs?: number;
  trialExamples?: number;
}

export interface LrGridOptions {
  min?: number;
  max?: number;
  step?: number;
  trialEpochs?: number;
  trialExamples?: number;
  extend?: number;
}

export type LrTrial = (lr: number) => Promise<{ objective: number; diverged: boolean }>;

const DIVERGED = 1e10;

/** Brent's bounded minimisation (scipy.optimize.fminbound) with at most `maxEvaluations` calls. */
export async function brentBounded(
  f: (x: number) => number | Promise<number>,
  lo: number,
  hi: number,
  maxEvaluations: number,
  xatol = 1e-5,
): Promise<{ x: number; fx: number }> {
  const sqrtEps = Math.sqrt(2.2e-16);
  const golden = 0.5 * (3 - Math.sqrt(5));
  let a = lo;
  let b = hi;
  let fulc = a + golden * (b - a);
  let nfc = fulc;
  let xf = fulc;
  let rat = 0;
  let e = 0;
  let fx = await f(xf);
  let num = 1;
  let ffulc = fx;
  let fnfc = fx;
  let xm = 0.5 * (a + b);
  let tol1 = sqrtEps * Math.abs(xf) + xatol / 3;
  let tol2 = 2 * tol1;
  while (Math.abs(xf - xm) > tol2 - 0.5 * (b - a) && num < maxEvaluations) {
    let useGolden = true;
    if (Math.abs(e) > tol1) {
      useGolden = false;
      let r = (xf - nfc) * (fx - ffulc);
      let q = (xf - fulc) * (fx - fnfc);
      let p = (xf - fulc) * q - (xf - nfc) * r;
      q = 2 * (q - r);
      if (q > 0) p = -p;
      q = Math.abs(q);
      r = e;
      e = rat;
      if (Math.abs(p) < Math.abs(0.5 * q * r) && p > q * (a - xf) && p < q * (b - xf)) {
        rat = p / q;
        const x = xf + rat;
        if (x - a < tol2 || b - x < tol2) rat = tol1 * (Math.sign(xm - xf) + (xm - xf === 0 ? 1 : 0));
      } else {
        useGolden = true;
      }
    }
    if (useGolden) {
      e = xf >= xm ? a - xf : b - xf;
      rat = golden * e;
    }
    const si = Math.sign(rat) + (rat === 0 ? 1 : 0);
    const x = xf + si * Math.max(Math.abs(rat), tol1);
    const fu = await f(x);
    num++;
    if (fu <= fx) {
      if (x >= xf) a = xf;
      else b = xf;
      fulc = nfc;
      ffulc = fnfc;
      nfc = xf;
      fnfc = fx;
      xf = x;
      fx = fu;
    } else {
      if (x < xf) a = x;
      else b = x;
      if (fu <= fnfc || nfc === xf) {
        fulc = nfc;
        ffulc = fnfc;
        nfc = x;
        fnfc = fu;
      } else if (fu <= ffulc || fulc === xf || fulc === nfc) {
        fulc = x;
        ffulc = fu;
      }
    }
    xm = 0.5 * (a + b);
    tol1 = sqrtEps * Math.abs(xf) + xatol / 3;
    tol2 = 2 * tol1;
  }
  return { x: xf, fx };
}

export async function searchLearningRate(
  options: LrSearchOptions,
  store: RunStore | undefined,
  trial: (lr: number) => Promise<{ objective: number; diverged: boolean }>,
  onTrial?: (e: { trial: number; lr: number; objective: number; diverged: boolean }) => void,
): Promise<number> {
  const lo = options.min ?? LR_SEARCH_DEFAULTS.min;
  const hi = options.max ?? LR_SEARCH_DEFAULTS.max;
  const done = new Map<number, number>();
  if (store) {
    for (const r of readMetrics(store.dir, { tolerant: true }).records) {
      if (r.kind === 'lr-trial' && r.objective !== null) done.set(r.log10lr, r.objective);
    }
  }
  let count = 0;
  const best = await brentBounded(
    async (x) => {
      count++;
      const known = done.get(x);
      if (known !== undefined) return known;
      const lr = 10 ** x;
      const r = await trial(lr);
      const objective = r.diverged || !Number.isFinite(r.objective) || r.objective > DIVERGED ? DIVERGED : r.objective;
      store?.appendMetrics({
        kind: 'lr-trial',
        step: 0,
        trial: count,
        lr,
        log10lr: x,
        objective,
        diverged: r.diverged,
        criterion: 'train.objective',
      });
      onTrial?.({ trial: count, lr, objective, diverged: r.diverged });
      return objective;
    },
    lo,
    hi,
    options.trials ?? LR_SEARCH_DEFAULTS.trials,
  );
  return 10 ** best.x;
}

/** The points of a grid: min, min + step, …, up to max (inclusive, to rounding), as log10(lr). */
export function gridPoints(min: number, max: number, step: number): number[] {
  const count = Math.floor((max - min) / step + 1e-9) + 1;
  return Array.from({ length: count }, (_, i) => roundLog(min + i * step));
}

/** log10(lr) to 12 decimals: a grid point computed twice (or read back from metrics.jsonl) compares equal. */
function roundLog(x: number): number {
  return Math.round(x * 1e12) / 1e12;
}

/**
 * The fixed-grid search: trains a trial at every grid point not yet in the run's lr-trial records (an interrupted
 * search resumes where it stopped), lowest rate first; a diverged trial counts as +∞. While the best point is an
 * edge of the points tried, the grid grows one step beyond that edge, at most `extend` times per side. Returns the
 * rate of least objective (ties: the lower rate) — the lowest rate tried when every trial diverged.
 */
export async function gridSearchLearningRate(
  options: LrGridOptions,
  store: RunStore | undefined,
  trial: LrTrial,
  onTrial?: (e: { trial: number; lr: number; objective: number; diverged: boolean }) => void,
): Promise<number> {
  const d = LR_GRID_DEFAULTS;
  const step = options.step ?? d.step;
  const extend = options.extend ?? d.extend;
  const done = new Map<number, number>();
  if (store) {
    for (const r of readMetrics(store.dir, { tolerant: true }).records) {
      if (r.kind !== 'lr-trial') continue;
      done.set(roundLog(r.log10lr), r.diverged || r.objective === null ? Infinity : r.objective);
    }
  }
  let count = done.size;
  const evaluate = async (x: number): Promise<number> => {
    const known = done.get(x);
    if (known !== undefined) return known;
    const lr = 10 ** x;
    const r = await trial(lr);
    const diverged = r.diverged || !Number.isFinite(r.objective);
    const objective = diverged ? Infinity : r.objective;
    count++;
    store?.appendMetrics({
      kind: 'lr-trial',
      step: 0,
      trial: count,
      lr,
      log10lr: x,
      objective: diverged ? null : objective,
      diverged,
      criterion: 'validation.u_loss',
    });
    onTrial?.({ trial: count, lr, objective, diverged });
    done.set(x, objective);
    return objective;
  };
  const points = gridPoints(options.min ?? d.min, options.max ?? d.max, step);
  const values: number[] = [];
  for (const x of points) values.push(await evaluate(x));
  const extended = { low: 0, high: 0 };
  for (;;) {
    const best = values.reduce((b, v, i) => (v < values[b] ? i : b), 0);
    if (best === 0 && extended.low < extend) {
      extended.low++;
      const x = roundLog(points[0] - step);
      points.unshift(x);
      values.unshift(await evaluate(x));
    } else if (best === points.length - 1 && best > 0 && extended.high < extend) {
      extended.high++;
      const x = roundLog(points[points.length - 1] + step);
      points.push(x);
      values.push(await evaluate(x));
    } else {
      return 10 ** points[best];
    }
  }
}
