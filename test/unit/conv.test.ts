// test-backends: each
// Convolutional SBNs: the ratio convolution's two implementations agree (the authors' own test shapes),
// and every estimator on conv layers equals the same estimator on the dense-unfolded equivalent network
// (docs/math.md §1.4: a conv layer is a dense layer over receptive fields with shared weights), given the same noise.
import { before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend';
import { convOutputSize, ratioConvReference, ratioConvTaps, type ConvGeometry } from '../../src/engine/model/layers';
import { noiseOf } from '../../src/engine/model/noise';
import { Rng } from '../../src/engine/rng';
import {
  disposeNetwork,
  flatParameters,
  initNetwork,
  networkFromValues,
  networkValues,
} from '../../src/engine/model/network';
import { denseEquivalent } from '../../src/engine/model/denseEquivalent';
import { gradientDraws, type Dataset } from '../../src/engine/gradients/draws';
import { ESTIMATOR_NAMES } from '../../src/engine/estimators';
import { exactGradient } from '../../src/engine/estimators/exact';
import type { ModelSpec } from '../../src/engine/spec/types';
import { relativeError } from './helpers/fixtures';

before(async () => {
  await initBackend();
});

function randomTensor(rng: Rng, shape: number[], scale: number): tf.Tensor {
  const v = rng.uniforms(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < v.length; i++) v[i] = (2 * v[i] - 1) * scale;
  return tf.tensor(v, shape);
}

function maxAbs(t: Float32Array | Int32Array | Uint8Array): number {
  let m = 0;
  for (const v of t) m = Math.max(m, Math.abs(v));
  return m;
}

const ratioConvTitle =
  'ratio convolution: per-tap = unfold → dense PSA → fold (K ∈ {1,3,5}, stride ∈ {1,2}, padding ∈ ' +
  '{0,1,2}, both codings)';
test(ratioConvTitle, () => {
  const rng = new Rng(7);
  const noise = noiseOf('logistic');
  let cases = 0;
  for (const K of [1, 3, 5]) {
    for (const stride of [1, 2]) {
      for (const padding of [0, 1, 2]) {
        for (const coding of ['pm1', '01'] as const) {
          const C = 1 + rng.int(3);
          const F = 1 + rng.int(4);
          const H = K + rng.int(5);
          const W = K + 1 + rng.int(4);
          const B = 1 + rng.int(3);
          const Ho = convOutputSize(H, K, stride, padding);
          const Wo = convOutputSize(W, K, stride, padding);
          const g: ConvGeometry = {
            kind: 'conv',
            inShape: [C, H, W],
            filters: F,
            kernel: K,
            stride,
            padding,
            outShape: [F, Ho, Wo],
          };
          const [ref, taps] = tf.tidy(() => {
            const bits = tf.cast(tf.less(randomTensor(rng, [B, H, W, C], 1), 0), 'float32');
            // δ = how an input changes when it flips: −2x for ±1, 1 − 2x for {0,1}
            const shift = coding === 'pm1' ? tf.mul(tf.sub(tf.mul(bits, 2), 1), -2) : tf.sub(1, tf.mul(bits, 2));
            const a = randomTensor(rng, [B, Ho, Wo, F], 3) as tf.Tensor4D;
            const gr = randomTensor(rng, [B, Ho, Wo, F], 1) as tf.Tensor4D;
            const w = randomTensor(rng, [K, K, C, F], 1.5) as tf.Tensor4D;
            return [
              ratioConvReference(a, shift as tf.Tensor4D, gr, w, g, noise),
              ratioConvTaps(a, shift as tf.Tensor4D, gr, w, g, noise),
            ];
          });
          assert.deepEqual(ref.shape, [B, H, W, C]);
          assert.deepEqual(taps.shape, ref.shape);
          const r = ref.dataSync() as Float32Array;
          const t = taps.dataSync() as Float32Array;
          const scale = Math.max(maxAbs(r), 1e-6);
          for (let i = 0; i < r.length; i++)
            assert.ok(
              Math.abs(r[i] - t[i]) <= 1e-4 * scale,
              `K${K} s${stride} p${padding} ${coding}: ${r[i]} vs ${t[i]}`,
            );
          tf.dispose([ref, taps]);
          cases++;
        }
      }
    }
  }
  assert.equal(cases, 36);
});

const CONV_MODEL = (states: 'pm1' | '01'): ModelSpec => ({
  name: 'conv',
  input: { shape: [2, 5, 5] },
  states,
  noise: 'logistic',
  layers: [
    { type: 'conv', filters: 3, kernel: 3, stride: 1, padding: 1 },
    { type: 'conv', filters: 2, kernel: 3, stride: 2, padding: 0 },
    { type: 'flatten' },
  ],
  output: { units: 3, loss: 'nll' },
});

for (const states of ['pm1', '01'] as const) {
  test(`every estimator on conv layers equals its dense-unfolded equivalent (${states})`, () => {
    const spec = CONV_MODEL(states);
    const rng = new Rng(3);
    const conv = initNetwork(spec, rng);
    // sharper weights than the default so that the flips matter
    const values = networkValues(conv).map((l) => ({
      weight: l.weight.map((w) => scaleNested(w, 2.5)),
      bias: l.bias,
    }));
    disposeNetwork(conv);
    const net = networkFromValues(spec, values);
    const forms = net.geometry.map((g, k) => {
      const flat = flatParameters(net)[k];
      const nW = flat.length - (g.kind === 'dense' ? g.units : g.filters);
      return denseEquivalent(g, flat.subarray(0, nW), flat.subarray(nW));
    });
    const denseSpec: ModelSpec = {
      name: 'dense-equivalent',
      input: { shape: [50] },
      states,
      noise: 'logistic',
      layers: forms.slice(0, -1).map((f) => ({ type: 'dense' as const, units: f.layer.out })),
      output: { units: 3, loss: 'nll' },
    };
    const dense = networkFromValues(
      denseSpec,
      forms.map((f) => ({
        weight: Array.from({ length: f.layer.out }, (_, j) =>
          Array.from(f.layer.weight.subarray(j * f.layer.in, (j + 1) * f.layer.in)),
        ),
        bias: Array.from(f.layer.bias),
      })),
    );
    const data: Dataset = {
      X: Array.from({ length: 4 }, () => Array.from({ length: 50 }, () => rng.uniform())),
      Y: [0, 1, 2, 1],
    };
    for (const name of ESTIMATOR_NAMES.filter((n) => n !== 'exact')) {
      const opts = { draws: 3, seed: 11, estimatorOptions: { tau: 0.7, baseline: 'loo' as const } };
      const a = gradientDraws(net, data, name, opts);
      const b = gradientDraws(dense, data, name, opts);
      assert.ok(
        Math.abs(a.loss - b.loss) < 1e-4 * Math.max(1, Math.abs(b.loss)),
        `${name} loss ${a.loss} vs ${b.loss}`,
      );
      a.layers.forEach((layer, k) => {
        const nW = forms[k].layer.in * forms[k].layer.out;
        const mapped = forms[k].backMap(
          Float64Array.from(b.layers[k].mean.subarray(0, nW)),
          Float64Array.from(b.layers[k].mean.subarray(nW)),
        );
        const err = relativeError(layer.mean, mapped);
        assert.ok(err < 2e-4, `${name} layer ${layer.name}: relative error ${err}`);
      });
    }
    disposeNetwork(net);
    disposeNetwork(dense);
  });
}

function scaleNested(v: unknown, s: number): unknown {
  return Array.isArray(v) ? v.map((x) => scaleNested(x, s)) : (v as number) * s;
}

test('exact enumeration of a small conv net matches central finite differences of its conv parameters', () => {
  const spec: ModelSpec = {
    name: 'tiny-conv',
    input: { shape: [1, 3, 3] },
    states: 'pm1',
    noise: 'logistic',
    layers: [
      { type: 'conv', filters: 1, kernel: 3, stride: 2, padding: 1 },
      { type: 'conv', filters: 2, kernel: 1 },
    ],
    output: { units: 2, loss: 'nll' },
  };
  const rng = new Rng(5);
  const net = initNetwork(spec, rng);
  const values = networkValues(net).map((l) => ({ weight: scaleNested(l.weight, 3) as unknown[], bias: l.bias }));
  disposeNetwork(net);
  const X = [Array.from({ length: 9 }, () => rng.uniform()), Array.from({ length: 9 }, () => rng.uniform())];
  const Y = [0, 1];
  const exact = exactGradient(spec, values, X, Y);
  const h = 1e-5;
  values.forEach((layer, k) => {
    const flat = layer.weight.flat(3) as number[];
    const fd: number[] = [];
    const lossWith = (i: number, delta: number) => {
      const w = [...flat];
      const b = [...layer.bias];
      if (i < w.length) w[i] += delta;
      else b[i - w.length] += delta;
      const copy = values.map((v, j) => (j === k ? { weight: reshapeLike(layer.weight, w), bias: b } : v));
      return exactGradient(spec, copy, X, Y).loss;
    };
    for (let i = 0; i < flat.length + layer.bias.length; i++) fd.push((lossWith(i, h) - lossWith(i, -h)) / (2 * h));
    const err = relativeError(exact.layers[k], fd);
    assert.ok(err < 1e-6, `layer ${k}: ${err}`);
  });
});

function reshapeLike(like: unknown, flat: number[]): unknown[] {
  let i = 0;
  const build = (v: unknown): unknown => (Array.isArray(v) ? v.map(build) : flat[i++]);
  return build(like) as unknown[];
}
