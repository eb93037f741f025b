// Pieces shared by the estimators: affine maps, sampling, per-draw reductions and backprop through the
// deterministic output layer. Written with explicit transposes because tfjs-wasm's transposed matMul is
// 10–60× slower than transposing first (engine notes), and without tf.grad (spec §2.3.3 style).
import * as tf from '@tensorflow/tfjs';
import type { Network } from '../network';
import type { Rng } from '../rng';
import { lossAndGrad, type LossAndGrad } from '../loss';
import type { Batch, GradientEstimate, LayerGradient } from './types';

/** a = x Wᵀ + b for W [out, in]. `wT` is Wᵀ when the caller has it already. */
export function affine(x: tf.Tensor2D, layer: { weight: tf.Tensor2D; bias: tf.Tensor1D }, wT?: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.add(tf.matMul(x, wT ?? tf.transpose(layer.weight)), layer.bias) as tf.Tensor2D);
}

/** Transposed weights of every layer, computed once per estimate. */
export function transposedWeights(net: Network): tf.Tensor2D[] {
  return net.layers.map((l) => tf.transpose(l.weight) as tf.Tensor2D);
}

export function uniformTensor(rng: Rng, shape: number[]): tf.Tensor {
  return tf.tensor(rng.uniforms(shape.reduce((a, b) => a * b, 1)), shape, 'float32');
}

export function normalTensor(rng: Rng, shape: number[]): tf.Tensor {
  return tf.tensor(rng.normals(shape.reduce((a, b) => a * b, 1)), shape, 'float32');
}

/** Sample binary states x = on if u < F(a) else off (spec §2.0; `u < p`, never sign(p − u), §5 item 4). */
export function sampleStates(net: Network, p: tf.Tensor, u: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => net.coding.fromBits(tf.cast(tf.less(u, p), 'float32')) as tf.Tensor2D);
}

/** Probability π of the state actually sampled: F(a) where x is on, 1 − F(a) where off. */
export function sampledStateProbability(net: Network, p: tf.Tensor, x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const on = tf.equal(x, net.coding.on);
    return tf.where(on, p, tf.sub(1, p));
  });
}

/** Per-draw mean of outer products: e [G·N, out], x [G·N, in] → [G, out, in] = mean_n e_n x_nᵀ. */
export function groupOuter(e: tf.Tensor2D, x: tf.Tensor2D, groups: number): tf.Tensor3D {
  return tf.tidy(() => {
    const n = e.shape[0] / groups;
    const e3 = tf.reshape(e, [groups, n, e.shape[1]]);
    const x3 = tf.reshape(x, [groups, n, x.shape[1]]);
    return tf.div(tf.matMul(tf.transpose(e3, [0, 2, 1]), x3), n) as tf.Tensor3D;
  });
}

/** Per-draw mean over rows: [G·N, ...rest] → [G, ...rest]. */
export function groupMean<T extends tf.Tensor>(t: T, groups: number): tf.Tensor {
  return tf.tidy(() => {
    const n = t.shape[0] / groups;
    return tf.mean(tf.reshape(t, [groups, n, ...t.shape.slice(1)]), 1);
  });
}

/** Gradient of a layer from its pre-activation errors e = ∂f/∂a and its input x (as backprop). */
export function layerGradient(e: tf.Tensor2D, xIn: tf.Tensor2D, groups: number): LayerGradient {
  return { weight: groupOuter(e, xIn, groups), bias: groupMean(e, groups) as tf.Tensor2D };
}

/** Loss of the output layer on states x: logits, per-row loss and ∂ℓ/∂η. */
export function outputLoss(net: Network, xLast: tf.Tensor2D, batch: Batch, woT: tf.Tensor2D): LossAndGrad & { logits: tf.Tensor2D } {
  return tf.tidy(() => {
    const logits = affine(xLast, net.layers[net.layers.length - 1], woT);
    return { ...lossAndGrad(net.spec.output.loss, logits, batch.y), logits };
  });
}

/**
 * Run `k = from..L` hidden layers forward from states `x` with fresh samples, then the output loss.
 * Used for independent downstream samples (ARM). Returns the per-row loss [B].
 */
export function sampleDownstreamLoss(net: Network, x: tf.Tensor2D, from: number, batch: Batch, rng: Rng, wT: tf.Tensor2D[]): tf.Tensor1D {
  return tf.tidy(() => {
    const L = net.layers.length - 1;
    let h = x;
    for (let k = from; k < L; k++) {
      const a = affine(h, net.layers[k], wT[k]);
      h = sampleStates(net, net.noise.cdf(a), uniformTensor(rng, a.shape));
    }
    return outputLoss(net, h, batch, wT[L]).loss;
  });
}

/** Assemble an estimate from per-layer gradients and the per-row loss values. */
export function finishEstimate(rowLoss: tf.Tensor1D, layers: LayerGradient[], groups: number): GradientEstimate {
  return { loss: groupMean(rowLoss, groups) as tf.Tensor1D, layers };
}

/**
 * Standard backprop of hidden pre-activation errors given ∂f/∂x of the last hidden layer, with a
 * per-layer activation derivative (the surrogate of straight-through estimators or the true derivative of
 * a relaxation). `xs[k]` are the states feeding layer k (xs[0] is the input), `deriv[k]` is ∂x^{k+1}/∂a^{k+1}.
 */
export function backpropHidden(net: Network, gradXLast: tf.Tensor2D, xs: tf.Tensor2D[], deriv: tf.Tensor2D[], groups: number): LayerGradient[] {
  const L = net.layers.length - 1;
  const grads: LayerGradient[] = new Array(L);
  let g = gradXLast;
  for (let k = L - 1; k >= 0; k--) {
    const e = tf.mul(g, deriv[k]) as tf.Tensor2D;
    grads[k] = layerGradient(e, xs[k], groups);
    if (k > 0) g = tf.matMul(e, net.layers[k].weight);
  }
  return grads;
}
