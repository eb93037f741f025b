// PSA — Path Sample-Analytic estimator (docs/math.md §2.3). One sampled path; the backward pass is backprop with
// the activation derivative replaced by −x̂ F'(a) and the transposed weights replaced by the matrix of
// flip-probability changes Δ_ij = −x̂_j [F(a_j + W_ji δ_i) − F(a_j)] (δ_i = how input i changes when it
// flips; for conv layers the "ratio convolution"). The output layer is flip-averaged over all single flips
// of the last hidden layer (docs/math.md §2.3.2). `psa` runs as one native call when the addon has it (denseStep.ts:
// all-dense networks and networks with conv layers); psaEstimate, here, is the reference it is tested against.
import * as tf from '@tensorflow/tfjs';
import type { Network } from '../model/network';
import type { Rng } from '../rng';
import { lossAndGrad, type LossAndGrad } from '../model/loss';
import { nativeKernels, type NativeKernels } from '../kernels';
import type { OutputLoss } from '../spec/types';
import { finishEstimate, groupMean, outputLoss, prepareNetwork, sampledStateProbability, samplePath } from './common';
import type { Batch, Estimator, GradientEstimate, LayerGradient } from './types';
import { nativeStepEstimate } from './denseStep';

export interface PsaOptions {
  /**
   * Replace both finite differences of PSA by their linearisations (docs/math.md §2.4). The result must equal
   * DSTE in every hidden layer; this exists to test exactly that.
   */
  linearised?: boolean;
}

export function psaEstimate(net: Network, batch: Batch, rng: Rng, options: PsaOptions = {}): GradientEstimate {
  return tf.tidy(() => {
    const layers = prepareNetwork(net);
    const L = layers.hidden.length;
    const G = batch.groups;
    // Forward: sample one path, caching x^{k−1}, a^k, x^k (docs/math.md §2.3.3 step 1).
    const { xs, as } = samplePath(net, layers, batch.x, rng);
    const out = layers.output;
    const xL = out.flatInput(xs[L]); // [B, n]
    const n = xL.shape[1];

    // Last layer (docs/math.md §2.3.2): base loss f0 and the n single-flip losses f_i from rank-one logit updates.
    const base = outputLoss(net, layers, xs[L], batch);
    const shiftL = net.coding.flipShift(xL) as tf.Tensor2D; // δ_i
    // π treated as a constant; ρ_i = (1 − π_i)/n (docs/math.md §5.6).
    const pL = out.flatInput(net.noise.cdf(as[L - 1]));
    const rho = tf.div<tf.Tensor2D>(tf.sub(1, sampledStateProbability(net, pL, xL)), n);
    const grads = new Array<LayerGradient>(L + 1);
    const native = options.linearised ? undefined : nativeKernels();
    const flips = native?.psaFlips
      ? lastLayerNative(
          native,
          net.spec.output.loss,
          base.logits,
          net.layers[L].weight as tf.Tensor2D,
          shiftL,
          batch.y,
          rho,
          G,
        )
      : lastLayerReference(
          net.spec.output.loss,
          base,
          net.layers[L].weight as tf.Tensor2D,
          shiftL,
          batch.y,
          rho,
          options.linearised === true,
        );
    const rowLoss = flips.rowLoss;
    // Output parameters (docs/math.md §2.3.3 step 3): Σ over base and flipped states of weight · ∇ℓ ⊗ state.
    if (flips.cSum && (flips.corr || flips.corrMean)) {
      const plain = out.paramGradient(flips.cSum, xs[L], G);
      // Σ_i c_i (x↓i)ᵀ = (Σ_i c_i) xᵀ + [c_i δ_i]_{:, i}
      grads[L] = { weight: tf.add(plain.weight, flips.corrMean ?? groupMean(flips.corr!, G)), bias: plain.bias };
    } else {
      grads[L] = out.paramGradient(base.dLogits, xs[L], G);
    }

    // Hidden layers (docs/math.md §2.3.3 steps 4–5): λ^L = f_i − f0, e = λ (−x̂) F'(a), λ^{k−1} = Δ λ.
    let lambda = out.unflatInput(flips.lambda);
    for (let k = L - 1; k >= 0; k--) {
      const negSign = tf.neg(net.coding.signOf(xs[k + 1]));
      const e = tf.mul(tf.mul(lambda, negSign), net.noise.pdf(as[k]));
      grads[k] = layers.hidden[k].paramGradient(e, xs[k], G);
      if (k === 0) break; // the input is never flipped: d⁰ = 0
      const shiftIn = net.coding.flipShift(xs[k]);
      lambda = options.linearised
        ? // F(a_j + W_ji δ_i) − F(a_j) ≈ W_ji δ_i F'(a_j)  ⇒  λ^{k−1}_i = δ_i Σ_j W_ji e_j
          tf.mul(shiftIn, layers.hidden[k].backwardInput(e))
        : layers.hidden[k].psaBackward(as[k], shiftIn, tf.mul(negSign, lambda), net.noise);
    }
    return finishEstimate(rowLoss, grads, G);
  });
}

/** The last layer's flip quantities; cSum and corr are absent for the linearised estimator (plain backprop there). */
export interface LastLayer {
  /** f_i − f0 [B, n] */
  lambda: tf.Tensor2D;
  /** (1 − Σ_i ρ_i) f0 + Σ_i ρ_i f_i [B] */
  rowLoss: tf.Tensor1D;
  /** (1 − Σ_i ρ_i) ∂ℓ(η₀) + Σ_i ρ_i ∂ℓ(η_i) [B, K] */
  cSum?: tf.Tensor2D;
  /** ρ_i δ_i ∂ℓ(η_i)_k [B, K, n] */
  corr?: tf.Tensor3D;
  /** corr's mean over each group of rows [G, K, n], where the native kernel reduced it (then corr is absent) */
  corrMean?: tf.Tensor3D;
}

/** The last layer in tfjs ops: the reference, and the fallback when the native kernels are missing. */
export function lastLayerReference(
  loss: OutputLoss,
  base: LossAndGrad & { logits: tf.Tensor2D },
  weight: tf.Tensor2D,
  shiftL: tf.Tensor2D,
  y: tf.Tensor1D,
  rho: tf.Tensor2D,
  linearised = false,
): LastLayer {
  const [rows, n] = shiftL.shape;
  const K = base.logits.shape[1];
  const baseWeight = tf.sub(1, tf.sum(rho, 1));
  if (linearised) {
    // f(x↓i) − f(x) ≈ δ_i ∂f/∂x_i
    const fFlip = tf.add(tf.reshape(base.loss, [rows, 1]), tf.mul(shiftL, tf.matMul(base.dLogits, weight)));
    return {
      lambda: tf.sub<tf.Tensor2D>(fFlip, tf.reshape(base.loss, [rows, 1])),
      rowLoss: tf.add<tf.Tensor1D>(tf.mul(baseWeight, base.loss), tf.sum(tf.mul(rho, fFlip), 1)),
    };
  }
  const woT = tf.transpose<tf.Tensor2D>(weight); // [n, K]
  const flippedLogits = tf.add(tf.reshape(base.logits, [rows, 1, K]), tf.mul(tf.reshape(shiftL, [rows, n, 1]), woT));
  const yRep = tf.reshape<tf.Rank.R1>(tf.tile(tf.reshape(y, [rows, 1]), [1, n]), [-1]);
  const flipped = lossAndGrad(loss, tf.reshape<tf.Rank.R2>(flippedLogits, [rows * n, K]), yRep);
  const fFlip = tf.reshape(flipped.loss, [rows, n]);
  const flippedGrad = tf.reshape(flipped.dLogits, [rows, n, K]);
  const rowLoss = tf.add<tf.Tensor1D>(tf.mul(baseWeight, base.loss), tf.sum(tf.mul(rho, fFlip), 1));
  const c0 = tf.mul(tf.reshape(baseWeight, [rows, 1]), base.dLogits);
  const ci = tf.mul(tf.reshape(rho, [rows, n, 1]), flippedGrad); // [B, n, K]
  return {
    lambda: tf.sub<tf.Tensor2D>(fFlip, tf.reshape(base.loss, [rows, 1])),
    rowLoss,
    cSum: tf.add<tf.Tensor2D>(c0, tf.sum(ci, 1)),
    corr: tf.transpose(tf.mul(ci, tf.reshape(shiftL, [rows, n, 1])), [0, 2, 1]) as tf.Tensor3D,
  };
}

/**
 * The last layer by the native psaFlips kernel (f0 and ∂ℓ(η₀) recomputed there, in float64). With `groups`, the
 * kernel returns corr already averaged per group (corrMean): at batch 256 the per-row array is 5 MB a step.
 */
export function lastLayerNative(
  k: NativeKernels,
  loss: OutputLoss,
  logits: tf.Tensor2D,
  weight: tf.Tensor2D,
  shiftL: tf.Tensor2D,
  y: tf.Tensor1D,
  rho: tf.Tensor2D,
  groups?: number,
): LastLayer {
  const [rows, n] = shiftL.shape;
  const K = logits.shape[1];
  const r = k.psaFlips!(f32(logits), f32(weight), f32(shiftL), f32(y), f32(rho), rows, n, K, loss, groups);
  const common = {
    lambda: tf.tensor2d(r.lambda, [rows, n]),
    rowLoss: tf.tensor1d(r.rowLoss),
    cSum: tf.tensor2d(r.cSum, [rows, K]),
  };
  return groups !== undefined && r.corr.length === groups * K * n
    ? { ...common, corrMean: tf.tensor3d(r.corr, [groups, K, n]) }
    : { ...common, corr: tf.tensor3d(r.corr, [rows, K, n]) };
}

function f32(t: tf.Tensor): Float32Array {
  if (t.dtype === 'float32') return t.dataSync() as Float32Array;
  return Float32Array.from(t.dataSync());
}

export const psa: Estimator = {
  name: 'psa',
  deterministic: false,
  estimate: (net, batch, rng) => {
    // all-dense networks and networks with conv layers take a native step when the addon has it (denseStep.ts);
    // the tfjs path is the reference
    return nativeStepEstimate('psa', net, batch, rng) ?? psaEstimate(net, batch, rng);
  },
};
