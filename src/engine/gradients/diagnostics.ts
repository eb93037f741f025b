// Gradient diagnostics of several estimators on one model and batch: how close each comes to a reference
// gradient (reference.ts: exact where enumeration fits, otherwise the mean of many local-expectation draws),
// whose own standard error is reported so that a reader can tell estimator error from reference noise.
import type { Network } from '../model/network';
import { parameterSizes } from '../model/network';
import { gradientDrawsPass, type Dataset } from './draws';
import { runToEnd, type Pass } from '../passes';
import { layerAccuracy, type LayerAccuracy } from './accuracy';
import type { EstimatorName } from '../estimators';
import { snrText } from '../../gradientFigures';
import {
  DEFAULT_REFERENCE_MAX_DRAWS,
  DEFAULT_REFERENCE_TARGET_ERROR,
  referenceGradientPass,
  type ReferenceKind,
  type ReferenceOptions,
} from './reference';

export interface EstimatorDiagnostics {
  estimator: string;
  seconds: number;
  /** Seconds per draw on the diagnostics batch (the estimator's cost per step). */
  secondsPerDraw: number;
  /**
   * Per layer: accuracy vs M, trace of the covariance of one draw, SNR = ‖mean‖²/variance, relative bias
   * ‖mean − ref‖/‖ref‖, and biasSquared: ‖mean − ref‖² less the noise of both means (an unbiased estimate of the
   * squared bias, may be < 0), relative to ‖ref‖².
   */
  layers: (LayerAccuracy & { variance: number; snr: number; bias: number; biasSquared: number })[];
}

export interface DiagnosticsResult {
  /** `exact`, or `unbiased-mean` with `referenceEstimator` saying which estimator's mean. */
  reference: 'exact' | 'unbiased-mean';
  referenceEstimator?: Exclude<ReferenceKind, 'exact'>;
  referenceDraws: number;
  /** Relative standard error of the reference per layer (0 for exact). */
  referenceError: number[];
  /** ‖reference‖² per layer. */
  referenceNorm2: number[];
  layerNames: string[];
  draws: number;
  M: number[];
  estimators: EstimatorDiagnostics[];
}

/** How the reference is drawn when enumeration does not fit; defaults for one-off comparisons. */
export type CompareReferenceOptions = Partial<Omit<ReferenceOptions, 'seed'>>;

export { DEFAULT_REFERENCE_MAX_DRAWS, DEFAULT_REFERENCE_TARGET_ERROR };

/**
 * The numbers of draws M whose averages a diagnostics pass measures: 1, 2, 5, 10, 20, 50, … with at least two
 * groups of M among the draws per estimator (M ≤ draws/2, as `sbn gradacc` does, so that every M has a spread), and
 * always M = 1. Log-spaced, so that the "vs M" charts show the 1/√M decay of an unbiased estimator's error rather
 * than a two-point line. The one authority for the M of Compare Estimators and of a run's gradient diagnostics.
 */
export function diagnosticsMGrid(draws: number): number[] {
  const out = [1];
  for (let decade = 1; 2 * decade <= draws; decade *= 10) {
    for (const f of [1, 2, 5]) if (f * decade > 1 && 2 * f * decade <= draws) out.push(f * decade);
  }
  return out;
}

function norm2(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return s;
}

export function compareEstimators(
  net: Network,
  data: Dataset,
  estimators: EstimatorName[],
  draws: number,
  seed = 1,
  reference: CompareReferenceOptions = {},
): DiagnosticsResult & { referenceSeconds: number } {
  return runToEnd(compareEstimatorsPass(net, data, estimators, draws, seed, reference));
}

/** compareEstimators as a pass that yields after every batch of draws. */
export function* compareEstimatorsPass(
  net: Network,
  data: Dataset,
  estimators: EstimatorName[],
  draws: number,
  seed = 1,
  referenceOptions: CompareReferenceOptions = {},
): Pass<DiagnosticsResult & { referenceSeconds: number }> {
  const sizes = parameterSizes(net);
  const ref = yield* referenceGradientPass(net, data, {
    seed: seed + 7777,
    targetError: referenceOptions.targetError ?? DEFAULT_REFERENCE_TARGET_ERROR,
    budgetSeconds: referenceOptions.budgetSeconds ?? Infinity,
    maxDraws: referenceOptions.maxDraws ?? DEFAULT_REFERENCE_MAX_DRAWS,
    ignoreClock: referenceOptions.ignoreClock,
    kind: referenceOptions.kind,
  });
  const reference = ref.layers;
  const refNorm2 = reference.map(norm2);
  const M = diagnosticsMGrid(draws);
  const results: EstimatorDiagnostics[] = [];
  for (const [index, name] of estimators.entries()) {
    const started = Date.now();
    const store = sizes.map((P) => new Float64Array(P * draws));
    const summary = yield* gradientDrawsPass(net, data, name, {
      draws,
      seed: seed + index * 101,
      estimatorOptions: { baseline: 'loo' },
      onDraw: (d, layers) => layers.forEach((v, k) => store[k].set(v, d * sizes[k])),
    });
    const seconds = (Date.now() - started) / 1000;
    results.push({
      estimator: name,
      seconds,
      secondsPerDraw: seconds / draws,
      layers: sizes.map((P, k) => {
        const variance = norm2(summary.layers[k].std);
        const mean = summary.layers[k].mean;
        const diff2 = norm2(mean.map((v, i) => v - reference[k][i]));
        const scale = Math.max(refNorm2[k], 1e-300);
        return {
          ...layerAccuracy(net.layerNames[k], store[k], P, reference[k], M),
          variance,
          snr: norm2(mean) / Math.max(variance, 1e-300),
          bias: Math.sqrt(diff2 / scale),
          biasSquared: (diff2 - variance / draws - ref.meanVariance[k]) / scale,
        };
      }),
    });
  }
  return {
    reference: ref.kind === 'exact' ? 'exact' : 'unbiased-mean',
    ...(ref.kind === 'exact' ? {} : { referenceEstimator: ref.kind }),
    referenceDraws: ref.draws,
    referenceError: ref.relativeError,
    referenceNorm2: refNorm2,
    referenceSeconds: ref.seconds,
    layerNames: net.layerNames,
    draws,
    M,
    estimators: results,
  };
}

/** In words: what the reference of a diagnostics result is. */
export function referenceDescription(r: Pick<DiagnosticsResult, 'reference' | 'referenceEstimator'>): string {
  if (r.reference === 'exact') return 'the exact gradient (enumeration)';
  return r.referenceEstimator === 'reinforce-loo'
    ? 'the mean of many REINFORCE (leave-one-out) draws'
    : 'the mean of many local-expectation draws';
}

/** A Markdown report of a diagnostics result. */
export function diagnosticsMarkdown(title: string, r: DiagnosticsResult): string {
  const lines = [
    `# ${title}`,
    '',
    r.reference === 'exact'
      ? `Reference: the **exact** gradient (enumeration). ${r.draws} draws per estimator.`
      : `Reference: ${referenceDescription(r)} (${r.referenceDraws} draws) — exact enumeration does not fit ` +
        'this model. Its relative standard error per layer: ' +
        `${r.referenceError.map((e, k) => `${r.layerNames[k]} ${e.toFixed(3)}`).join(', ')}. ` +
        `${r.draws} draws per estimator.`,
    '',
    'Cosine similarity and relative RMSE of averages of M draws against the reference; variance = trace of the ' +
      'covariance of one draw; SNR = ‖mean‖² / variance; bias = ‖mean − reference‖ / ‖reference‖.',
    '',
  ];
  r.layerNames.forEach((layer, k) => {
    lines.push(`## Layer ${layer}`, '');
    const cosHeads = r.M.map((m) => `cos M=${m}`).join(' | ');
    const rmseHeads = r.M.map((m) => `RMSE M=${m}`).join(' | ');
    lines.push(`| estimator | ${cosHeads} | ${rmseHeads} | variance | SNR | bias |`);
    lines.push(`|---|${r.M.map(() => '---:').join('|')}|${r.M.map(() => '---:').join('|')}|---:|---:|---:|`);
    for (const e of r.estimators) {
      const l = e.layers[k];
      const cells = [
        e.estimator,
        ...l.cos.map((v) => v.toFixed(3)),
        ...l.rmse.map((v) => v.toPrecision(3)),
        l.variance.toPrecision(3),
        snrText(l.variance, l.snr),
        l.bias.toPrecision(3),
      ];
      lines.push(`| ${cells.join(' | ')} |`);
    }
    lines.push('');
  });
  return lines.join('\n');
}
