// PSA — Path Sample-Analytic estimator (spec §2.3). One sampled path; the backward pass is backprop with
// the activation derivative replaced by −x̂ F'(a) and the transposed weights replaced by the matrix of
// flip-probability changes Δ_ij = −x̂_j [F(a_j + W_ji δ_i) − F(a_j)] (δ_i = how input i changes when it
// flips). The output layer is flip-averaged over all single flips of the last hidden layer (§2.3.2).
import * as tf from '@tensorflow/tfjs';
import type { Network } from '../network';
import type { Rng } from '../rng';
import { lossAndGrad } from '../loss';
import {
  affine, finishEstimate, groupMean, groupOuter, layerGradient, outputLoss, sampledStateProbability,
  sampleStates, transposedWeights, uniformTensor,
} from './common';
import type { Batch, Estimator, GradientEstimate, LayerGradient } from './types';

/** Bound on the elements of the [rows, n_in, n_out] shifted-activation block materialised at once. */
const MAX_BLOCK_ELEMENTS = 1 << 24;

export interface PsaOptions {
  /**
   * Replace both finite differences of PSA by their linearisations (spec §2.4). The result must equal
   * DSTE in every hidden layer; this exists to test exactly that.
   */
  linearised?: boolean;
}

/**
 * λ^{k−1}_i = Σ_j Δ_ij λ^k_j for one dense layer, written as Σ_j [F(a_j + W_ji δ_i) − F(a_j)] g_j with
 * g_j = −x̂_j λ_j. The difference is taken per element before the reduction, which keeps float32 error
 * at the size of one F value rather than of a whole row sum (spec §5 item 3). Rows are processed in
 * blocks so the [rows, n_in, n_out] tensor stays bounded.
 */
export function psaDeltaProduct(net: Network, a: tf.Tensor2D, wT: tf.Tensor2D, shiftIn: tf.Tensor2D, g: tf.Tensor2D): tf.Tensor2D {
  const [rows, nOut] = a.shape;
  const nIn = wT.shape[0];
  const block = Math.max(1, Math.floor(MAX_BLOCK_ELEMENTS / (nIn * nOut)));
  const parts: tf.Tensor2D[] = [];
  for (let start = 0; start < rows; start += block) {
    const size = Math.min(block, rows - start);
    parts.push(tf.tidy(() => {
      const aB = tf.slice(a, [start, 0], [size, nOut]);
      const dB = tf.slice(shiftIn, [start, 0], [size, nIn]);
      const gB = tf.slice(g, [start, 0], [size, nOut]);
      // shifted[b, i, j] = a[b, j] + W_ji δ[b, i]
      const shifted = tf.add(tf.reshape(aB, [size, 1, nOut]), tf.mul(tf.reshape(dB, [size, nIn, 1]), wT));
      const diff = tf.sub(net.noise.cdf(shifted), tf.reshape(net.noise.cdf(aB), [size, 1, nOut]));
      return tf.reshape(tf.matMul(diff, tf.reshape(gB, [size, nOut, 1])), [size, nIn]) as tf.Tensor2D;
    }));
  }
  if (parts.length === 1) return parts[0];
  const out = tf.concat(parts, 0) as tf.Tensor2D;
  parts.forEach((p) => p.dispose());
  return out;
}

export function psaEstimate(net: Network, batch: Batch, rng: Rng, options: PsaOptions = {}): GradientEstimate {
  return tf.tidy(() => {
    const L = net.layers.length - 1;
    const G = batch.groups;
    const wT = transposedWeights(net);
    // Forward: sample one path, caching x^{k−1}, a^k, x^k (§2.3.3 step 1).
    const xs: tf.Tensor2D[] = [batch.x];
    const as: tf.Tensor2D[] = [];
    for (let k = 0; k < L; k++) {
      const a = affine(xs[k], net.layers[k], wT[k]);
      as.push(a);
      xs.push(sampleStates(net, net.noise.cdf(a), uniformTensor(rng, a.shape)));
    }
    const xL = xs[L];
    const n = xL.shape[1];
    const rows = xL.shape[0];
    const K = net.spec.output.units;
    const wo = net.layers[L].weight;

    // Last layer (§2.3.2): base loss f0 and the n single-flip losses f_i from rank-one logit updates.
    const base = outputLoss(net, xL, batch, wT[L]);
    const shiftL = net.coding.flipShift(xL) as tf.Tensor2D; // δ_i
    const flippedLogits = tf.add(tf.reshape(base.logits, [rows, 1, K]), tf.mul(tf.reshape(shiftL, [rows, n, 1]), wT[L]));
    const flatFlipped = tf.reshape(flippedLogits, [rows * n, K]) as tf.Tensor2D;
    const yRep = tf.reshape(tf.tile(tf.reshape(batch.y, [rows, 1]), [1, n]), [-1]) as tf.Tensor1D;
    const flipped = options.linearised ? null : lossAndGrad(net.spec.output.loss, flatFlipped, yRep);
    const fFlip = flipped
      ? tf.reshape(flipped.loss, [rows, n])
      // linearised: f(x↓i) − f(x) ≈ δ_i ∂f/∂x_i
      : tf.add(tf.reshape(base.loss, [rows, 1]), tf.mul(shiftL, tf.matMul(base.dLogits, wo)));

    // π treated as a constant; ρ_i = (1 − π_i)/n (§5 item 6).
    const pL = net.noise.cdf(as[L - 1]);
    const rho = tf.div(tf.sub(1, sampledStateProbability(net, pL, xL)), n) as tf.Tensor2D;
    const rhoSum = tf.sum(rho, 1);
    const baseWeight = tf.sub(1, rhoSum);
    const rowLoss = tf.add(tf.mul(baseWeight, base.loss), tf.sum(tf.mul(rho, fFlip), 1)) as tf.Tensor1D;

    // Output parameters (§2.3.3 step 3): Σ over base and flipped states of weight · ∇ℓ ⊗ state.
    let outputGrad: LayerGradient;
    if (flipped) {
      const c0 = tf.mul(tf.reshape(baseWeight, [rows, 1]), base.dLogits) as tf.Tensor2D;
      const ci = tf.mul(tf.reshape(rho, [rows, n, 1]), tf.reshape(flipped.dLogits, [rows, n, K])); // [B, n, K]
      const cSum = tf.add(c0, tf.sum(ci, 1)) as tf.Tensor2D;
      // Σ_i c_i (x↓i)ᵀ = (Σ_i c_i) xᵀ + [c_i δ_i]_{:, i}
      const correction = groupMean(tf.transpose(tf.mul(ci, tf.reshape(shiftL, [rows, n, 1])), [0, 2, 1]), G) as tf.Tensor3D;
      outputGrad = { weight: tf.add(groupOuter(cSum, xL, G), correction) as tf.Tensor3D, bias: groupMean(cSum, G) as tf.Tensor2D };
    } else {
      outputGrad = layerGradient(base.dLogits, xL, G);
    }

    // Hidden layers (§2.3.3 steps 4–5): λ^L = f_i − f0, e = λ (−x̂) F'(a), λ^{k−1} = Δ λ.
    const grads: LayerGradient[] = new Array(L + 1);
    grads[L] = outputGrad;
    let lambda = tf.sub(fFlip, tf.reshape(base.loss, [rows, 1])) as tf.Tensor2D;
    for (let k = L - 1; k >= 0; k--) {
      const xHat = net.coding.signOf(xs[k + 1]);
      const e = tf.mul(tf.mul(lambda, tf.neg(xHat)), net.noise.pdf(as[k])) as tf.Tensor2D;
      grads[k] = layerGradient(e, xs[k], G);
      if (k === 0) break; // the input is never flipped: d⁰ = 0
      const shiftIn = net.coding.flipShift(xs[k]) as tf.Tensor2D;
      if (options.linearised) {
        // F(a_j + W_ji δ_i) − F(a_j) ≈ W_ji δ_i F'(a_j)  ⇒  λ^{k−1}_i = δ_i Σ_j W_ji e_j
        lambda = tf.mul(shiftIn, tf.matMul(e, net.layers[k].weight)) as tf.Tensor2D;
      } else {
        const g = tf.mul(tf.neg(xHat), lambda) as tf.Tensor2D;
        lambda = psaDeltaProduct(net, as[k], wT[k], shiftIn, g);
      }
    }
    return finishEstimate(rowLoss, grads, G);
  });
}

export const psa: Estimator = {
  name: 'psa',
  deterministic: false,
  estimate: (net, batch, rng) => psaEstimate(net, batch, rng),
};
