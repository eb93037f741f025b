// PSA — Path Sample-Analytic estimator (spec §2.3). One sampled path; the backward pass is backprop with
// the activation derivative replaced by −x̂ F'(a) and the transposed weights replaced by the matrix of
// flip-probability changes Δ_ij = −x̂_j [F(a_j + W_ji δ_i) − F(a_j)] (δ_i = how input i changes when it
// flips; for conv layers the "ratio convolution"). The output layer is flip-averaged over all single flips
// of the last hidden layer (§2.3.2).
import * as tf from '@tensorflow/tfjs';
import type { Network } from '../network';
import type { Rng } from '../rng';
import { lossAndGrad } from '../loss';
import { finishEstimate, groupMean, outputLoss, prepareNetwork, sampledStateProbability, sampleStates, uniformTensor } from './common';
import type { Batch, Estimator, GradientEstimate, LayerGradient } from './types';

export interface PsaOptions {
  /**
   * Replace both finite differences of PSA by their linearisations (spec §2.4). The result must equal
   * DSTE in every hidden layer; this exists to test exactly that.
   */
  linearised?: boolean;
}

export function psaEstimate(net: Network, batch: Batch, rng: Rng, options: PsaOptions = {}): GradientEstimate {
  return tf.tidy(() => {
    const layers = prepareNetwork(net);
    const L = layers.hidden.length;
    const G = batch.groups;
    // Forward: sample one path, caching x^{k−1}, a^k, x^k (§2.3.3 step 1).
    const xs: tf.Tensor[] = [batch.x];
    const as: tf.Tensor[] = [];
    for (const layer of layers.hidden) {
      const a = layer.forward(xs[xs.length - 1]);
      as.push(a);
      xs.push(sampleStates(net, net.noise.cdf(a), uniformTensor(rng, a.shape)));
    }
    const out = layers.output;
    const xL = out.flatInput(xs[L]); // [B, n]
    const [rows, n] = xL.shape;
    const K = net.spec.output.units;

    // Last layer (§2.3.2): base loss f0 and the n single-flip losses f_i from rank-one logit updates.
    const base = outputLoss(net, layers, xs[L], batch);
    const shiftL = net.coding.flipShift(xL) as tf.Tensor2D; // δ_i
    const woT = tf.transpose(net.layers[L].weight) as tf.Tensor2D; // [n, K]
    let fFlip: tf.Tensor2D;
    let flippedGrad: tf.Tensor3D | undefined;
    if (options.linearised) {
      // f(x↓i) − f(x) ≈ δ_i ∂f/∂x_i
      fFlip = tf.add(tf.reshape(base.loss, [rows, 1]), tf.mul(shiftL, tf.matMul(base.dLogits, net.layers[L].weight as tf.Tensor2D)));
    } else {
      const flippedLogits = tf.add(tf.reshape(base.logits, [rows, 1, K]), tf.mul(tf.reshape(shiftL, [rows, n, 1]), woT));
      const yRep = tf.reshape(tf.tile(tf.reshape(batch.y, [rows, 1]), [1, n]), [-1]) as tf.Tensor1D;
      const flipped = lossAndGrad(net.spec.output.loss, tf.reshape(flippedLogits, [rows * n, K]) as tf.Tensor2D, yRep);
      fFlip = tf.reshape(flipped.loss, [rows, n]);
      flippedGrad = tf.reshape(flipped.dLogits, [rows, n, K]);
    }

    // π treated as a constant; ρ_i = (1 − π_i)/n (§5 item 6).
    const pL = out.flatInput(net.noise.cdf(as[L - 1]));
    const rho = tf.div(tf.sub(1, sampledStateProbability(net, pL, xL)), n) as tf.Tensor2D;
    const baseWeight = tf.sub(1, tf.sum(rho, 1));
    const rowLoss = tf.add(tf.mul(baseWeight, base.loss), tf.sum(tf.mul(rho, fFlip), 1)) as tf.Tensor1D;

    // Output parameters (§2.3.3 step 3): Σ over base and flipped states of weight · ∇ℓ ⊗ state.
    const grads: LayerGradient[] = new Array(L + 1);
    if (flippedGrad) {
      const c0 = tf.mul(tf.reshape(baseWeight, [rows, 1]), base.dLogits);
      const ci = tf.mul(tf.reshape(rho, [rows, n, 1]), flippedGrad); // [B, n, K]
      const cSum = tf.add(c0, tf.sum(ci, 1)) as tf.Tensor2D;
      // Σ_i c_i (x↓i)ᵀ = (Σ_i c_i) xᵀ + [c_i δ_i]_{:, i}
      const correction = groupMean(tf.transpose(tf.mul(ci, tf.reshape(shiftL, [rows, n, 1])), [0, 2, 1]), G);
      const plain = out.paramGradient(cSum, xs[L], G);
      grads[L] = { weight: tf.add(plain.weight, correction), bias: plain.bias };
    } else {
      grads[L] = out.paramGradient(base.dLogits, xs[L], G);
    }

    // Hidden layers (§2.3.3 steps 4–5): λ^L = f_i − f0, e = λ (−x̂) F'(a), λ^{k−1} = Δ λ.
    let lambda = out.unflatInput(tf.sub(fFlip, tf.reshape(base.loss, [rows, 1])));
    for (let k = L - 1; k >= 0; k--) {
      const negSign = tf.neg(net.coding.signOf(xs[k + 1]));
      const e = tf.mul(tf.mul(lambda, negSign), net.noise.pdf(as[k]));
      grads[k] = layers.hidden[k].paramGradient(e, xs[k], G);
      if (k === 0) break; // the input is never flipped: d⁰ = 0
      const shiftIn = net.coding.flipShift(xs[k]);
      lambda = options.linearised
        // F(a_j + W_ji δ_i) − F(a_j) ≈ W_ji δ_i F'(a_j)  ⇒  λ^{k−1}_i = δ_i Σ_j W_ji e_j
        ? tf.mul(shiftIn, layers.hidden[k].backwardInput(e))
        : layers.hidden[k].psaBackward(as[k], shiftIn, tf.mul(negSign, lambda), net.noise);
    }
    return finishEstimate(rowLoss, grads, G);
  });
}

export const psa: Estimator = {
  name: 'psa',
  deterministic: false,
  estimate: (net, batch, rng) => psaEstimate(net, batch, rng),
};
