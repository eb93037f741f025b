// What a run records besides its loss: gradient diagnostics (how good each estimator's gradient is, layer by
// layer, against a reference — the paper's Figure-1 quantities, live) and layer statistics (firing rates,
// entropies, pre-activation and weight distributions). Both draw from their own random streams, so a run
// trains identically with them on or off, and both cost a bounded amount of time.
import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from '../spec/types';
import type { Network } from '../model/network';
import type { Rng } from '../rng';
import { prepareNetwork, sampleStates } from '../estimators/common';
import {
  compareEstimatorsPass,
  DEFAULT_REFERENCE_MAX_DRAWS,
  DEFAULT_REFERENCE_TARGET_ERROR,
} from '../gradients/diagnostics';
import type { ReferenceKind } from '../gradients/reference';
import { AUTO_DIAGNOSTICS_INTERVAL, withCandidates } from './auto';
import { gradientDrawsPass, type Dataset } from '../gradients/draws';
import { runToEnd, type Pass } from '../passes';
import type { EstimatorName } from '../estimators';
import type { ResolvedTrainSpec } from './trainer';
import type { Histogram } from '../runs/records';

export interface ResolvedDiagnostics {
  interval: number;
  estimators: EstimatorName[];
  draws: number;
  budgetSeconds: number;
  referenceTargetError: number;
  batch: number;
  statsInterval: number;
}

export function resolveDiagnostics(spec: ModelSpec, t: ResolvedTrainSpec): ResolvedDiagnostics {
  const d = spec.diagnostics ?? {};
  const defaults: EstimatorName[] = ['psa', 'dste', 'reinforce', 'arm'];
  const estimators = t.auto
    ? withCandidates(d.estimators ?? defaults, t.auto)
    : (d.estimators ?? [...new Set([t.estimator as EstimatorName, ...defaults])]);
  return {
    // estimator auto chooses from the diagnostics: they are on unless the file sets an interval
    interval: d.interval ?? (t.auto ? AUTO_DIAGNOSTICS_INTERVAL : 0),
    estimators: [...estimators],
    draws: d.draws ?? 50,
    budgetSeconds: d.budgetSeconds ?? 10,
    referenceTargetError: d.referenceTargetError ?? DEFAULT_REFERENCE_TARGET_ERROR,
    batch: d.batch ?? 64,
    statsInterval: d.statsInterval ?? t.logInterval,
  };
}

/** A gradient-diagnostics pass as computed: the fields of a `diagnostics` record (src/engine/runs/records.ts). */
export interface DiagnosticsRecord {
  reference: 'exact' | 'unbiased-mean';
  referenceEstimator?: Exclude<ReferenceKind, 'exact'>;
  referenceDraws: number;
  referenceError: number[];
  draws: number;
  M: number[];
  seconds: number;
  layers: string[];
  estimators: {
    estimator: string;
    seconds: number;
    secondsPerDraw: number;
    layers: {
      name: string;
      cos: number[];
      cosQ15: number[];
      cosQ85: number[];
      rmse: number[];
      variance: number;
      snr: number;
      bias: number;
      biasSquared: number;
    }[];
  }[];
}

/**
 * What a pass decided from the clock: draws per estimator and the reference's estimator and draws. A run whose
 * training reads the diagnostics (`estimator: auto`) fixes these at its first pass, so that later passes (and a
 * resumed run's) depend on the seed alone.
 */
export interface DiagnosticsPlan {
  draws: number;
  referenceDraws: number;
  referenceEstimator?: Exclude<ReferenceKind, 'exact'>;
}

/**
 * One diagnostic pass within `budgetSeconds`: the draws per estimator are cut so that the pass fits, from the
 * measured cost of a first small batch of draws.
 */
export function gradientDiagnostics(
  net: Network,
  data: Dataset,
  d: ResolvedDiagnostics,
  rng: Rng,
  plan?: DiagnosticsPlan,
): DiagnosticsRecord {
  return runToEnd(gradientDiagnosticsPass(net, data, d, rng, plan));
}

/**
 * gradientDiagnostics as a pass that yields after every batch of draws (a Stop need not wait for the budget). With a
 * plan, the draws are the plan's and the clock decides nothing.
 */
export function* gradientDiagnosticsPass(
  net: Network,
  data: Dataset,
  d: ResolvedDiagnostics,
  rng: Rng,
  plan?: DiagnosticsPlan,
): Pass<DiagnosticsRecord> {
  const started = Date.now();
  const seed = rng.nextUint32();
  let draws: number;
  if (plan) draws = plan.draws;
  else {
    // cost of 2 draws of each estimator → draws that fit half the budget (the reference takes the other half)
    const probe = Date.now();
    for (const e of d.estimators) yield* gradientDrawsPass(net, data, e, { draws: 2, seed });
    const perDraw = Math.max((Date.now() - probe) / 1000 / 2, 1e-6);
    draws = Math.max(2, Math.min(d.draws, Math.floor(d.budgetSeconds / 2 / perDraw)));
  }
  const r = yield* compareEstimatorsPass(net, data, d.estimators, draws, seed, {
    targetError: d.referenceTargetError,
    budgetSeconds: d.budgetSeconds / 2,
    maxDraws: plan ? Math.max(2, plan.referenceDraws) : DEFAULT_REFERENCE_MAX_DRAWS,
    ignoreClock: plan !== undefined,
    kind: plan?.referenceEstimator,
  });
  return {
    reference: r.reference,
    ...(r.referenceEstimator ? { referenceEstimator: r.referenceEstimator } : {}),
    referenceDraws: r.referenceDraws,
    referenceError: r.referenceError,
    draws,
    M: r.M,
    seconds: (Date.now() - started) / 1000,
    layers: r.layerNames,
    estimators: r.estimators.map((e) => ({
      estimator: e.estimator,
      seconds: e.seconds,
      secondsPerDraw: e.secondsPerDraw,
      layers: e.layers.map((l) => ({
        name: l.layer,
        cos: l.cos,
        cosQ15: l.cosQ15,
        cosQ85: l.cosQ85,
        rmse: l.rmse,
        variance: l.variance,
        snr: l.snr,
        bias: l.bias,
        biasSquared: l.biasSquared,
      })),
    })),
  };
}

export type { Histogram } from '../runs/records';

/**
 * One layer's statistics as computed (numbers may be NaN; the run folder stores them as null). Written as the
 * `layers` of a `layerStats` record, whose type (src/engine/runs/records.ts) `appendMetrics` checks this against.
 */
export interface LayerStats {
  name: string;
  /** Hidden layers only: fraction of units on, mean entropy (bits), pre-activation mean/std, fraction |a| > 4. */
  firingRate?: number;
  entropy?: number;
  preMean?: number;
  preStd?: number;
  saturated?: number;
  preHist?: Histogram;
  /** Hidden layers: histogram over units of each unit's firing rate on the batch, [0, 1]. */
  firingHist?: Histogram;
  weightNorm: number;
  gradNorm?: number;
  weightHist: Histogram;
}

const BINS = 32;

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

function maxAbs(v: ArrayLike<number>): number {
  let m = 1e-6;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]));
  return m;
}

export function histogram(values: ArrayLike<number>, min: number, max: number, bins = BINS): Histogram {
  const counts = new Array<number>(bins).fill(0);
  const width = (max - min) / bins;
  for (let i = 0; i < values.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor((values[i] - min) / width)));
    counts[b]++;
  }
  return { min, max, counts };
}

/** Statistics of every layer on a batch (one SBN sample from `rng`), with the step's gradient norms when given. */
export function layerStatistics(net: Network, x: tf.Tensor, rng: Rng, gradNorms?: number[]): LayerStats[] {
  const out: LayerStats[] = [];
  tf.tidy(() => {
    const layers = prepareNetwork(net);
    let h = x;
    layers.hidden.forEach((layer, k) => {
      const a = layer.forward(h);
      const p = net.noise.cdf(a);
      const q = tf.clipByValue(p, 1e-7, 1 - 1e-7);
      const hBits = tf.div(tf.neg(tf.add(tf.mul(q, tf.log(q)), tf.mul(tf.sub(1, q), tf.log(tf.sub(1, q))))), Math.LN2);
      h = sampleStates(net, p, rng);
      const unitRates = tf
        .mean(tf.reshape(tf.cast(tf.equal(h, net.coding.on), 'float32'), [a.shape[0], -1]), 0)
        .dataSync();
      const [firing, entropy, mean, sq, sat] = tf
        .stack([
          tf.mean(tf.cast(tf.equal(h, net.coding.on), 'float32')),
          tf.mean(hBits),
          tf.mean(a),
          tf.mean(tf.square(a)),
          tf.mean(tf.cast(tf.greater(tf.abs(a), 4), 'float32')),
        ])
        .dataSync();
      const w = net.layers[k].weight.dataSync();
      const wMax = maxAbs(w);
      out.push({
        name: net.layerNames[k],
        firingRate: firing,
        entropy,
        preMean: mean,
        preStd: Math.sqrt(Math.max(0, sq - mean * mean)),
        saturated: sat,
        preHist: histogram(a.dataSync(), -8, 8),
        firingHist: histogram(unitRates, 0, 1, 20),
        weightNorm: norm(w),
        gradNorm: gradNorms?.[k],
        weightHist: histogram(w, -wMax, wMax),
      });
    });
    const L = net.layers.length - 1;
    const w = net.layers[L].weight.dataSync();
    out.push({
      name: net.layerNames[L],
      weightNorm: norm(w),
      gradNorm: gradNorms?.[L],
      weightHist: histogram(w, -maxAbs(w), maxAbs(w)),
    });
  });
  return out;
}

/** The fixed minibatch diagnostics compare on: the first `batch` training examples, unaugmented. */
export function diagnosticsBatch(x: Float32Array, y: Float32Array, n: number, batch: number): Dataset {
  const rows = Math.min(batch, n);
  const features = x.length / n;
  return {
    X: Array.from({ length: rows }, (_, i) => Array.from(x.subarray(i * features, (i + 1) * features))),
    Y: Array.from(y.subarray(0, rows)),
  };
}
