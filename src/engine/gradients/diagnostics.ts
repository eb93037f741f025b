// Gradient diagnostics of several estimators on one model and batch: how close each comes to a reference
// gradient. The reference is the exact gradient when enumeration fits (docs/math.md §2.1), otherwise the mean of
// many draws of an unbiased estimator (REINFORCE with a leave-one-out baseline), whose own standard error
// is reported so that a reader can tell estimator error from reference noise.
import type { Network } from '../model/network';
import { networkValues, parameterSizes } from '../model/network';
import { exactGradient } from '../estimators/exact';
import { exactCost } from '../estimators/exactCost';
import { gradientDrawsPass, type Dataset } from './draws';
import { runToEnd, type Pass } from '../passes';
import { layerAccuracy, type LayerAccuracy } from './accuracy';
import type { EstimatorName } from '../estimators';

export interface EstimatorDiagnostics {
  estimator: string;
  seconds: number;
  /**
   * Per layer: accuracy vs M, trace of the covariance of one draw, SNR = ‖mean‖²/variance, relative bias
   * ‖mean − ref‖/‖ref‖.
   */
  layers: (LayerAccuracy & { variance: number; snr: number; bias: number })[];
}

export interface DiagnosticsResult {
  reference: 'exact' | 'unbiased-mean';
  /** Relative standard error of the reference per layer (0 for exact). */
  referenceError: number[];
  layerNames: string[];
  draws: number;
  M: number[];
  estimators: EstimatorDiagnostics[];
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
  referenceDraws = 2000,
): DiagnosticsResult & { referenceSeconds: number } {
  return runToEnd(compareEstimatorsPass(net, data, estimators, draws, seed, referenceDraws));
}

/** compareEstimators as a pass that yields after every batch of draws. */
export function* compareEstimatorsPass(
  net: Network,
  data: Dataset,
  estimators: EstimatorName[],
  draws: number,
  seed = 1,
  referenceDraws = 2000,
): Pass<DiagnosticsResult & { referenceSeconds: number }> {
  const started = Date.now();
  const sizes = parameterSizes(net);
  let reference: Float64Array[];
  let kind: DiagnosticsResult['reference'];
  let referenceError: number[];
  if (!exactCost(net.spec, data.X.length).refusal) {
    reference = exactGradient(net.spec, networkValues(net), data.X, data.Y).layers;
    kind = 'exact';
    referenceError = sizes.map(() => 0);
  } else {
    const ref = yield* gradientDrawsPass(net, data, 'reinforce', {
      draws: referenceDraws,
      seed: seed + 7777,
      estimatorOptions: { baseline: 'loo' },
    });
    reference = ref.layers.map((l) => l.mean);
    kind = 'unbiased-mean';
    referenceError = ref.layers.map((l) => Math.sqrt(norm2(l.std) / referenceDraws / Math.max(norm2(l.mean), 1e-300)));
  }
  const referenceSeconds = (Date.now() - started) / 1000;
  const M = [1, 10, 100].filter((m) => m <= draws);
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
    results.push({
      estimator: name,
      seconds: (Date.now() - started) / 1000,
      layers: sizes.map((P, k) => {
        const variance = norm2(summary.layers[k].std);
        const mean = summary.layers[k].mean;
        const diff = mean.map((v, i) => v - reference[k][i]);
        return {
          ...layerAccuracy(net.layerNames[k], store[k], P, reference[k], M),
          variance,
          snr: norm2(mean) / Math.max(variance, 1e-300),
          bias: Math.sqrt(norm2(diff) / Math.max(norm2(reference[k]), 1e-300)),
        };
      }),
    });
  }
  return {
    reference: kind,
    referenceError,
    referenceSeconds,
    layerNames: net.layerNames,
    draws,
    M,
    estimators: results,
  };
}

/** A Markdown report of a diagnostics result. */
export function diagnosticsMarkdown(title: string, r: DiagnosticsResult): string {
  const lines = [
    `# ${title}`,
    '',
    r.reference === 'exact'
      ? `Reference: the **exact** gradient (enumeration). ${r.draws} draws per estimator.`
      : `Reference: the mean of many REINFORCE (leave-one-out) draws — exact enumeration does not fit this model. ` +
        `Its relative standard error per layer: ` +
        `${r.referenceError.map((e, k) => `${r.layerNames[k]} ${e.toFixed(3)}`).join(', ')}. ` +
        `${r.draws} draws per estimator.`,
    '',
    'Cosine similarity and relative RMSE of averages of M draws against the reference; variance = trace of the ' +
      'covariance of one draw; SNR = ‖mean‖² / variance.',
    '',
  ];
  r.layerNames.forEach((layer, k) => {
    lines.push(`## Layer ${layer}`, '');
    lines.push(
      `| estimator | ${r.M.map((m) => `cos M=${m}`).join(' | ')} | ` +
        `${r.M.map((m) => `RMSE M=${m}`).join(' | ')} | variance | SNR |`,
    );
    lines.push(`|---|${r.M.map(() => '---:').join('|')}|${r.M.map(() => '---:').join('|')}|---:|---:|`);
    for (const e of r.estimators) {
      const l = e.layers[k];
      lines.push(
        `| ${e.estimator} | ${l.cos.map((v) => v.toFixed(3)).join(' | ')} | ` +
          `${l.rmse.map((v) => v.toPrecision(3)).join(' | ')} | ${l.variance.toPrecision(3)} | ` +
          `${l.snr.toPrecision(3)} |`,
      );
    }
    lines.push('');
  });
  return lines.join('\n');
}
