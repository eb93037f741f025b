// Straight-through estimators built on the Gumbel-sigmoid (binary Concrete) relaxation of docs/math.md §2.8: the
// forward pass uses the hard sampled state, the backward pass the relaxed state's derivative.
//  - ST Gumbel-softmax (docs/math.md §2.17; Jang, Gu & Poole 2017): x = on iff z < a for one noise draw z = F⁻¹(u);
//    ∂x/∂a := c s(1 − s)/τ with s = σ((a − z)/τ), the derivative of the relaxed state computed from the same z.
//  - Gumbel-Rao (docs/math.md §2.18; Paulus, Maddison & Krause 2021): the same derivative averaged over K draws of
//    z from its distribution conditioned on the sampled state (z < a if on, z > a if off) — a Rao-Blackwellisation
//    of ST Gumbel's backward pass: same expectation, less variance.
import * as tf from '@tensorflow/tfjs';
import type { Network } from '../model/network';
import type { Rng } from '../rng';
import { noiseTensor, sampleStates, uniformTensor } from './common';
import { straightThroughBackprop } from './straightThrough';
import type { Batch, Estimator, GradientEstimate } from './types';
import { DEFAULT_GUMBEL_RAO_K } from '../spec/model';

/** The relaxed state's derivative c s(1 − s)/τ, s = σ((a − z)/τ). */
function relaxedDerivative(net: Network, a: tf.Tensor, z: tf.Tensor, tau: number): tf.Tensor {
  return tf.tidy(() => {
    const s = tf.sigmoid(tf.div(tf.sub(a, z), tau));
    return tf.mul(tf.mul(s, tf.sub(1, s)), net.coding.meanScale / tau);
  });
}

function checkTau(name: string, tau: number): void {
  if (!(tau > 0)) throw new RangeError(`${name}: tau must be > 0, got ${tau}`);
}

export function gumbelStEstimate(net: Network, batch: Batch, rng: Rng, tau: number): GradientEstimate {
  checkTau('gumbel-st', tau);
  return straightThroughBackprop(net, batch, (a) => {
    const z = noiseTensor(a.shape, (n) => {
      const u = rng.uniforms(n);
      for (let i = 0; i < n; i++) u[i] = net.noise.inverseCdf64(u[i]);
      return u;
    });
    return {
      state: net.coding.fromBits(tf.cast(tf.greater(a, z), 'float32')),
      derivative: relaxedDerivative(net, a, z, tau),
    };
  });
}

/** Uniforms are clipped into the float32 open interval (0, 1) before F⁻¹. */
const TINY = 1e-30;
const BELOW_ONE = 1 - 2 ** -24;

/**
 * K noise values per unit from z's distribution given the sampled state, as float32 tensor ops: with v uniform,
 * z = F⁻¹(v F(a)) below a for an on unit, z = −F⁻¹(v F(−a)) above a for an off unit (symmetric noise; F(−a) rather
 * than 1 − F(a), so no cancellation in either tail). The K uniform tensors are drawn one after another in the
 * channel-major order of every noise tensor. Returns [K, ...a.shape].
 */
function conditionalNoise(net: Network, a: tf.Tensor, x: tf.Tensor, k: number, rng: Rng): tf.Tensor {
  return tf.tidy(() => {
    const v = Array.from({ length: k }, () => uniformTensor(rng, a.shape));
    const on = tf.equal(x, net.coding.on);
    const below = net.noise.cdf(tf.where(on, a, tf.neg(a)));
    const w = tf.clipByValue(tf.mul(tf.stack(v), below), TINY, BELOW_ONE);
    const t = net.noise.inverseCdf(w);
    return tf.where(tf.broadcastTo(on, t.shape), t, tf.neg(t));
  });
}

export function gumbelRaoEstimate(net: Network, batch: Batch, rng: Rng, tau: number, k: number): GradientEstimate {
  checkTau('gumbel-rao', tau);
  if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`gumbel-rao: k must be a whole number ≥ 1, got ${k}`);
  return straightThroughBackprop(net, batch, (a) => {
    const x = sampleStates(net, net.noise.cdf(a), rng);
    const z = conditionalNoise(net, a, x, k, rng);
    return { state: x, derivative: tf.mean(relaxedDerivative(net, tf.expandDims(a, 0), z, tau), 0) };
  });
}

export function gumbelSt(tau = 1): Estimator {
  return {
    name: 'gumbel-st',
    deterministic: false,
    estimate: (net, batch, rng) => gumbelStEstimate(net, batch, rng, tau),
  };
}

export function gumbelRao(tau = 1, k = DEFAULT_GUMBEL_RAO_K): Estimator {
  return {
    name: 'gumbel-rao',
    deterministic: false,
    estimate: (net, batch, rng) => gumbelRaoEstimate(net, batch, rng, tau, k),
  };
}
