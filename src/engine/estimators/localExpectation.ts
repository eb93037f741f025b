// Local expectation gradients (docs/math.md §2.15; Titsias & Lázaro-Gredilla 2015), applied to every hidden layer of
// the deep SBN. Along one sampled path, for each unit j of layer k, the sum over its two states is done exactly with
// the rest of the sample fixed:
//   ∂E/∂a_j ≈ F'(a_j) (f(x_j = on) − f(x_j = off)) = F'(a_j) x̂_j (f(x) − f(x↓j)),
// where f(·) is the loss with layers k+1..L sampled forward from the given state of layer k. All of a layer's flips
// and the unflipped state share one draw of those downstream uniforms (common random numbers: each f is still an
// unbiased estimate of the expected downstream loss, and their difference has less variance). The flips of a layer are
// batched, a chunk of units at a time: a layer of n units costs about n downstream passes, less the next layer's
// affine map, which a flip only shifts by the unit's own column (conv: kernel footprint), computed once per unit.
import * as tf from '@tensorflow/tfjs';
import type { Network } from '../model/network';
import type { Rng } from '../rng';
import { shapeSize } from '../spec/geometry';
import { pathLayerEstimate, uniformTensor, type PreparedNetwork } from './common';
import { lossOnly } from '../model/loss';
import type { Batch, Estimator, GradientEstimate } from './types';

/** Bound on the rows × (widest downstream layer) elements one chunk of flips holds at once. */
const CHUNK_ELEMENTS = 1 << 22;

/**
 * Loss per row [R] of the network fed pre-activations `a` of R = copies × B rows of affine layer `from` (a hidden
 * layer, or the output layer when `from` is the number of hidden layers): each hidden layer's states are on iff
 * u < F(a) for the given per-layer uniforms [B, ...] (repeated for every copy), then the next layer's affine map.
 */
function lossFrom(
  net: Network,
  layers: PreparedNetwork,
  a: tf.Tensor,
  from: number,
  uniforms: tf.Tensor[],
  y: tf.Tensor1D,
  copies: number,
): tf.Tensor1D {
  let pre = a;
  for (let m = from; m < layers.hidden.length; m++) {
    const u = uniforms[m - from];
    const uRep = copies === 1 ? u : tf.tile(u, [copies, ...u.shape.slice(1).map(() => 1)]);
    const x = net.coding.fromBits(tf.cast(tf.less(uRep, net.noise.cdf(pre)), 'float32'));
    pre = m + 1 < layers.hidden.length ? layers.hidden[m + 1].forward(x) : layers.output.forward(x);
  }
  const yRep = copies === 1 ? y : tf.tile(y, [copies]);
  return lossOnly(net.spec.output.loss, pre as tf.Tensor2D, yRep);
}

/**
 * `chunkElements` bounds the memory of a chunk of flips (the tests make it small to check the chunking). A flip of
 * unit j changes the next layer's pre-activation by shift_j · (its affine map of the unit vector e_j, less the bias):
 * that map is computed once per unit for all rows (a batch of one-hot inputs, not of B rows each) and added to the
 * unflipped pre-activation, so only the layers after the next one run on all copies × B rows.
 */
export function localExpectationEstimate(
  net: Network,
  batch: Batch,
  rng: Rng,
  chunkElements = CHUNK_ELEMENTS,
): GradientEstimate {
  return pathLayerEstimate(net, batch, rng, ({ layers, xs, as, out }, k) => {
    const L = layers.hidden.length;
    const a = as[k];
    const x = xs[k + 1];
    const B = x.shape[0];
    const unitShape = x.shape.slice(1);
    const n = shapeSize(unitShape);
    const uniforms = xs.slice(k + 2).map((s) => uniformTensor(rng, s.shape));
    const next = k + 1 < L ? layers.hidden[k + 1] : layers.output;
    const aNext = k + 1 < L ? as[k + 1] : out.logits;
    const f0 = k === L - 1 ? out.loss : lossFrom(net, layers, aNext, k + 1, uniforms, batch.y, 1);
    const widest = Math.max(...xs.slice(k + 1).map((s) => shapeSize(s.shape.slice(1))), out.logits.shape[1]);
    const chunk = Math.max(1, Math.min(n, Math.floor(chunkElements / (B * widest))));
    const shift = tf.reshape(net.coding.flipShift(x), [B, n]);
    const bias = next.forward(tf.zeros([1, ...unitShape]));
    const nextShape = aNext.shape.slice(1);
    const parts: tf.Tensor[] = [];
    for (let j0 = 0; j0 < n; j0 += chunk) {
      const c = Math.min(chunk, n - j0);
      parts.push(
        tf.tidy(() => {
          const units = tf.reshape(tf.cast(tf.oneHot(tf.range(j0, j0 + c, 1, 'int32'), n), 'float32'), [
            c,
            ...unitShape,
          ]);
          const delta = tf.reshape(tf.sub(next.forward(units), bias), [c, 1, ...nextShape]);
          const shiftC = tf.reshape(tf.transpose(tf.slice(shift, [0, j0], [B, c])), [c, B, ...nextShape.map(() => 1)]);
          const flipped = tf.reshape(tf.add(tf.expandDims(aNext, 0), tf.mul(shiftC, delta)), [c * B, ...nextShape]);
          const f = lossFrom(net, layers, flipped, k + 1, uniforms, batch.y, c);
          return tf.transpose(tf.reshape(f, [c, B])); // [B, c]
        }),
      );
    }
    const fFlip = parts.length === 1 ? parts[0] : tf.concat(parts, 1);
    const diff = tf.reshape(tf.sub(tf.reshape(f0, [B, 1]), fFlip), x.shape);
    return tf.mul(tf.mul(net.noise.pdf(a), net.coding.signOf(x)), diff);
  });
}
export const localExpectation: Estimator = {
  name: 'local-expectation',
  deterministic: false,
  estimate: (net, batch, rng) => localExpectationEstimate(net, batch, rng),
};
