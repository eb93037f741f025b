// test-backends: each
import { before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend';
import { networkFromValues, networkValues, disposeNetwork } from '../../src/engine/model/network';
import { exactGradient } from '../../src/engine/estimators/exact';
import { psaEstimate } from '../../src/engine/estimators/psa';
import { dste } from '../../src/engine/estimators/straightThrough';
import { gradientDraws, type GradientSummary } from '../../src/engine/gradients/draws';
import { Rng } from '../../src/engine/rng';
import { ESTIMATOR_NAMES, type EstimatorName, type EstimatorOptions } from '../../src/engine/estimators';
import type { ModelSpec } from '../../src/engine/spec/types';
import { GRADEVAL_MODEL, denseModel, gradevalData, randomProblem, relativeError } from './helpers/fixtures';

before(async () => {
  await initBackend();
});

/** Largest |mean − exact| / standard error over all parameters of all layers. */
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

function drawsAgainstExact(
  spec: ModelSpec,
  name: EstimatorName,
  draws: number,
  seed: number,
  options: EstimatorOptions = {},
  scale = 1,
) {
  const { values, X, Y } = randomProblem(spec, 6, seed, scale);
  const net = networkFromValues(spec, values);
  try {
    const summary = gradientDraws(net, { X, Y }, name, { draws, seed: seed + 1, estimatorOptions: options });
    const exact = exactGradient(spec, networkValues(net), X, Y);
    return { summary, exact, z: maxZ(summary, exact.layers) };
  } finally {
    disposeNetwork(net);
  }
}

// Five standard errors: with ~60 parameters the chance that an unbiased estimator fails is below 1e-4.
const Z_LIMIT = 5;

const unbiased: [EstimatorName, EstimatorOptions][] = [
  ['reinforce', { baseline: 'none' }],
  ['reinforce', { baseline: 'mean' }],
  ['reinforce', { baseline: 'loo' }],
  ['arm', {}],
];
for (const [name, options] of unbiased) {
  for (const states of ['pm1', '01'] as const) {
    const loss = states === 'pm1' ? 'nll' : 'logistic';
    test(`${name}${options.baseline ? ` (baseline ${options.baseline})` : ''} is unbiased (${states}, ${loss})`, () => {
      const spec = denseModel(3, [3, 2], loss === 'nll' ? 3 : 1, states, loss);
      const { z, summary, exact } = drawsAgainstExact(spec, name, 20000, 21);
      assert.ok(z < Z_LIMIT, `max z-score ${z.toFixed(2)}`);
      // the loss value is unbiased too
      assert.ok(
        Math.abs(summary.loss - exact.loss) < 0.02 * Math.abs(exact.loss) + 1e-3,
        `loss ${summary.loss} vs ${exact.loss}`,
      );
    });
  }
}

for (const states of ['pm1', '01'] as const) {
  test(`psa is unbiased with one hidden layer (${states})`, () => {
    const spec = denseModel(3, [4], 3, states, 'nll');
    const { z, summary, exact } = drawsAgainstExact(spec, 'psa', 20000, 5, {}, 1.5);
    assert.ok(z < Z_LIMIT, `max z-score ${z.toFixed(2)}`);
    assert.ok(Math.abs(summary.loss - exact.loss) < 5e-3, `loss ${summary.loss} vs exact ${exact.loss}`);
  });
}

test('the unbiasedness check has power: it rejects psa with two hidden layers and dste on large weights', () => {
  const spec = denseModel(3, [3, 3], 1, 'pm1', 'logistic');
  assert.ok(drawsAgainstExact(spec, 'psa', 20000, 3, {}, 3).z > Z_LIMIT);
  assert.ok(drawsAgainstExact(spec, 'dste', 20000, 3, {}, 3).z > Z_LIMIT);
});

for (const states of ['pm1', '01'] as const) {
  test(`dste equals psa with both finite differences linearised (${states})`, () => {
    const spec = denseModel(4, [5, 4, 3], 3, states, 'nll');
    const { values, X, Y } = randomProblem(spec, 8, 9, 1.2);
    const net = networkFromValues(spec, values);
    const batch = { x: tf.tensor2d(X), y: tf.tensor1d(Y), groups: 2 };
    batch.x = tf.tile<tf.Tensor2D>(batch.x, [2, 1]);
    batch.y = tf.tile<tf.Tensor1D>(batch.y, [2]);
    const lin = psaEstimate(net, batch, new Rng(4), { linearised: true });
    const st = dste.estimate(net, batch, new Rng(4));
    for (let k = 0; k < 3; k++) {
      const a = lin.layers[k].weight.dataSync();
      const b = st.layers[k].weight.dataSync();
      assert.ok(relativeError(a, b) < 1e-5, `layer ${k} weights: ${relativeError(a, b)}`);
      assert.ok(relativeError(lin.layers[k].bias.dataSync(), st.layers[k].bias.dataSync()) < 1e-5, `layer ${k} bias`);
    }
    // and the non-linearised PSA differs (so the comparison is not vacuous)
    const full = psaEstimate(net, batch, new Rng(4));
    assert.ok(relativeError(full.layers[0].weight.dataSync(), st.layers[0].weight.dataSync()) > 1e-3);
    tf.dispose([batch.x, batch.y]);
    disposeNetwork(net);
  });
}

test("tanh reproduces the authors' relaxation gradient at chk-1 and chk-100", () => {
  const data = gradevalData();
  for (const chk of ['chk-1', 'chk-100']) {
    const c = data.checkpoints[chk];
    const net = networkFromValues(GRADEVAL_MODEL, c.layers);
    const s = gradientDraws(net, data, 'tanh', { draws: 3, seed: 1 });
    s.layers.forEach((l, k) => {
      assert.ok(
        relativeError(l.mean, c.tanh_relaxation_grad[k]) < 1e-4,
        `${chk} layer ${k}: ${relativeError(l.mean, c.tanh_relaxation_grad[k])}`,
      );
      assert.ok(l.std.every((v) => v === 0));
    });
    disposeNetwork(net);
  }
});

for (const states of ['pm1', '01'] as const) {
  for (const noise of ['logistic', 'normal'] as const) {
    test(`every estimator runs and returns finite gradients of the right shape (${states}, ${noise} noise)`, () => {
      const spec = denseModel(4, [6, 5], 3, states, 'nll', noise);
      const { values, X, Y } = randomProblem(spec, 10, 2);
      const net = networkFromValues(spec, values);
      for (const name of ESTIMATOR_NAMES) {
        const s = gradientDraws(net, { X, Y }, name, {
          draws: 4,
          seed: 3,
          estimatorOptions: { tau: 0.5, baseline: 'loo' },
        });
        assert.equal(s.layers.length, 3);
        assert.deepEqual(
          s.layers.map((l) => l.mean.length),
          [4 * 6 + 6, 6 * 5 + 5, 5 * 3 + 3],
        );
        assert.ok(Number.isFinite(s.loss), `${name} loss`);
        for (const l of s.layers)
          assert.ok(l.mean.every(Number.isFinite) && l.std.every(Number.isFinite), `${name} ${l.name}`);
      }
      disposeNetwork(net);
    });
  }
}

test('the estimates depend on the seed and not on how draws are batched', () => {
  const spec = denseModel(3, [4, 3], 1, 'pm1', 'logistic');
  const { values, X, Y } = randomProblem(spec, 5, 8);
  const net = networkFromValues(spec, values);
  const perDraw: Float64Array[][] = [];
  const a = gradientDraws(net, { X, Y }, 'psa', { draws: 12, seed: 5, onDraw: (_, l) => perDraw.push(l) });
  const b = gradientDraws(net, { X, Y }, 'psa', { draws: 12, seed: 5, maxRows: 5 * 12 });
  const c = gradientDraws(net, { X, Y }, 'psa', { draws: 12, seed: 6 });
  assert.ok(relativeError(a.layers[0].mean, b.layers[0].mean) < 1e-6);
  assert.ok(relativeError(a.layers[0].mean, c.layers[0].mean) > 1e-3);
  assert.equal(perDraw.length, 12);
  disposeNetwork(net);
});
