// test-backends: each
import { before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend';
import { networkFromValues, disposeNetwork } from '../../src/engine/model/network';
import { evaluateSplit, accuracyVsSamples } from '../../src/engine/train/evaluate';
import { Rng } from '../../src/engine/rng';
import { exactGradient } from '../../src/engine/estimators/exact';
import { GRADEVAL_MODEL, denseModel, gradevalData, randomProblem } from './helpers/fixtures';

before(async () => {
  await initBackend();
});

function splitOf(X: number[][], Y: number[]) {
  return { x: Float32Array.from(X.flat()), y: Float32Array.from(Y), n: X.length };
}

test('u_loss is an unbiased estimate of the exact expected loss (5-5-5 at chk-100)', () => {
  const data = gradevalData();
  const net = networkFromValues(GRADEVAL_MODEL, data.checkpoints['chk-100'].layers);
  const m = evaluateSplit(net, splitOf(data.X, data.Y), 200, new Rng(3));
  // 200 points × 200 samples; the per-sample spread of the flip-averaged loss is ≈ 0.3 → SE ≈ 0.0015
  assert.ok(Math.abs(m.u_loss - 0.683868) < 0.006, `u_loss ${m.u_loss}`);
  assert.ok(m.acc1 > 0.4 && m.acc1 < 0.9 && m.entropy > 0 && m.entropy <= 1);
  disposeNetwork(net);
});

test('u_loss agrees with exact enumeration for a softmax model with ±1 states', () => {
  const spec = denseModel(3, [4, 3], 3, 'pm1', 'nll');
  const { values, X, Y } = randomProblem(spec, 20, 4, 1.5);
  const net = networkFromValues(spec, values);
  const exact = exactGradient(spec, values, X, Y);
  const m = evaluateSplit(net, splitOf(X, Y), 400, new Rng(9));
  assert.ok(Math.abs(m.u_loss - exact.loss) < 0.02 * exact.loss, `u_loss ${m.u_loss} vs exact ${exact.loss}`);
  const acc = accuracyVsSamples(net, splitOf(X, Y), 16, new Rng(2));
  assert.equal(acc.length, 16);
  // saturated units (|a| large) must not turn the entropy into NaN
  const sharp = networkFromValues(
    spec,
    values.map((l) => ({ weight: (l.weight as number[][]).map((r) => r.map((w) => w * 100)), bias: l.bias })),
  );
  const s = evaluateSplit(sharp, splitOf(X, Y), 4, new Rng(1));
  assert.ok(Number.isFinite(s.entropy) && s.entropy >= 0 && s.entropy < 0.05, `entropy ${s.entropy}`);
  disposeNetwork(sharp);
  assert.ok(acc.every((a) => a >= 0 && a <= 1));
  disposeNetwork(net);
});

test('the factored flip average gives the metrics of the direct one (softmax, ±1 and {0,1} states)', () => {
  for (const states of ['pm1', '01'] as const) {
    const spec = denseModel(6, [9, 7], 4, states, 'nll');
    const { values, X, Y } = randomProblem(spec, 30, 11, 1.5);
    const net = networkFromValues(spec, values);
    const tensors = tf.memory().numTensors;
    const factored = evaluateSplit(net, splitOf(X, Y), 8, new Rng(4));
    accuracyVsSamples(net, splitOf(X, Y), 4, new Rng(4));
    assert.equal(tf.memory().numTensors, tensors, 'an evaluation leaves no tensor behind');
    const direct = evaluateSplit(net, splitOf(X, Y), 8, new Rng(4), X.length, 'direct');
    for (const key of ['u_loss', 'acc1', 'acc_e', 'entropy'] as const)
      assert.ok(
        Math.abs(factored[key] - direct[key]) < 1e-5,
        `${states} ${key}: factored ${factored[key]} vs direct ${direct[key]}`,
      );
    assert.ok(direct.u_loss > 0.1 && direct.acc1 < 1, 'the flips matter in this problem');
    disposeNetwork(net);
  }
});
