// ReinMax (docs/math.md §2.19; Liu, Liu, Gao, Gao & Zhao 2023): straight-through with a second-order (Heun) correction.
// For a categorical variable with probabilities π₀ = softmax(θ) and sampled one-hot D, ReinMax backpropagates through
// 2·softmax'(π₁) − ½·softmax'(π₀) with π₁ = (D + π₀)/2. For a binary unit (two categories, θ the logit of p = F(a))
// that derivative of the state's indicator with respect to θ is 2π₁(1 − π₁) − ½p(1 − p) with π₁ = (b + p)/2, b the
// sampled bit, which equals (1 − π)/2 with π the probability of the sampled state; times dθ/da = F'(a)/(p(1 − p)) and
// the coding factor c:  ∂x/∂a := c F'(a) / (2π).
import * as tf from '@tensorflow/tfjs';
import type { Network } from '../model/network';
import { straightThroughEstimate } from './straightThrough';
import type { Estimator } from './types';

/** c F'(a)/(2π), π = F(x̂ a) the sampled state's probability (no cancellation for either state, symmetric noise). */
function reinmaxDerivative(net: Network, a: tf.Tensor, x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const pi = net.noise.cdf(tf.mul(net.coding.signOf(x), a));
    return tf.div(tf.mul(net.noise.pdf(a), net.coding.meanScale / 2), tf.maximum(pi, 1e-30));
  });
}

export const reinmax: Estimator = {
  name: 'reinmax',
  deterministic: false,
  estimate: (net, batch, rng) => straightThroughEstimate(net, batch, rng, reinmaxDerivative),
};
