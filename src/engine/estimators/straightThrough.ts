// Straight-through estimators: forward with sampled binary states, backward as ordinary backprop through a
// surrogate activation derivative. The output layer sees the single sampled final state.
//  - DSTE (docs/math.md §2.4): the derivative of the expected state, 2F'(a) for ±1 and F'(a) for {0,1} — what PSA
//    becomes when both of its finite differences are linearised.
//  - Hard ST (docs/math.md §2.5): 1[|a| ≤ 1], the derivative of hardtanh, mismatched with the logistic noise
//    (halved for {0,1}, where the state is (hardtanh + 1)/2).
import * as tf from '@tensorflow/tfjs';
import type { Network } from '../model/network';
import type { Rng } from '../rng';
import { backpropThroughOutput, finishEstimate, outputLoss, prepareNetwork, sampleStates } from './common';
import type { Batch, Estimator, GradientEstimate } from './types';
import { nativeStepEstimate } from './denseStep';

/** ∂x/∂a as the backward pass uses it, given the pre-activation a and the sampled state x. */
export type Surrogate = (net: Network, a: tf.Tensor, x: tf.Tensor) => tf.Tensor;

/** One hidden layer's step given its pre-activation a: the sampled state and ∂x/∂a as the backward pass uses it. */
export type StraightThroughStep = (a: tf.Tensor) => { state: tf.Tensor; derivative: tf.Tensor };

/**
 * Forward through the hidden layers with `step`'s states, the output on the final state, backward as backprop with
 * `step`'s derivatives: the frame every straight-through estimator shares (this file's, Gumbel's, ReinMax).
 */
export function straightThroughBackprop(net: Network, batch: Batch, step: StraightThroughStep): GradientEstimate {
  return tf.tidy(() => {
    const layers = prepareNetwork(net);
    const xs: tf.Tensor[] = [batch.x];
    const deriv: tf.Tensor[] = [];
    for (const layer of layers.hidden) {
      const { state, derivative } = step(layer.forward(xs[xs.length - 1]));
      deriv.push(derivative);
      xs.push(state);
    }
    const out = outputLoss(net, layers, xs[xs.length - 1], batch);
    return finishEstimate(out.loss, backpropThroughOutput(layers, out.dLogits, xs, deriv, batch.groups), batch.groups);
  });
}

export function straightThroughEstimate(net: Network, batch: Batch, rng: Rng, surrogate: Surrogate): GradientEstimate {
  return straightThroughBackprop(net, batch, (a) => {
    const x = sampleStates(net, net.noise.cdf(a), rng);
    return { state: x, derivative: surrogate(net, a, x) };
  });
}

const expectedStateDerivative: Surrogate = (net, a) => tf.mul(net.noise.pdf(a), net.coding.meanScale);

const hardTanhDerivative: Surrogate = (net, a) =>
  tf.mul(tf.cast(tf.lessEqual(tf.abs(a), 1), 'float32'), net.coding.meanScale / 2);

export const dste: Estimator = {
  name: 'dste',
  deterministic: false,
  estimate: (net, batch, rng) => {
    // all-dense networks and networks with conv layers take a native step when the addon has it (denseStep.ts);
    // the tfjs path is the reference
    return (
      nativeStepEstimate('dste', net, batch, rng) ?? straightThroughEstimate(net, batch, rng, expectedStateDerivative)
    );
  },
};

export const hardSt: Estimator = {
  name: 'hard-st',
  deterministic: false,
  estimate: (net, batch, rng) => straightThroughEstimate(net, batch, rng, hardTanhDerivative),
};
