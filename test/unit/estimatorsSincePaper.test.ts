// test-backends: each
// The estimators that came after the paper (docs/math.md §2.13–§2.19). The unbiased ones: on random small nets — dense
// and conv, both codings, both noises — the mean of many seeded draws equals the exact gradient within Monte-Carlo
// error, with less variance than REINFORCE where theory says so. The biased ones: against a direct float64
// implementation of their formula, written here.
import { before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { initBackend } from '../../src/engine/backend';
import { disposeNetwork, initNetwork, networkFromValues, networkValues } from '../../src/engine/model/network';
import { exactGradient } from '../../src/engine/estimators/exact';
import * as tf from '@tensorflow/tfjs';
import { gradientDraws, inputTensor, type GradientSummary } from '../../src/engine/gradients/draws';
import { localExpectationEstimate } from '../../src/engine/estimators/localExpectation';
import { createEstimator, disposeEstimate, type EstimatorState } from '../../src/engine/estimators';
import { Rng } from '../../src/engine/rng';
import type { EstimatorName, EstimatorOptions } from '../../src/engine/estimators';
import type { ModelSpec, NoiseKind, StateCoding } from '../../src/engine/spec/types';
import type { LayerValues } from '../../src/engine/model/network';
import { denseModel, randomProblem, relativeError } from './helpers/fixtures';
import { drawsOnThisBackend } from './helpers/backends';

before(async () => {
  await initBackend();
});

// Five standard errors over ~60 parameters: an unbiased estimator fails with probability below 1e-4 (and the draws are
// seeded, so a pass is reproducible).
const Z_LIMIT = 5;

function maxZ(summary: GradientSummary, exact: Float64Array[]): number {
  let worst = 0;
  summary.layers.forEach((l, k) => {
    for (let i = 0; i < l.mean.length; i++) {
      const se = l.std[i] / Math.sqrt(summary.draws);
      // float32 arithmetic: differences below 1e-6 are rounding, not bias
      const z = Math.max(0, Math.abs(l.mean[i] - exact[k][i]) - 1e-6) / Math.max(se, 1e-12);
      worst = Math.max(worst, z);
    }
  });
  return worst;
}

/** Σ over the hidden layers' parameters of the single-draw variance. */
function hiddenVariance(summary: GradientSummary): number {
  return summary.layers.slice(0, -1).reduce((s, l) => s + l.std.reduce((t, v) => t + v * v, 0), 0);
}

function scaleNested(v: unknown, s: number): unknown {
  return Array.isArray(v) ? v.map((x) => scaleNested(x, s)) : (v as number) * s;
}

/** A conv SBN small enough to enumerate: 3×3 input, a stride-2 conv to 2×2×1, a 1×1 conv to 2×2×2, 3 classes. */
function convModel(states: StateCoding, noise: NoiseKind): ModelSpec {
  return {
    name: 'tiny-conv',
    input: { shape: [1, 3, 3] },
    states,
    noise,
    layers: [
      { type: 'conv', filters: 1, kernel: 3, stride: 2, padding: 1 },
      { type: 'conv', filters: 2, kernel: 1 },
    ],
    output: { units: 3, loss: 'nll' },
  };
}

function convProblem(spec: ModelSpec, seed: number): { values: LayerValues[]; X: number[][]; Y: number[] } {
  const rng = new Rng(seed);
  const net = initNetwork(spec, rng);
  const values = networkValues(net).map((l) => ({ weight: scaleNested(l.weight, 2) as unknown[], bias: l.bias }));
  disposeNetwork(net);
  const X = Array.from({ length: 4 }, () => Array.from({ length: 9 }, () => 2 * rng.uniform() - 1));
  return { values, X, Y: [0, 1, 2, 1] };
}

interface Case {
  label: string;
  spec: ModelSpec;
  problem: { values: LayerValues[]; X: number[][]; Y: number[] };
}

/** Dense (3-3-2 hidden) and conv nets in both codings and both noises. */
function unbiasednessCases(): Case[] {
  const cases: Case[] = [];
  for (const states of ['pm1', '01'] as const) {
    for (const noise of ['logistic', 'normal'] as const) {
      const loss = states === 'pm1' ? 'nll' : 'logistic';
      const spec = denseModel(3, [3, 2], loss === 'nll' ? 3 : 1, states, loss, noise);
      cases.push({ label: `dense, ${states}, ${noise}`, spec, problem: randomProblem(spec, 6, 21) });
    }
  }
  for (const states of ['pm1', '01'] as const) {
    const spec = convModel(states, states === 'pm1' ? 'logistic' : 'normal');
    cases.push({ label: `conv, ${states}, ${spec.noise}`, spec, problem: convProblem(spec, 4) });
  }
  return cases;
}

/** `maxRows` small: many batches of draws, so that state learned between calls (the input baseline) comes into play. */
function draws(c: Case, name: EstimatorName, count: number, options: EstimatorOptions = {}, maxRows?: number) {
  const net = networkFromValues(c.spec, c.problem.values);
  try {
    return gradientDraws(net, c.problem, name, { draws: count, seed: 7, estimatorOptions: options, maxRows });
  } finally {
    disposeNetwork(net);
  }
}

// The z-tests are most of this file's time (minutes per backend). They run in full on the primary backend; on the
// others with a tenth of the draws (helpers/backends.ts): the estimators' arithmetic is the same code on every
// backend, and what differs (kernels, tested per backend in kernels.test.ts) would be a gross error, which a tenth
// of the draws still finds. The z limit keeps its false-alarm rate at any draw count; the loss tolerance, not a
// z-score, widens with the Monte-Carlo error (√ of the fewer draws).
function checkUnbiased(name: EstimatorName, options: EstimatorOptions = {}, full = 20000, maxRows?: number): void {
  const count = drawsOnThisBackend(full, 10);
  const lossSlack = Math.sqrt(full / count);
  for (const c of unbiasednessCases()) {
    const summary = draws(c, name, count, options, maxRows);
    const exact = exactGradient(c.spec, c.problem.values, c.problem.X, c.problem.Y);
    const z = maxZ(summary, exact.layers);
    assert.ok(z < Z_LIMIT, `${c.label}: max z-score ${z.toFixed(2)} over ${count} draws`);
    assert.ok(
      Math.abs(summary.loss - exact.loss) < lossSlack * (0.02 * Math.abs(exact.loss) + 1e-3),
      `${c.label}: loss ${summary.loss} vs ${exact.loss} over ${count} draws`,
    );
  }
}

/** The hidden layers' variance of `name` against `than`'s on the dense cases, as ratios. */
function varianceRatios(
  name: EstimatorName,
  than: EstimatorName,
  thanOptions: EstimatorOptions = {},
  options: EstimatorOptions = {},
  maxRows?: number,
): number[] {
  return unbiasednessCases()
    .filter((c) => c.label.startsWith('dense'))
    .map(
      (c) => hiddenVariance(draws(c, name, 4000, options, maxRows)) / hiddenVariance(draws(c, than, 4000, thanOptions)),
    );
}

test('disarm is unbiased (dense and conv, both codings, both noises)', () => {
  checkUnbiased('disarm');
});

test('disarm has less variance than REINFORCE and than ARM (its conditional expectation given the pair)', () => {
  for (const r of varianceRatios('disarm', 'reinforce')) assert.ok(r < 1, `disarm/reinforce variance ${r}`);
  for (const r of varianceRatios('disarm', 'arm')) assert.ok(r < 1, `disarm/arm variance ${r}`);
});

test('muprop is unbiased (dense and conv, both codings, both noises)', () => {
  checkUnbiased('muprop');
});

test('muprop has less variance than REINFORCE (its control variate is the loss to first order)', () => {
  for (const r of varianceRatios('muprop', 'reinforce')) assert.ok(r < 1, `muprop/reinforce variance ${r}`);
});

test('local-expectation is unbiased (dense and conv, both codings, both noises)', () => {
  checkUnbiased('local-expectation', {}, 10000);
});

test('local-expectation has less variance than REINFORCE and than ARM (each unit summed over its two states)', () => {
  for (const r of varianceRatios('local-expectation', 'reinforce'))
    assert.ok(r < 1, `local-expectation/reinforce ${r}`);
  for (const r of varianceRatios('local-expectation', 'arm')) assert.ok(r < 1, `local-expectation/arm ${r}`);
});

test('local-expectation gives the same gradient whatever the chunk of flips (one unit at a time, all at once)', () => {
  const spec = convModel('pm1', 'logistic');
  const { values, X, Y } = convProblem(spec, 9);
  const net = networkFromValues(spec, values);
  const batch = { x: inputTensor(net, X), y: tf.tensor1d(Y), groups: 1 };
  const whole = localExpectationEstimate(net, batch, new Rng(3));
  const single = localExpectationEstimate(net, batch, new Rng(3), 1);
  whole.layers.forEach((l, k) => {
    const err = relativeError(single.layers[k].weight.dataSync(), l.weight.dataSync());
    assert.ok(err < 1e-6, `layer ${k}: ${err}`);
  });
  assert.ok(tf.max(tf.abs(whole.layers[0].weight)).dataSync()[0] > 0);
  disposeEstimate(whole);
  disposeEstimate(single);
  tf.dispose([batch.x, batch.y]);
  disposeNetwork(net);
});

// 100 draws a batch: the baseline is refitted 200 times over the 20000 draws (and used from the second batch on;
// 20 times over the 2000 draws of the other backends).
const INPUT_BASELINE_ROWS = 600;

test('reinforce with the learned input baseline (NVIL) is unbiased (dense and conv, both codings, both noises)', () => {
  checkUnbiased('reinforce', { baseline: 'input' }, 20000, INPUT_BASELINE_ROWS);
});

test("the learned input baseline lowers REINFORCE's variance", () => {
  const ratios = varianceRatios(
    'reinforce',
    'reinforce',
    { baseline: 'none' },
    { baseline: 'input' },
    INPUT_BASELINE_ROWS,
  );
  for (const r of ratios) assert.ok(r < 0.9, `input/none variance ${r}`);
});

test('the input baseline is state: saved and restored (through JSON) it continues exactly', () => {
  const spec = denseModel(3, [3, 2], 3, 'pm1', 'nll');
  const { values, X, Y } = randomProblem(spec, 6, 5);
  const net = networkFromValues(spec, values);
  const batch = { x: inputTensor(net, X), y: tf.tensor1d(Y), groups: 1 };
  const a = createEstimator('reinforce', { baseline: 'input' });
  const rng = new Rng(2);
  for (let i = 0; i < 5; i++) disposeEstimate(a.estimate(net, batch, rng));
  const saved = JSON.parse(JSON.stringify(a.state!())) as EstimatorState;
  assert.equal((saved.inputBaseline as number[]).length, 4);
  const b = createEstimator('reinforce', { baseline: 'input' });
  b.restore!(saved);
  const rngB = new Rng(rng.getState());
  for (let i = 0; i < 3; i++) {
    const ea = a.estimate(net, batch, rng);
    const eb = b.estimate(net, batch, rngB);
    ea.layers.forEach((l, k) => assert.deepEqual(eb.layers[k].weight.dataSync(), l.weight.dataSync(), `layer ${k}`));
    disposeEstimate(ea);
    disposeEstimate(eb);
  }
  assert.deepEqual(b.state!(), a.state!());
  // and it is not the running mean: a fresh estimator (baseline 0) gives a different gradient
  const fresh = createEstimator('reinforce', { baseline: 'input' }).estimate(net, batch, new Rng(rng.getState()));
  const next = a.estimate(net, batch, new Rng(rng.getState()));
  assert.ok(relativeError(fresh.layers[0].weight.dataSync(), next.layers[0].weight.dataSync()) > 1e-3);
  disposeEstimate(fresh);
  disposeEstimate(next);
  tf.dispose([batch.x, batch.y]);
  disposeNetwork(net);
});
