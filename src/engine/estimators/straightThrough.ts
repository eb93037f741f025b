// Straight-through estimators: forward with sampled binary states, backward as ordinary backprop through a
// surrogate activation derivative. The output layer sees the single sampled final state.
//  - DSTE (spec §2.4): the derivative of the expected state, 2F'(a) for ±1 and F'(a) for {0,1} — what PSA
//    becomes when both of its finite differences are linearised.
//  - Hard ST (spec §2.5): 1[|a| ≤ 1], the derivative of hardtanh, mismatched with the logistic noise
//    (halved for {0,1}, where the state is (hardtanh + 1)/2).
import * as tf from '@tensorflow/tfjs';
import type { Network } from '../network';
import type { Rng } from '../rng';
import {
  affine, backpropHidden, finishEstimate, layerGradient, outputLoss, sampleStates, transposedWeights, uniformTensor,
} from './common';
import type { Batch, Estimator, GradientEstimate } from './types';

type Surrogate = (net: Network, a: tf.Tensor2D) => tf.Tensor2D;

export function straightThroughEstimate(net: Network, batch: Batch, rng: Rng, surrogate: Surrogate): GradientEstimate {
  return tf.tidy(() => {
    const L = net.layers.length - 1;
    const wT = transposedWeights(net);
    const xs: tf.Tensor2D[] = [batch.x];
    const deriv: tf.Tensor2D[] = [];
    for (let k = 0; k < L; k++) {
      const a = affine(xs[k], net.layers[k], wT[k]);
      deriv.push(surrogate(net, a));
      xs.push(sampleStates(net, net.noise.cdf(a), uniformTensor(rng, a.shape)));
    }
    const out = outputLoss(net, xs[L], batch, wT[L]);
    const gradX = tf.matMul(out.dLogits, net.layers[L].weight) as tf.Tensor2D;
    const grads = [...backpropHidden(net, gradX, xs, deriv, batch.groups), layerGradient(out.dLogits, xs[L], batch.groups)];
    return finishEstimate(out.loss, grads, batch.groups);
  });
}

const expectedStateDerivative: Surrogate = (net, a) =>
  tf.tidy(() => tf.mul(net.noise.pdf(a), net.coding.meanScale) as tf.Tensor2D);

const hardTanhDerivative: Surrogate = (net, a) =>
  tf.tidy(() => tf.mul(tf.cast(tf.lessEqual(tf.abs(a), 1), 'float32'), net.coding.meanScale / 2) as tf.Tensor2D);

export const dste: Estimator = {
  name: 'dste',
  deterministic: false,
  estimate: (net, batch, rng) => straightThroughEstimate(net, batch, rng, expectedStateDerivative),
};

export const hardSt: Estimator = {
  name: 'hard-st',
  deterministic: false,
  estimate: (net, batch, rng) => straightThroughEstimate(net, batch, rng, hardTanhDerivative),
};
