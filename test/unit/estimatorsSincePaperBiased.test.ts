// test-backends: each
// The biased estimators that came after the paper — ST Gumbel, Gumbel-Rao, ReinMax (docs/math.md §2.17–§2.19) —
// against a direct float64 implementation of their formulas, written here as the papers state them: a dense SBN forward
// with the same random draws (consumed in the engine's order), then backprop with each method's ∂x/∂a.
import { before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend';
import { disposeNetwork, networkFromValues, type LayerValues } from '../../src/engine/model/network';
import { createEstimator, disposeEstimate, type EstimatorOptions } from '../../src/engine/estimators';
import { bernoulli } from '../../src/engine/counterStream';
import { lossAndGrad64 } from '../../src/engine/model/loss';
import { noiseOf } from '../../src/engine/model/noise';
import { codingOf } from '../../src/engine/model/coding';
import { Rng } from '../../src/engine/rng';
import { gradientDraws } from '../../src/engine/gradients/draws';
import type { ModelSpec, NoiseKind, StateCoding } from '../../src/engine/spec/types';
import { denseModel, randomProblem, relativeError } from './helpers/fixtures';

before(async () => {
  await initBackend();
});

/** One hidden layer's draw: its states and ∂x/∂a, from the pre-activations [rows][units]. */
type LayerDraw = (a: number[][], rng: Rng) => { x: number[][]; deriv: number[][] };

/** Flat gradients per layer (W row-major [out][in], then b) of the batch-mean loss, by float64 backprop. */
function reference(spec: ModelSpec, values: LayerValues[], X: number[][], Y: number[], draw: LayerDraw, rng: Rng) {
  const L = values.length - 1;
  const W = values.map((v) => v.weight as number[][]);
  const b = values.map((v) => v.bias);
  const affine = (k: number, x: number[][]) =>
    x.map((row) => W[k].map((w, j) => b[k][j] + w.reduce((s, wi, i) => s + wi * row[i], 0)));
  const xs: number[][][] = [X];
  const derivs: number[][][] = [];
  for (let k = 0; k < L; k++) {
    const d = draw(affine(k, xs[k]), rng);
    xs.push(d.x);
    derivs.push(d.deriv);
  }
  const logits = affine(L, xs[L]);
  const N = X.length;
  const K = spec.output.units;
  const dOut = new Float64Array(K);
  let loss = 0;
  let e = logits.map((eta, n) => {
    loss += lossAndGrad64(spec.output.loss, Float64Array.from(eta), Y[n], dOut) / N;
    return Array.from(dOut);
  });
  const grads: number[][] = new Array<number[]>(L + 1);
  for (let k = L; k >= 0; k--) {
    const nIn = W[k][0].length;
    const g = new Array<number>(W[k].length * nIn + W[k].length).fill(0);
    e.forEach((row, n) =>
      row.forEach((ej, j) => {
        for (let i = 0; i < nIn; i++) g[j * nIn + i] += (ej * xs[k][n][i]) / N;
        g[W[k].length * nIn + j] += ej / N;
      }),
    );
    grads[k] = g;
    if (k === 0) break;
    // ∂ℓ/∂x^k = Wᵀ e, times ∂x/∂a of layer k
    e = e.map((row, n) =>
      Array.from({ length: nIn }, (_, i) => row.reduce((s, ej, j) => s + ej * W[k][j][i], 0) * derivs[k - 1][n][i]),
    );
  }
  return { loss, grads };
}

function sigmoid(t: number): number {
  return 1 / (1 + Math.exp(-t));
}

/** The engine's Bernoulli sampler on float64 probabilities: one seed per layer from the stream, then its counters. */
function sampleBits(p: number[][], rng: Rng): number[][] {
  const bits = bernoulli(Float32Array.from(p.flat()), rng.seed53());
  const n = p[0].length;
  return p.map((row, r) => row.map((_, j) => bits[r * n + j]));
}

const draws: Record<
  'gumbel-st' | 'gumbel-rao' | 'reinmax',
  (states: StateCoding, noise: NoiseKind, o: Required<Pick<EstimatorOptions, 'tau' | 'k'>>) => LayerDraw
> = {
  // hard x = on iff z < a, z = F⁻¹(u); ∂x/∂a = c σ'((a − z)/τ)/τ
  'gumbel-st':
    (states, noise, { tau }) =>
    (a, rng) => {
      const F = noiseOf(noise);
      const c = codingOf(states);
      const u = rng.uniforms(a.length * a[0].length);
      const z = a.map((row, r) => row.map((_, j) => F.inverseCdf64(u[r * row.length + j])));
      return {
        x: a.map((row, r) => row.map((aj, j) => (z[r][j] < aj ? c.on : c.off))),
        deriv: a.map((row, r) =>
          row.map((aj, j) => {
            const s = sigmoid((aj - z[r][j]) / tau);
            return (c.meanScale * s * (1 - s)) / tau;
          }),
        ),
      };
    },
  // x sampled; K draws of z | x (on: z = F⁻¹(v F(a)), off: z = F⁻¹(1 − v (1 − F(a)))), the derivative averaged
  'gumbel-rao':
    (states, noise, { tau, k }) =>
    (a, rng) => {
      const F = noiseOf(noise);
      const c = codingOf(states);
      const bits = sampleBits(
        a.map((row) => row.map((aj) => F.cdf64(aj))),
        rng,
      );
      const deriv = a.map((row) => row.map(() => 0));
      for (let d = 0; d < k; d++) {
        const v = rng.uniforms(a.length * a[0].length);
        a.forEach((row, r) =>
          row.forEach((aj, j) => {
            const p = F.cdf64(aj);
            const w = v[r * row.length + j];
            const z = F.inverseCdf64(bits[r][j] ? w * p : 1 - w * (1 - p));
            const s = sigmoid((aj - z) / tau);
            deriv[r][j] += (c.meanScale * s * (1 - s)) / tau / k;
          }),
        );
      }
      return { x: bits.map((row) => row.map((bit) => (bit ? c.on : c.off))), deriv };
    },
  // x sampled; ∂x/∂a = c (2π₁(1 − π₁) − ½ p(1 − p)) F'(a)/(p(1 − p)), π₁ = (b + p)/2: the paper's form, unsimplified
  reinmax: (states, noise) => (a, rng) => {
    const F = noiseOf(noise);
    const c = codingOf(states);
    const bits = sampleBits(
      a.map((row) => row.map((aj) => F.cdf64(aj))),
      rng,
    );
    return {
      x: bits.map((row) => row.map((bit) => (bit ? c.on : c.off))),
      deriv: a.map((row, r) =>
        row.map((aj, j) => {
          const p = F.cdf64(aj);
          const pi1 = (bits[r][j] + p) / 2;
          return (c.meanScale * (2 * pi1 * (1 - pi1) - 0.5 * p * (1 - p)) * F.pdf64(aj)) / (p * (1 - p));
        }),
      ),
    };
  },
};

for (const name of ['gumbel-st', 'gumbel-rao', 'reinmax'] as const) {
  for (const states of ['pm1', '01'] as const) {
    for (const noise of ['logistic', 'normal'] as const) {
      test(`${name} equals its formula computed in float64 (${states}, ${noise} noise)`, () => {
        const spec = denseModel(4, [5, 4], 3, states, 'nll', noise);
        const { values, X, Y } = randomProblem(spec, 7, 13, 1.2);
        const options = { tau: name === 'reinmax' ? 1 : 0.7, k: 3 };
        const net = networkFromValues(spec, values);
        const batch = { x: tf.tensor2d(X), y: tf.tensor1d(Y), groups: 1 };
        const est = createEstimator(name, options).estimate(net, batch, new Rng(8));
        const ref = reference(spec, values, X, Y, draws[name](states, noise, options), new Rng(8));
        est.layers.forEach((l, k) => {
          const got = [...l.weight.dataSync(), ...l.bias.dataSync()];
          const err = relativeError(got, ref.grads[k]);
          assert.ok(err < 1e-4, `layer ${k}: relative error ${err}`);
        });
        assert.ok(Math.abs(est.loss.dataSync()[0] - ref.loss) < 1e-5 * Math.max(1, ref.loss));
        disposeEstimate(est);
        tf.dispose([batch.x, batch.y]);
        disposeNetwork(net);
      });
    }
  }
}

test("gumbel-rao has ST Gumbel's mean gradient with less variance (conditional expectation given the sample)", () => {
  const spec = denseModel(3, [4, 3], 3, 'pm1', 'nll', 'logistic');
  const { values, X, Y } = randomProblem(spec, 6, 3);
  const net = networkFromValues(spec, values);
  const st = gradientDraws(net, { X, Y }, 'gumbel-st', { draws: 4000, seed: 1, estimatorOptions: { tau: 0.5 } });
  const rao = gradientDraws(net, { X, Y }, 'gumbel-rao', {
    draws: 4000,
    seed: 2,
    estimatorOptions: { tau: 0.5, k: 10 },
  });
  disposeNetwork(net);
  const variance = (s: typeof st) => s.layers[0].std.reduce((t, v) => t + v * v, 0);
  assert.ok(variance(rao) < 0.8 * variance(st), `first layer variance ${variance(rao)} vs ${variance(st)}`);
  // same expectation: the means agree within a few standard errors
  st.layers[0].mean.forEach((m, i) => {
    const se = Math.hypot(st.layers[0].std[i], rao.layers[0].std[i]) / Math.sqrt(4000);
    assert.ok(Math.abs(m - rao.layers[0].mean[i]) < 5 * se + 1e-6, `parameter ${i}: ${m} vs ${rao.layers[0].mean[i]}`);
  });
});

test("Gumbel-Rao's float32 F⁻¹ of the conditional noise is the float64 one to float32 precision, tails too", () => {
  const u = [1e-30, 1e-12, 1e-6, 0.001, 0.02, 0.02425, 0.1, 0.3, 0.5, 0.7, 0.9, 0.97575, 0.98, 0.999, 1 - 2 ** -24];
  for (const kind of ['logistic', 'normal'] as const) {
    const F = noiseOf(kind);
    const got = tf.tidy(() => F.inverseCdf(tf.tensor1d(u)).dataSync());
    u.forEach((ui, i) => {
      // what float32 input can resolve: the quantile's change across one float32 step of u
      const want = F.inverseCdf64(Math.fround(ui));
      assert.ok(Math.abs(got[i] - want) < 2e-6 * Math.max(1, Math.abs(want)), `${kind} u=${ui}: ${got[i]} vs ${want}`);
    });
  }
});
