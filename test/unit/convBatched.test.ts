// test-backends: each
// Per-draw conv weight gradients computed for all stacked draws at once (model/convBatched.ts) equal the
// per-draw loop's — one filter-gradient convolution per draw — up to float summation order: per layer over
// kernel sizes, strides, paddings and both state codings, and through a whole estimate on a small conv net.
import { before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend';
import { convOutputSize, convWeightGradient, prepareConv, type ConvGeometry } from '../../src/engine/model/layers';
import { convWeightGradientPerDraw } from '../../src/engine/model/convBatched';
import { disposeNetwork, initNetwork } from '../../src/engine/model/network';
import { createEstimator, disposeEstimate } from '../../src/engine/estimators';
import { inputTensor } from '../../src/engine/gradients/draws';
import { Rng } from '../../src/engine/rng';
import type { ModelSpec } from '../../src/engine/spec/types';

before(async () => {
  await initBackend();
});

function uniformTensor(rng: Rng, shape: number[], scale: number): tf.Tensor {
  const v = rng.uniforms(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < v.length; i++) v[i] = (2 * v[i] - 1) * scale;
  return tf.tensor(v, shape);
}

/** Binary states in the coding: ±1 or {0, 1}. */
function statesTensor(rng: Rng, shape: number[], coding: 'pm1' | '01'): tf.Tensor {
  return tf.tidy(() => {
    const bits = tf.cast(tf.less(uniformTensor(rng, shape, 1), 0), 'float32');
    return coding === 'pm1' ? tf.sub(tf.mul(bits, 2), 1) : bits;
  });
}

/** Largest |a − b| relative to the largest |b| (at least 1e-6). */
function maxRelativeDifference(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  assert.equal(x.length, y.length);
  let scale = 1e-6;
  for (const v of y) scale = Math.max(scale, Math.abs(v));
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff = Math.max(diff, Math.abs(x[i] - y[i]));
  return diff / scale;
}

test('conv paramGradient for stacked draws equals the per-draw loop (K, stride, padding, both codings)', () => {
  const rng = new Rng(17);
  let cases = 0;
  for (const K of [1, 3, 5]) {
    for (const stride of [1, 2]) {
      for (const padding of [0, 1, 2]) {
        for (const coding of ['pm1', '01'] as const) {
          const C = 1 + rng.int(3);
          const F = 1 + rng.int(4);
          const H = K + rng.int(5);
          const W = K + 1 + rng.int(4);
          const n = 1 + rng.int(3);
          const G = 2 + rng.int(5);
          const g: ConvGeometry = {
            kind: 'conv',
            inShape: [C, H, W],
            filters: F,
            kernel: K,
            stride,
            padding,
            outShape: [F, convOutputSize(H, K, stride, padding), convOutputSize(W, K, stride, padding)],
          };
          const [, Ho, Wo] = g.outShape;
          const [batched, loop, bias, biasLoop] = tf.tidy(() => {
            const x = statesTensor(rng, [G * n, H, W, C], coding) as tf.Tensor4D;
            const e = uniformTensor(rng, [G * n, Ho, Wo, F], 1) as tf.Tensor4D;
            const layer = prepareConv(g, {
              weight: uniformTensor(rng, [K, K, C, F], 1),
              bias: uniformTensor(rng, [F], 1) as tf.Tensor1D,
            });
            const grad = layer.paramGradient(e, x, G);
            const perDraw = Array.from({ length: G }, (_, k) => {
              const xK = tf.slice(x, [k * n, 0, 0, 0], [n, -1, -1, -1]);
              const eK = tf.slice(e, [k * n, 0, 0, 0], [n, -1, -1, -1]);
              return { w: tf.div(convWeightGradient(xK, eK, g), n), b: tf.mean(tf.sum(eK, [1, 2]), 0) };
            });
            return [grad.weight, tf.stack(perDraw.map((d) => d.w)), grad.bias, tf.stack(perDraw.map((d) => d.b))];
          });
          const label = `K${K} s${stride} p${padding} ${coding} G${G} n${n}`;
          assert.deepEqual(batched.shape, [G, K, K, C, F], label);
          assert.deepEqual(loop.shape, batched.shape, label);
          const err = maxRelativeDifference(batched, loop);
          assert.ok(err < 1e-5, `${label}: weight gradients differ by ${err} of the largest entry`);
          assert.ok(maxRelativeDifference(bias, biasLoop) < 1e-5, `${label}: bias gradients differ`);
          tf.dispose([batched, loop, bias, biasLoop]);
          cases++;
        }
      }
    }
  }
  assert.equal(cases, 36);
});

test('convWeightGradientPerDraw of one draw is the filter gradient of the whole batch', () => {
  const rng = new Rng(5);
  const g: ConvGeometry = {
    kind: 'conv',
    inShape: [3, 7, 6],
    filters: 4,
    kernel: 3,
    stride: 2,
    padding: 1,
    outShape: [4, 4, 3],
  };
  const [one, whole] = tf.tidy((): tf.Tensor[] => {
    const x = statesTensor(rng, [5, 7, 6, 3], 'pm1') as tf.Tensor4D;
    const e = uniformTensor(rng, [5, 4, 3, 4], 1) as tf.Tensor4D;
    const padded = tf.pad(x, [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ]);
    return [tf.squeeze(convWeightGradientPerDraw(padded, e, g, 1), [0]), convWeightGradient(x, e, g)];
  });
  assert.ok(maxRelativeDifference(one, whole) < 1e-5);
  tf.dispose([one, whole]);
});

const CONV_MODEL = (states: 'pm1' | '01'): ModelSpec => ({
  name: 'conv',
  input: { shape: [2, 6, 5] },
  states,
  noise: 'logistic',
  layers: [
    { type: 'conv', filters: 3, kernel: 3, stride: 1, padding: 1 },
    { type: 'conv', filters: 2, kernel: 3, stride: 2, padding: 0 },
    { type: 'flatten' },
    { type: 'dense', units: 4 },
  ],
  output: { units: 3, loss: 'nll' },
});

for (const states of ['pm1', '01'] as const) {
  test(`an estimate of G stacked draws on a conv net equals G single-draw estimates (${states})`, () => {
    // The deterministic tanh estimator, so that single-draw estimates can reproduce each stacked draw exactly;
    // every draw gets its own data rows, so that a draw mixed up with another cannot go unnoticed.
    const spec = CONV_MODEL(states);
    const rng = new Rng(23);
    const net = initNetwork(spec, rng);
    const estimator = createEstimator('tanh');
    const G = 4;
    const n = 3;
    const inputs = 2 * 6 * 5;
    const X = Array.from({ length: G * n }, () => Array.from(rng.uniforms(inputs), (v) => 4 * v - 2));
    const Y = Array.from({ length: G * n }, () => rng.int(3));
    const x = inputTensor(net, X);
    const y = tf.tensor1d(Y, 'float32');
    const stacked = estimator.estimate(net, { x, y, groups: G }, rng);
    for (let k = 0; k < G; k++) {
      const xK = inputTensor(net, X.slice(k * n, (k + 1) * n));
      const yK = tf.tensor1d(Y.slice(k * n, (k + 1) * n), 'float32');
      const single = estimator.estimate(net, { x: xK, y: yK, groups: 1 }, rng);
      assert.ok(Math.abs(stacked.loss.dataSync()[k] - single.loss.dataSync()[0]) < 1e-5, `draw ${k}: loss`);
      single.layers.forEach((layer, l) => {
        for (const part of ['weight', 'bias'] as const) {
          const mine = tf.tidy(() => tf.gather(stacked.layers[l][part], [k]));
          const err = maxRelativeDifference(mine, layer[part]);
          assert.ok(err < 1e-5, `draw ${k}, ${net.layerNames[l]}.${part}: differs by ${err} of the largest entry`);
          mine.dispose();
        }
      });
      disposeEstimate(single);
      tf.dispose([xK, yK]);
    }
    disposeEstimate(stacked);
    tf.dispose([x, y]);
    disposeNetwork(net);
  });
}
