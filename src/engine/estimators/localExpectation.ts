// Local expectation gradients (docs/math.md §2.15; Titsias & Lázaro-Gredilla 2015), applied to every hidden layer of
// the deep SBN. Along one sampled path, for each unit j of layer k, the sum over its two states is done exactly with
// the rest of the sample fixed:
//   ∂E/∂a_j ≈ F'(a_j) (f(x_j = on) − f(x_j = off)) = F'(a_j) x̂_j (f(x) − f(x↓j)),
// where f(·) is the loss with layers k+1..L sampled forward from the given state of layer k. All of a layer's flips
// and the unflipped state share one draw of those downstream uniforms (common random numbers: each f is still an
// unbiased estimate of the expected downstream loss, and their difference has less variance). The flips of a layer are
// batched, a chunk of units at a time: a layer of n units costs about n downstream passes.
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
 * Loss per row [R] of the network from hidden layer `from` on, fed states `h` of R = copies × B rows, with the
 * downstream layers' states on iff u < F(a) for the given per-layer uniforms [B, ...] (repeated for every copy).
 */
function downstreamLoss(
  net: Network,
  layers: PreparedNetwork,
  h: tf.Tensor,
  from: number,
  uniforms: tf.Tensor[],
  y: tf.Tensor1D,
  copies: number,
): tf.Tensor1D {
  let x = h;
  for (let m = from; m < layers.hidden.length; m++) {
    const a = layers.hidden[m].forward(x);
    const u = uniforms[m - from];
    const uRep = copies === 1 ? u : tf.tile(u, [copies, ...u.shape.slice(1).map(() => 1)]);
    x = net.coding.fromBits(tf.cast(tf.less(uRep, net.noise.cdf(a)), 'float32'));
  }
  const yRep = copies === 1 ? y : tf.tile(y, [copies]);
  return lossOnly(net.spec.output.loss, layers.output.forward(x) as tf.Tensor2D, yRep);
}

/** `chunkElements` bounds the memory of a chunk of flips (the tests make it small to check the chunking). */
export function localExpectationEstimate(
  net: Network,
  batch: Batch,
  rng: Rng,
  chunkElements = CHUNK_ELEMENTS,
): GradientEstimate {
  return pathLayerEstimate(net, batch, rng, ({ layers, xs, as, out }, k) => {
    const a = as[k];
    const x = xs[k + 1];
    const B = x.shape[0];
    const unitShape = x.shape.slice(1);
    const n = shapeSize(unitShape);
    const uniforms = xs.slice(k + 2).map((s) => uniformTensor(rng, s.shape));
    const f0 = k === layers.hidden.length - 1 ? out.loss : downstreamLoss(net, layers, x, k + 1, uniforms, batch.y, 1);
    const widest = Math.max(...xs.slice(k + 1).map((s) => shapeSize(s.shape.slice(1))), out.logits.shape[1]);
    const chunk = Math.max(1, Math.min(n, Math.floor(chunkElements / (B * widest))));
    const flat = tf.reshape(x, [1, B, n]);
    const shift = net.coding.flipShift(flat);
    const parts: tf.Tensor[] = [];
    for (let j0 = 0; j0 < n; j0 += chunk) {
      const c = Math.min(chunk, n - j0);
      parts.push(
        tf.tidy(() => {
          const which = tf.reshape(tf.oneHot(tf.range(j0, j0 + c, 1, 'int32'), n), [c, 1, n]);
          const flipped = tf.reshape(tf.add(flat, tf.mul(which, shift)), [c * B, ...unitShape]);
          const f = downstreamLoss(net, layers, flipped, k + 1, uniforms, batch.y, c);
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
