// The data of the result panels (resultPanels.ts): an estimator comparison or a run evaluation as the page receives
// it, its Markdown (the "Open as Markdown" action) and its CSV. Built in the worker from the engine's results; no
// vscode import (test/unit/resultPanels.test.ts and test/unit/webviewCsp.test.ts build the pages' input with it).
import * as path from 'node:path';
import type { DiagnosticsResult } from '../../engine/gradients/diagnostics';
import { diagnosticsMarkdown, referenceDescription } from '../../engine/gradients/diagnostics';
import type { RunEvaluation } from '../../engine/train/evaluateRun';
import { shownSampleCounts } from '../../engine/train/evaluateRun';
import { finiteSnr } from '../../gradientFigures';
import type { ComparisonLayerFigures, EstimatorComparisonView, RunEvaluationView } from '../../webviewProtocol';

/** RMSE at ± one standard error of the mean squared relative error over `trials` groups of M. */
function rmseInterval(rmse: number, sqErrStd: number, trials: number): [number, number] {
  const mse = rmse * rmse;
  const se = trials > 1 ? sqErrStd / Math.sqrt(trials) : 0;
  return [Math.sqrt(Math.max(0, mse - se)), Math.sqrt(mse + se)];
}

/** The Estimator Comparison panel's view of a diagnostics result (`note`: the batch and the backend). */
export function comparisonView(model: string, r: DiagnosticsResult, note: string): EstimatorComparisonView {
  return {
    model,
    reference: referenceDescription(r),
    exactReference: r.reference === 'exact',
    referenceError: r.referenceError,
    referenceDraws: r.referenceDraws,
    draws: r.draws,
    M: r.M,
    layers: r.layerNames,
    estimators: r.estimators.map((e) => ({
      estimator: e.estimator,
      seconds: e.seconds,
      secondsPerDraw: e.secondsPerDraw,
      layers: e.layers.map((l, k): ComparisonLayerFigures => {
        const intervals = l.rmse.map((v, i) => rmseInterval(v, l.sqErrStd[i] ?? 0, l.trials[i] ?? 1));
        return {
          layer: r.layerNames[k],
          cos: l.cos,
          cosLow: l.cosQ15,
          cosHigh: l.cosQ85,
          rmse: l.rmse,
          rmseLow: intervals.map((i) => i[0]),
          rmseHigh: intervals.map((i) => i[1]),
          variance: l.variance,
          snr: finiteSnr(l.variance, l.snr),
          bias: l.bias,
        };
      }),
    })),
    note,
    markdown: `${diagnosticsMarkdown(`Estimator comparison: ${model}`, r)}\nComputed for ${note}.\n`,
  };
}

/** `file` as `<run folder name>/…` when it lies in the run folder, else as it is. */
function runRelative(file: string, runDir: string): string {
  const inRun = path.relative(runDir, file);
  return inRun && !inRun.startsWith('..') && !path.isAbsolute(inRun) ? path.join(path.basename(runDir), inRun) : file;
}

/** The evaluation of a run as Markdown: the accuracy at the shown sample counts and the metrics. */
export function evaluationMarkdown(r: RunEvaluation, runDir: string, backend: string): string {
  return [
    `# Evaluation of ${path.basename(runDir)}`,
    '',
    `${r.model} trained with ${r.estimator}; checkpoint at step ${r.step} (epoch ${r.epoch}); ` +
      `${r.split} split, ${r.examples} examples; backend ${backend}.`,
    '',
    '| samples | accuracy |',
    '|---:|---:|',
    ...shownSampleCounts(r.samples).map((s) => `| ${s} | ${(100 * r.accuracy[s - 1]).toFixed(2)}% |`),
    '',
    `u_loss ${r.metrics.u_loss.toFixed(4)} · acc1 ${(100 * r.metrics.acc1).toFixed(2)}% · ` +
      `acc_e (${r.metrics.samples} samples) ${(100 * r.metrics.acc_e).toFixed(2)}% · ` +
      `entropy ${r.metrics.entropy.toFixed(3)} bits`,
    '',
    `Saved to \`${runRelative(r.file, runDir)}\`.`,
  ].join('\n');
}

/** The Run Evaluation panel's view of an evaluation. */
export function evaluationView(r: RunEvaluation, runDir: string, backend: string): RunEvaluationView {
  return {
    run: path.basename(runDir),
    model: r.model,
    estimator: r.estimator,
    split: r.split,
    examples: r.examples,
    step: r.step,
    epoch: r.epoch,
    backend,
    ensemble: r.accuracy,
    acc1: r.metrics.acc1,
    accE: r.metrics.acc_e,
    metricSamples: r.metrics.samples,
    uLoss: r.metrics.u_loss,
    entropy: r.metrics.entropy,
    file: runRelative(r.file, runDir),
    markdown: evaluationMarkdown(r, runDir, backend),
  };
}

const csvNumber = (v: number | null): string => (v === null ? 'inf' : String(v));

/** The comparison as CSV, one row per layer, estimator and M (snr `inf`: deterministic). */
export function comparisonCsv(v: EstimatorComparisonView): string {
  const lines = ['layer,estimator,M,cos,cos_q15,cos_q85,rel_rmse,rel_rmse_low,rel_rmse_high,variance,snr,bias'];
  for (const e of v.estimators) {
    for (const l of e.layers) {
      v.M.forEach((m, i) => {
        const cells = [l.cos[i], l.cosLow[i], l.cosHigh[i], l.rmse[i], l.rmseLow[i], l.rmseHigh[i], l.variance];
        lines.push(
          [l.layer, e.estimator, m, ...cells.map((c) => csvNumber(c ?? null)), csvNumber(l.snr), l.bias].join(','),
        );
      });
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The evaluation as CSV: the ensemble's accuracy per number of samples, and a single sample's. */
export function evaluationCsv(v: RunEvaluationView): string {
  const lines = ['samples,ensemble_accuracy,single_sample_accuracy'];
  v.ensemble.forEach((a, i) => lines.push(`${i + 1},${a},${v.acc1}`));
  return `${lines.join('\n')}\n`;
}
