// test-backends: one
// The fixed-grid learning-rate search of the fair protocol (docs/math.md §4.5): its points, the growth past an edge
// that holds the best rate, diverged trials as +∞, the resume of a half-done grid from its lr-trial records, the
// choice by the validation u_loss where the training objective would choose otherwise; and the authors' deterministic
// tanh(a) network (estimator tanh, activation tanh) against finite differences.
import { before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend';
import { gridPoints, gridSearchLearningRate } from '../../src/engine/train/lrSearch';
import { resolveTrainSpec, trialObjective } from '../../src/engine/train/trainer';
import { parseModelText, type ModelSpec } from '../../src/engine/spec';
import { RunStore, readMetrics, type LrTrialRecord } from '../../src/engine/runs';
import { createEstimator } from '../../src/engine/estimators';
import { tanhDetEstimate, tanhEstimate } from '../../src/engine/estimators/relaxations';
import { disposeNetwork, networkFromValues } from '../../src/engine/model/network';
import type { LoadedData } from '../../src/engine/data';
import { denseModel, randomProblem } from './helpers/fixtures';

before(async () => {
  await initBackend();
});

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-lrgrid-'));

function newStore(name: string): RunStore {
  return RunStore.create(path.join(tmp, 'runs'), name, {
    modelFileName: 'toy.sbn.json',
    modelText: '{}',
    config: {},
    environment: {},
  });
}

/** A trial whose objective is a parabola in log10 lr with its minimum at `best`, diverging above `diverge`. */
function parabola(best: number, diverge = Infinity) {
  const calls: number[] = [];
  const trial = (lr: number) => {
    const x = Math.log10(lr);
    calls.push(Math.round(x * 1e6) / 1e6);
    return Promise.resolve(
      x > diverge ? { objective: Infinity, diverged: true } : { objective: (x - best) ** 2, diverged: false },
    );
  };
  return { calls, trial };
}

test('grid points: min to max in steps, the ends included; 9 rates for [−4, 0] in half decades', () => {
  assert.deepEqual(gridPoints(-4, 0, 0.5), [-4, -3.5, -3, -2.5, -2, -1.5, -1, -0.5, 0]);
  assert.deepEqual(gridPoints(-3, -1, 1), [-3, -2, -1]);
  assert.deepEqual(gridPoints(-1, -1, 0.5), [-1]);
  // a max between points is not passed: the last point is the last one ≤ max
  assert.deepEqual(gridPoints(-2, -0.7, 0.5), [-2, -1.5, -1]);
  assert.deepEqual(gridPoints(-1, 0, 0.1).length, 11);
});

test('grid search: every rate once, the best inside the grid is kept without extension', async () => {
  const { calls, trial } = parabola(-1.4);
  const lr = await gridSearchLearningRate({ min: -4, max: 0, step: 0.5 }, undefined, trial);
  assert.deepEqual(calls, [-4, -3.5, -3, -2.5, -2, -1.5, -1, -0.5, 0]);
  assert.ok(Math.abs(Math.log10(lr) + 1.5) < 1e-12, `lr ${lr}`);
});

test('grid search: the grid grows past the edge that holds the best rate, at most `extend` steps', async () => {
  const low = parabola(-5.3);
  const lr = await gridSearchLearningRate({ min: -4, max: -2, step: 0.5, extend: 2 }, undefined, low.trial);
  assert.deepEqual(low.calls, [-4, -3.5, -3, -2.5, -2, -4.5, -5]);
  assert.ok(Math.abs(Math.log10(lr) + 5) < 1e-12, `lr ${lr}: the best after two extensions`);
  const high = parabola(-0.6);
  const up = await gridSearchLearningRate({ min: -3, max: -2, step: 0.5, extend: 3 }, undefined, high.trial);
  // −1.5, −1, −0.5 added; −0.5 is best and lies on the edge, but the three extensions are spent
  assert.deepEqual(high.calls, [-3, -2.5, -2, -1.5, -1, -0.5]);
  assert.ok(Math.abs(Math.log10(up) + 0.5) < 1e-12, `lr ${up}`);
  const stops = parabola(-3.2);
  await gridSearchLearningRate({ min: -3, max: -2, step: 0.5, extend: 2 }, undefined, stops.trial);
  assert.deepEqual(stops.calls, [-3, -2.5, -2, -3.5], 'one step past the edge found an interior best: no more');
  const fixed = parabola(-9);
  await gridSearchLearningRate({ min: -3, max: -2, step: 0.5, extend: 0 }, undefined, fixed.trial);
  assert.deepEqual(fixed.calls, [-3, -2.5, -2]);
});

test('grid search: diverged trials count as +∞; when all diverge the grid grows downwards', async () => {
  const { calls, trial } = parabola(-0.2, -1.2);
  const lr = await gridSearchLearningRate({ min: -3, max: 0, step: 0.5 }, undefined, trial);
  assert.ok(Math.abs(Math.log10(lr) + 1.5) < 1e-12, `lr ${lr}: the best rate that did not diverge`);
  assert.equal(calls.length, 7);
  const all = parabola(0, -10);
  const lowest = await gridSearchLearningRate({ min: -2, max: -1, step: 0.5, extend: 2 }, undefined, all.trial);
  assert.deepEqual(all.calls, [-2, -1.5, -1, -2.5, -3]);
  assert.ok(Math.abs(Math.log10(lowest) + 3) < 1e-12);
});

test('grid search: an interrupted search resumes from its lr-trial records without repeating a trial', async () => {
  const options = { min: -4, max: -1, step: 0.5, extend: 2 };
  const whole = parabola(-4.2, -1.2);
  const expected = await gridSearchLearningRate(options, undefined, whole.trial);

  const store = newStore('resume');
  const first = parabola(-4.2, -1.2);
  const stopAfter = 4;
  await assert.rejects(
    gridSearchLearningRate(options, store, (lr) => {
      if (first.calls.length === stopAfter) throw new Error('stopped');
      return first.trial(lr);
    }),
    /stopped/,
  );
  assert.deepEqual(first.calls, whole.calls.slice(0, stopAfter));
  const second = parabola(-4.2, -1.2);
  const lr = await gridSearchLearningRate(options, store, second.trial);
  store.close();
  assert.equal(lr, expected);
  assert.deepEqual(second.calls, whole.calls.slice(stopAfter), 'only the trials not yet recorded');
  const trials = readMetrics(store.dir).records.filter((r): r is LrTrialRecord => r.kind === 'lr-trial');
  assert.deepEqual(
    trials.map((t) => t.trial),
    whole.calls.map((_, i) => i + 1),
  );
  assert.ok(trials.every((t) => t.criterion === 'validation.u_loss'));
  // the diverged trial (−1) is recorded as such, with no objective, and is not repeated on resume either
  const diverged = trials.filter((t) => t.diverged);
  assert.deepEqual(
    diverged.map((t) => [t.log10lr, t.objective]),
    [[-1, null]],
  );
  const third = parabola(-4.2, -1.2);
  assert.equal(await gridSearchLearningRate(options, store, third.trial), expected);
  assert.deepEqual(third.calls, []);
});

/** Two classes on a line, the validation set labelled the other way round: learning the training set hurts it. */
function flippedData(): LoadedData {
  const n = 64;
  const x = new Float32Array(n * 2);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = (i / (n - 1)) * 2 - 1;
    x[2 * i] = t;
    x[2 * i + 1] = 0.3 * Math.sin(5 * t);
    y[i] = t > 0 ? 1 : -1;
  }
  const flipped = y.map((v) => -v);
  return {
    name: 'flipped',
    train: { x, y, n },
    validation: { x: x.slice(), y: flipped, n },
    inputShape: [2],
    classes: 2,
    source: 'test',
  };
}

function toyModel(): ModelSpec {
  const r = parseModelText(
    JSON.stringify({
      name: 'toy',
      input: { shape: [2] },
      layers: [{ type: 'dense', units: 8 }],
      output: { units: 1, loss: 'logistic' },
      data: { dataset: 'toy-2d', validation: 40 },
      train: {
        estimator: 'tanh',
        optimizer: { type: 'sgd', momentum: 0.9 },
        lr: { grid: { min: -3, max: -1, step: 1, extend: 0 } },
        batchSize: 16,
        init: 'default',
        evalSamples: 4,
      },
    }),
    'toy.sbn.json',
  );
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.model;
}

test('the grid picks by the validation u_loss, where the training objective would pick another rate', async () => {
  const spec = toyModel();
  const t = resolveTrainSpec(spec.train!);
  const data = flippedData();
  const byValidation = (lr: number) => trialObjective(spec, t, data, lr, 3, undefined, 'validation.u_loss');
  const byTraining = (lr: number) => trialObjective(spec, t, data, lr, 3, undefined, 'train.objective');
  const chosen = await gridSearchLearningRate({ min: -3, max: -1, step: 1, extend: 0 }, undefined, byValidation);
  const byTrainingChosen = await gridSearchLearningRate(
    { min: -3, max: -1, step: 1, extend: 0 },
    undefined,
    byTraining,
  );
  // learning the training labels is unlearning the validation ones: the least learning wins on validation
  assert.ok(Math.abs(Math.log10(chosen) + 3) < 1e-9, `validation u_loss chose ${chosen}`);
  assert.ok(Math.abs(Math.log10(byTrainingChosen) + 1) < 1e-9, `training objective chose ${byTrainingChosen}`);
  // the objective is the SBN's u_loss on the validation split, not the training one
  const v = await byValidation(0.1);
  const tr = await byTraining(0.1);
  assert.ok(!v.diverged && v.objective > Math.log(2), `validation u_loss ${v.objective} is worse than chance`);
  assert.ok(tr.objective < Math.log(2), `training objective ${tr.objective} is better than chance`);
});

for (const states of ['pm1', '01'] as const)
  test(`tanh with activation tanh: x = tanh(a) (${states}); its gradient matches finite differences`, () => {
    const spec = denseModel(3, [4, 3], 2, states, 'nll');
    const problem = randomProblem(spec, 6, 11, 0.8);
    const { X, Y } = problem;
    // dense layers: weight[out][in]
    const values = problem.values as { weight: number[][]; bias: number[] }[];
    const lossOf = (v: typeof values): number => {
      const net = networkFromValues(spec, v);
      const e = tanhDetEstimate(net, { x: tf.tensor2d(X), y: tf.tensor1d(Y), groups: 1 });
      const loss = e.loss.dataSync()[0];
      tf.dispose([e.loss, ...e.layers.flatMap((l) => [l.weight, l.bias])]);
      disposeNetwork(net);
      return loss;
    };
    const net = networkFromValues(spec, values);
    const batch = { x: tf.tensor2d(X), y: tf.tensor1d(Y), groups: 1 };
    const est = createEstimator('tanh', { activation: 'tanh' }).estimate(net, batch, undefined as never);
    const meanField = tanhEstimate(net, batch);
    // not the mean field tanh(a/2): a different network (so the comparison below is not vacuous)
    assert.ok(Math.abs(est.loss.dataSync()[0] - meanField.loss.dataSync()[0]) > 1e-4);
    const eps = 1e-2;
    let checked = 0;
    values.forEach((layer, k) => {
      const grad = est.layers[k].weight.dataSync();
      const inputs = layer.weight[0].length;
      for (const [o, i] of [
        [0, 0],
        [layer.weight.length - 1, inputs - 1],
        [1, Math.min(1, inputs - 1)],
      ]) {
        const shifted = (d: number) => {
          const v = structuredClone(values);
          v[k].weight[o][i] += d;
          return lossOf(v);
        };
        const fd = (shifted(eps) - shifted(-eps)) / (2 * eps);
        const g = grad[o * inputs + i];
        assert.ok(Math.abs(fd - g) < 2e-3 + 2e-2 * Math.abs(g), `layer ${k} w[${o}][${i}]: fd ${fd}, estimate ${g}`);
        checked++;
      }
      const bias = est.layers[k].bias.dataSync();
      const v = structuredClone(values);
      v[k].bias[0] += eps;
      const up = lossOf(v);
      v[k].bias[0] -= 2 * eps;
      const fd = (up - lossOf(v)) / (2 * eps);
      assert.ok(Math.abs(fd - bias[0]) < 2e-3 + 2e-2 * Math.abs(bias[0]), `layer ${k} b[0]: fd ${fd}, ${bias[0]}`);
    });
    assert.equal(checked, 9);
    // the loss is that of the network with states tanh(a) (±1) or (1 + tanh(a))/2 ({0,1}), computed here by hand
    let h = X.map((row) => [...row]);
    values.forEach((layer, k) => {
      const a = h.map((row) => layer.weight.map((w, o) => w.reduce((s, wi, i) => s + wi * row[i], layer.bias[o])));
      const hidden = k < values.length - 1;
      h = hidden ? a.map((row) => row.map((v) => (states === 'pm1' ? Math.tanh(v) : (1 + Math.tanh(v)) / 2))) : a;
    });
    const nll =
      h
        .map((logits, r) => Math.log(logits.reduce((s, l) => s + Math.exp(l), 0)) - logits[Y[r]])
        .reduce((s, v) => s + v) / h.length;
    assert.ok(Math.abs(est.loss.dataSync()[0] - nll) < 1e-5, `loss ${est.loss.dataSync()[0]}, by hand ${nll}`);
    tf.dispose([batch.x, batch.y, est.loss, meanField.loss]);
    disposeNetwork(net);
  });
