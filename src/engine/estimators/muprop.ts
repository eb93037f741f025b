// MuProp (docs/math.md §2.14; Gu, Levine, Sutskever & Mnih 2016): REINFORCE with the first-order Taylor expansion of
// the loss around the mean field as control variate, and that expansion's expectation added back analytically. Per
// hidden layer k along one sampled path: μ̄ = E[x^k | a^k] (given the sampled x^{k−1}), f̄ and ∇f̄ the loss of the
// deterministic mean-field network from layer k on and its gradient at μ̄; then
//   e^k = (ℓ − f̄ − ∇f̄·(x^k − μ̄)) s^k + ∇f̄ ∘ c F'(a^k)
// with s^k REINFORCE's unit score and c = dE[x]/dF. Unbiased: the control variate's score term has expectation
// ∇f̄·∂μ/∂a, which the last term restores.
import * as tf from '@tensorflow/tfjs';
import type { Network } from '../model/network';
import type { Rng } from '../rng';
import { outputLoss, pathLayerEstimate, rowsLike, type PreparedNetwork } from './common';
import { score } from './scoreFunction';
import type { Batch, Estimator, GradientEstimate } from './types';

/** Per-row loss of the mean-field network from hidden layer `from` on, fed `mu`, and its gradient in mu. */
export function meanFieldDownstream(
  net: Network,
  layers: PreparedNetwork,
  mu: tf.Tensor,
  from: number,
  batch: Batch,
): { loss: tf.Tensor1D; gradient: tf.Tensor } {
  const inputs: tf.Tensor[] = [mu];
  const derivs: tf.Tensor[] = [];
  for (let k = from; k < layers.hidden.length; k++) {
    const a = layers.hidden[k].forward(inputs[inputs.length - 1]);
    inputs.push(net.coding.meanOf(net.noise.cdf(a)));
    derivs.push(tf.mul(net.noise.pdf(a), net.coding.meanScale));
  }
  const out = outputLoss(net, layers, inputs[inputs.length - 1], batch);
  let g = layers.output.backwardInput(out.dLogits);
  for (let k = layers.hidden.length - 1; k >= from; k--)
    g = layers.hidden[k].backwardInput(tf.mul(g, derivs[k - from]));
  return { loss: out.loss, gradient: g };
}

/** Σ over every unit of a row: [B, ...] → [B]. */
function rowSum(t: tf.Tensor): tf.Tensor1D {
  return tf.sum(tf.reshape(t, [t.shape[0], -1]), 1);
}

export function mupropEstimate(net: Network, batch: Batch, rng: Rng): GradientEstimate {
  return pathLayerEstimate(net, batch, rng, ({ layers, xs, as, out }, k) => {
    const a = as[k];
    const mu = net.coding.meanOf(net.noise.cdf(a));
    const taylor = meanFieldDownstream(net, layers, mu, k + 1, batch);
    const signal = tf.sub(tf.sub(out.loss, taylor.loss), rowSum(tf.mul(taylor.gradient, tf.sub(xs[k + 1], mu))));
    const analytic = tf.mul(taylor.gradient, tf.mul(net.noise.pdf(a), net.coding.meanScale));
    return tf.add(tf.mul(rowsLike(signal, a), score(net, a, xs[k + 1])), analytic);
  });
}

export const muprop: Estimator = { name: 'muprop', deterministic: false, estimate: mupropEstimate };
