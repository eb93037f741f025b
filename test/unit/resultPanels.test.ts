// test-backends: one
// The data of the result panels (src/extension/panels/resultsData.ts, src/gradientFigures.ts) and the M grid of the
// gradient diagnostics (diagnosticsMGrid): the values of M with their 1/√M slope, the bars with their intervals,
// a deterministic estimator (tanh: no variance) read as SNR ∞ and never as ‖mean‖² / 1e-300, and the evaluation's
// curves, on a real comparison of a small network.
import { before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { initBackend } from '../../src/engine/backend';
import { compareEstimators, diagnosticsMGrid, diagnosticsMarkdown } from '../../src/engine/gradients/diagnostics';
import { resolveDiagnostics } from '../../src/engine/train/monitor';
import { networkFromValues, disposeNetwork } from '../../src/engine/model/network';
import { parseWorkerEvent } from '../../src/protocol';
import { comparisonCsv, comparisonView, evaluationCsv, evaluationView } from '../../src/extension/panels/resultsData';
import {
  comparisonBars,
  evaluationSeries,
  EVALUATION_SERIES,
  finiteSnr,
  snrText,
  sqrtReference,
  sqrtReferenceAnchor,
} from '../../src/gradientFigures';
import type { RunEvaluation } from '../../src/engine/train/evaluateRun';
import type { ModelSpec } from '../../src/engine/spec';
import { denseModel, randomProblem } from './helpers/fixtures';

before(async () => {
  await initBackend();
});

test('the M grid: 1, 2, 5, 10, 20, 50 … with at least two groups of M among the draws, always M = 1', () => {
  assert.deepEqual(diagnosticsMGrid(1), [1]);
  assert.deepEqual(diagnosticsMGrid(3), [1]);
  assert.deepEqual(diagnosticsMGrid(4), [1, 2]);
  assert.deepEqual(diagnosticsMGrid(50), [1, 2, 5, 10, 20]);
  assert.deepEqual(diagnosticsMGrid(100), [1, 2, 5, 10, 20, 50]);
  assert.deepEqual(diagnosticsMGrid(500), [1, 2, 5, 10, 20, 50, 100, 200]);
  for (const draws of [2, 7, 33, 999, 4000]) {
    const M = diagnosticsMGrid(draws);
    assert.ok(
      M.every((m, i) => i === 0 || (m > M[i - 1] && 2 * m <= draws)),
      `${draws}: ${M.join(',')}`,
    );
  }
  // the default diagnostics (50 draws a pass) have a line, not two points, to read the vs-M charts by
  const model: ModelSpec = { ...denseModel(2, [4], 1, 'pm1', 'logistic'), diagnostics: { interval: 10 } };
  const d = resolveDiagnostics(model, { auto: false, estimator: 'psa', logInterval: 5 } as never);
  assert.ok(
    diagnosticsMGrid(d.draws).length >= 5,
    `default draws ${d.draws}: M = ${diagnosticsMGrid(d.draws).join(',')}`,
  );
});

test('the 1/√M slope passes through the median RMSE at the smallest M and falls by √10 per decade', () => {
  assert.equal(sqrtReferenceAnchor([0.4, 0.1, 0.9]), 0.4);
  assert.ok(Math.abs(sqrtReferenceAnchor([0.1, 0.4]) - 0.2) < 1e-12);
  assert.ok(Number.isNaN(sqrtReferenceAnchor([0, NaN, -1])));
  const s = sqrtReference([1, 10, 100], 0.5)!;
  assert.deepEqual(s.x, [1, 10, 100]);
  assert.ok(Math.abs(s.y[1] - 0.5 / Math.sqrt(10)) < 1e-12 && Math.abs(s.y[2] - 0.05) < 1e-12);
  assert.equal(sqrtReference([1], 0.5), undefined, 'one M: no slope');
  assert.equal(sqrtReference([1, 2], NaN), undefined, 'no anchor: no slope');
});

test('zero variance reads as a deterministic estimator: SNR ∞, never ‖mean‖² / 1e-300', () => {
  // what the engine computes for tanh: ‖mean‖² = 6.86e-3, variance 0 → 6.86e-3 / 1e-300
  assert.equal(finiteSnr(0, 6.86e297), null);
  assert.equal(snrText(0, 6.86e297), '∞ (deterministic)');
  // the run records store a non-finite SNR as null
  assert.equal(snrText(0, null), '∞ (deterministic)');
  assert.equal(snrText(null, null), '—');
  assert.equal(finiteSnr(0.5, 2), 2);
  assert.equal(snrText(0.5, 2), '2.00');
  // tiny but real variance is not "deterministic"
  assert.equal(finiteSnr(1e-12, 1e9), 1e9);
});

test('a real comparison with tanh: bars with intervals, ∞ SNR, M grid, Markdown and CSV agree', () => {
  const spec = denseModel(3, [5], 1, 'pm1', 'logistic');
  const p = randomProblem(spec, 12, 7);
  const net = networkFromValues(spec, p.values);
  try {
    const r = compareEstimators(net, { X: p.X, Y: p.Y }, ['psa', 'reinforce', 'tanh'], 40, 1, { maxDraws: 200 });
    const view = comparisonView('random', r, 'a test batch; backend test');
    // the event the worker sends passes the host's check
    const parsed = parseWorkerEvent(JSON.parse(JSON.stringify({ type: 'estimatorComparison', view })));
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
    assert.deepEqual(view.M, diagnosticsMGrid(40));
    assert.deepEqual(view.M, [1, 2, 5, 10, 20]);
    const tanh = view.estimators.find((e) => e.estimator === 'tanh')!;
    const psa = view.estimators.find((e) => e.estimator === 'psa')!;
    for (const l of tanh.layers) {
      assert.equal(l.variance, 0, 'tanh draws one gradient');
      assert.equal(l.snr, null, 'tanh: SNR ∞ (null), not a huge number');
    }
    for (const l of psa.layers) assert.ok(l.snr !== null && l.snr > 0 && Number.isFinite(l.snr));
    // cosine bars: one series per estimator, one value per layer, the 15–85% interval around the mean
    const cos = comparisonBars(view, 'cos', 0);
    assert.deepEqual(cos.categories, r.layerNames);
    assert.deepEqual(
      cos.series.map((s) => s.estimator),
      ['psa', 'reinforce', 'tanh'],
    );
    for (const s of cos.series) {
      for (const v of s.values) {
        assert.ok(v.value !== null && v.low !== null && v.high !== null);
        assert.ok(v.low <= v.value + 1e-12 && v.value <= v.high + 1e-12, JSON.stringify(v));
        assert.ok(v.value <= 1 + 1e-9);
      }
    }
    // relative RMSE bars: ± one standard error, positive; a deterministic estimator's interval is a point
    const rmse = comparisonBars(view, 'rmse', 1);
    for (const s of rmse.series) {
      for (const v of s.values) {
        assert.ok(v.value !== null && v.low !== null && v.high !== null && v.value > 0);
        assert.ok(v.low <= v.value && v.value <= v.high);
        if (s.estimator === 'tanh') assert.ok(v.high - v.low < 1e-9 * v.value, 'tanh: every group is the same');
      }
    }
    // SNR bars: tanh infinite (drawn as ∞), the others finite
    const snr = comparisonBars(view, 'snr');
    for (const s of snr.series) {
      for (const v of s.values) {
        assert.equal(v.infinite, s.estimator === 'tanh');
        assert.equal(v.value === null, s.estimator === 'tanh');
        assert.equal(v.low, null);
      }
    }
    // Markdown: the same M, and ∞ for tanh instead of ~1e+297
    const md = diagnosticsMarkdown('x', r);
    assert.match(md, /cos M=20/);
    assert.match(md, /\| tanh \|.*∞ \(deterministic\)/);
    assert.doesNotMatch(md, /e\+2\d\d/);
    assert.equal(view.markdown.includes('Computed for a test batch; backend test.'), true);
    // CSV: one row per layer × estimator × M, snr `inf` for tanh
    const rows = comparisonCsv(view).trim().split('\n');
    assert.equal(rows.length, 1 + r.layerNames.length * 3 * view.M.length);
    assert.ok(rows.filter((l) => l.includes(',tanh,')).every((l) => l.split(',')[10] === 'inf'));
    assert.ok(rows.filter((l) => l.includes(',psa,')).every((l) => Number.isFinite(Number(l.split(',')[10]))));
  } finally {
    disposeNetwork(net);
  }
});

test('the evaluation: the ensemble curve over s = 1 … samples, the single sample flat, Markdown and CSV', () => {
  const r: RunEvaluation = {
    model: 'toy',
    estimator: 'psa',
    split: 'validation',
    examples: 40,
    step: 100,
    epoch: 2,
    samples: 5,
    accuracy: [0.8, 0.85, 0.86, 0.875, 0.9],
    metrics: { u_loss: 0.4, acc1: 0.8, acc_e: 0.875, entropy: 0.3, examples: 40, samples: 4 },
    seconds: 0.1,
    file: '/runs/toy-psa/eval-validation.json',
  };
  const view = evaluationView(r, '/runs/toy-psa', 'cpu');
  const parsed = parseWorkerEvent({ type: 'runEvaluation', view });
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
  assert.equal(view.run, 'toy-psa');
  assert.equal(view.file, path.join('toy-psa', 'eval-validation.json'), 'the run folder, not the machine path');
  assert.equal(evaluationView({ ...r, file: '/elsewhere/e.json' }, '/runs/toy-psa', 'cpu').file, '/elsewhere/e.json');
  const s = evaluationSeries(view.ensemble, view.acc1);
  assert.deepEqual(s[EVALUATION_SERIES.ensemble], { x: [1, 2, 3, 4, 5], y: r.accuracy });
  assert.deepEqual(s[EVALUATION_SERIES.single], { x: [1, 5], y: [0.8, 0.8] });
  assert.deepEqual(evaluationSeries([], 0.5)[EVALUATION_SERIES.single], { x: [], y: [] });
  assert.match(view.markdown, /\| 4 \| 87\.50% \|/);
  assert.match(view.markdown, /\| 5 \| 90\.00% \|/);
  assert.equal(evaluationCsv(view).trim().split('\n')[5], '5,0.9,0.8');
  // a malformed view is refused with the field named
  const bad = parseWorkerEvent({ type: 'runEvaluation', view: { ...view, ensemble: 'x' } });
  assert.ok(!bad.ok && /view\.ensemble/.test(bad.error), bad.ok ? '' : bad.error);
});
