// test-backends: each
// Gradient diagnostics and layer statistics while training: they never change training, the reference is
// exact where enumeration fits and an unbiased mean otherwise, and the statistics match a direct computation.
import { before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend';
import { parseModelText, type ModelSpec } from '../../src/engine/spec';
import { loadDataset } from '../../src/engine/data';
import { resolveTrainSpec, train } from '../../src/engine/train/trainer';
import { gradientDiagnostics, layerStatistics, resolveDiagnostics } from '../../src/engine/train/monitor';
import { networkFromValues, disposeNetwork } from '../../src/engine/model/network';
import { Rng } from '../../src/engine/rng';
import { denseModel, randomProblem } from './helpers/fixtures';

before(async () => {
  await initBackend();
});

function toy(diagnostics?: Record<string, unknown>): ModelSpec {
  const r = parseModelText(
    JSON.stringify({
      name: 'toy',
      input: { shape: [2] },
      layers: [{ type: 'dense', units: 6 }],
      output: { units: 1, loss: 'logistic' },
      data: { dataset: 'toy-2d', validation: 40 },
      train: {
        estimator: 'dste',
        optimizer: { type: 'adam' },
        lr: 0.01,
        batchSize: 16,
        epochs: 2,
        evalSamples: 2,
        logInterval: 3,
      },
      ...(diagnostics ? { diagnostics } : {}),
    }),
    'toy.sbn.json',
  );
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.model;
}

test('a run trains identically with diagnostics and layer statistics on or off', async () => {
  const runs: Record<string, unknown[]> = {};
  for (const [label, diag] of [
    ['off', { statsInterval: 0 }],
    ['on', { interval: 4, draws: 6, budgetSeconds: 5, batch: 16, statsInterval: 2 }],
  ] as const) {
    const spec = toy(diag);
    const t = resolveTrainSpec(spec.train!);
    const data = loadDataset(spec.data!, { baseDir: '.', inputShape: [2], loss: 'logistic', classes: 1 });
    const records: unknown[] = [];
    let diagnostics = 0;
    let stats = 0;
    await train({
      spec,
      train: t,
      data,
      events: {
        step: (e) => records.push(['step', e.step, e.loss, e.lr]),
        eval: (e) => records.push(['eval', e.split, e.step, e.u_loss, e.acc1, e.acc_e]),
        diagnostics: (e) => {
          diagnostics++;
          assert.equal(e.reference, 'exact');
          assert.ok(e.estimators.length >= 4);
        },
        layerStats: () => {
          stats++;
        },
      },
    });
    runs[label] = records;
    if (label === 'on') {
      assert.ok(diagnostics >= 3, `diagnostics ${diagnostics}`);
      assert.ok(stats >= 5, `stats ${stats}`);
    }
  }
  assert.ok(runs.off.length > 10);
  assert.deepEqual(runs.on, runs.off);
});

test('the reference is exact where enumeration fits and an unbiased mean (with its error) otherwise', () => {
  for (const [hidden, expected] of [
    [[4, 3], 'exact'],
    [[18, 18], 'unbiased-mean'],
  ] as const) {
    const spec = denseModel(3, [...hidden], 3, 'pm1', 'nll');
    const { values, X, Y } = randomProblem(spec, 12, 3);
    const net = networkFromValues(spec, values);
    const d = {
      ...resolveDiagnostics(spec, resolveTrainSpec({ estimator: 'psa', lr: 0.1 })),
      draws: 20,
      budgetSeconds: 20,
    };
    const r = gradientDiagnostics(net, { X, Y }, d, new Rng(1));
    assert.equal(r.reference, expected);
    assert.ok(
      expected === 'exact' ? r.referenceError.every((e) => e === 0) : r.referenceError.every((e) => e > 0 && e < 1),
    );
    assert.equal(r.referenceEstimator, expected === 'exact' ? undefined : 'local-expectation');
    assert.ok(expected === 'exact' ? r.referenceDraws === 0 : r.referenceDraws >= 8);
    assert.deepEqual(
      r.estimators.map((e) => e.estimator),
      ['psa', 'dste', 'reinforce', 'arm'],
    );
    for (const e of r.estimators)
      for (const l of e.layers) assert.ok(l.cos.every(Number.isFinite) && l.variance >= 0 && l.bias >= 0);
    // with one hidden layer PSA is exact in the last hidden layer and the output layer: small bias there
    disposeNetwork(net);
  }
});

test('layer statistics match a direct computation on a small net', () => {
  const spec = denseModel(3, [4], 2, 'pm1', 'nll');
  const { values, X } = randomProblem(spec, 9, 5, 2);
  const net = networkFromValues(spec, values);
  const x = tf.tensor2d(X);
  const [hidden, output] = layerStatistics(net, x, new Rng(2), [0.5, 0.25]);
  const W = values[0].weight as number[][];
  const b = values[0].bias;
  const a = X.flatMap((row) => W.map((w, j) => w.reduce((s, wi, i) => s + wi * row[i], b[j])));
  const mean = a.reduce((p, q) => p + q, 0) / a.length;
  const std = Math.sqrt(a.reduce((p, q) => p + (q - mean) ** 2, 0) / a.length);
  const sig = (t: number) => 1 / (1 + Math.exp(-t));
  const entropy =
    a
      .map((t) => {
        const p = sig(t);
        return -(p * Math.log2(p) + (1 - p) * Math.log2(1 - p));
      })
      .reduce((p, q) => p + q, 0) / a.length;
  assert.ok(Math.abs(hidden.preMean! - mean) < 1e-5);
  assert.ok(Math.abs(hidden.preStd! - std) < 1e-4);
  assert.ok(Math.abs(hidden.entropy! - entropy) < 1e-4);
  assert.equal(hidden.saturated, a.filter((t) => Math.abs(t) > 4).length / a.length);
  assert.equal(
    hidden.preHist!.counts.reduce((p, q) => p + q, 0),
    a.length,
  );
  assert.ok(Math.abs(hidden.weightNorm - Math.hypot(...W.flat())) < 1e-5);
  assert.equal(hidden.gradNorm, 0.5);
  assert.ok(hidden.firingRate! >= 0 && hidden.firingRate! <= 1);
  // one firing rate per unit, in [0, 1]
  assert.equal(
    hidden.firingHist!.counts.reduce((p, q) => p + q, 0),
    4,
  );
  assert.deepEqual([hidden.firingHist!.min, hidden.firingHist!.max], [0, 1]);
  assert.equal(output.gradNorm, 0.25);
  assert.equal(
    output.weightHist.counts.reduce((p, q) => p + q, 0),
    8,
  );
  x.dispose();
  disposeNetwork(net);
});
