// Unbiased score-function estimators.
//  - REINFORCE (spec §2.6): ℓ · Σ_k ∇ log p(x^k | x^{k−1}) + ∇_out ℓ, with an optional control variate:
//    `none` (the paper's setting), `mean` (a running mean of past losses, so it never depends on the current
//    draw) or `loo` (for each data point, the mean loss of the other draws in the same batch — VIMCO-style).
//  - ARM (spec §2.7): per layer, antithetic pair b¹ = 1[u > 1 − F(a)], b² = 1[u < F(a)], each continued
//    with its own independent downstream sample; ∂/∂a = (f¹ − f²)(u − ½), chained like backprop.
import * as tf from '@tensorflow/tfjs';
import type { Network } from '../network';
import type { Rng } from '../rng';
import {
  affine, finishEstimate, layerGradient, outputLoss, sampledStateProbability, sampleDownstreamLoss, sampleStates,
  transposedWeights, uniformTensor,
} from './common';
import type { Batch, Estimator, EstimatorOptions, GradientEstimate, LayerGradient, ReinforceBaseline } from './types';

/** ∂ log p(x | a) / ∂a for the sampled state x: x̂ F'(a) / π (logistic: x̃ − σ(a), computed without a ratio). */
function score(net: Network, a: tf.Tensor2D, x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const p = net.noise.cdf(a);
    if (net.noise.kind === 'logistic') return tf.sub(tf.cast(tf.equal(x, net.coding.on), 'float32'), p) as tf.Tensor2D;
    const pi = tf.maximum(sampledStateProbability(net, p, x), 1e-30);
    return tf.div(tf.mul(net.coding.signOf(x), net.noise.pdf(a)), pi) as tf.Tensor2D;
  });
}

export class Reinforce implements Estimator {
  readonly name = 'reinforce' as const;
  readonly deterministic = false;
  private runningMean: number | undefined;

  constructor(private readonly baseline: ReinforceBaseline = 'none', private readonly decay = 0.9) {}

  estimate(net: Network, batch: Batch, rng: Rng): GradientEstimate {
    if (this.baseline === 'loo' && batch.groups < 2) {
      throw new RangeError('reinforce: the leave-one-out baseline needs at least 2 draws per data point');
    }
    const result = tf.tidy(() => {
      const L = net.layers.length - 1;
      const G = batch.groups;
      const wT = transposedWeights(net);
      const xs: tf.Tensor2D[] = [batch.x];
      const scores: tf.Tensor2D[] = [];
      for (let k = 0; k < L; k++) {
        const a = affine(xs[k], net.layers[k], wT[k]);
        const x = sampleStates(net, net.noise.cdf(a), uniformTensor(rng, a.shape));
        scores.push(score(net, a, x));
        xs.push(x);
      }
      const out = outputLoss(net, xs[L], batch, wT[L]);
      const centred = tf.reshape(tf.sub(out.loss, this.baselineFor(out.loss, G)), [-1, 1]);
      const grads: LayerGradient[] = scores.map((s, k) => layerGradient(tf.mul(centred, s) as tf.Tensor2D, xs[k], G));
      grads.push(layerGradient(out.dLogits, xs[L], G));
      return { estimate: finishEstimate(out.loss, grads, G), meanLoss: tf.mean(out.loss) };
    });
    if (this.baseline === 'mean') {
      const m = result.meanLoss.dataSync()[0];
      this.runningMean = this.runningMean === undefined ? m : this.decay * this.runningMean + (1 - this.decay) * m;
    }
    result.meanLoss.dispose();
    return result.estimate;
  }

  private baselineFor(loss: tf.Tensor1D, groups: number): tf.Tensor | number {
    switch (this.baseline) {
      case 'none': return 0;
      case 'mean': return this.runningMean ?? 0;
      case 'loo': {
        const n = loss.shape[0] / groups;
        const f = tf.reshape(loss, [groups, n]);
        return tf.reshape(tf.div(tf.sub(tf.sum(f, 0, true), f), groups - 1), [-1]);
      }
    }
  }
}

export function armEstimate(net: Network, batch: Batch, rng: Rng): GradientEstimate {
  return tf.tidy(() => {
    const L = net.layers.length - 1;
    const G = batch.groups;
    const wT = transposedWeights(net);
    const grads: LayerGradient[] = [];
    let h = batch.x;
    for (let k = 0; k < L; k++) {
      const a = affine(h, net.layers[k], wT[k]);
      const p = net.noise.cdf(a);
      const u = uniformTensor(rng, a.shape);
      const x1 = net.coding.fromBits(tf.cast(tf.greater(u, tf.sub(1, p)), 'float32')) as tf.Tensor2D;
      const x2 = net.coding.fromBits(tf.cast(tf.less(u, p), 'float32')) as tf.Tensor2D;
      const f1 = sampleDownstreamLoss(net, x1, k + 1, batch, rng, wT);
      const f2 = sampleDownstreamLoss(net, x2, k + 1, batch, rng, wT);
      // ARM is a gradient in the logit of p; dlogit(p)/da = F'(a)/(p(1−p)), which is 1 for logistic noise.
      let e = tf.mul(tf.reshape(tf.sub(f1, f2), [-1, 1]), tf.sub(u, 0.5));
      if (net.noise.kind !== 'logistic') {
        e = tf.mul(e, tf.div(net.noise.pdf(a), tf.maximum(tf.mul(p, tf.sub(1, p)), 1e-30)));
      }
      grads.push(layerGradient(e as tf.Tensor2D, h, G));
      h = x1; // b¹ is itself a valid sample of the layer: the main path continues with it
    }
    const out = outputLoss(net, h, batch, wT[L]);
    grads.push(layerGradient(out.dLogits, h, G));
    return finishEstimate(out.loss, grads, G);
  });
}

export const arm: Estimator = { name: 'arm', deterministic: false, estimate: armEstimate };

export function reinforce(options: EstimatorOptions = {}): Estimator {
  return new Reinforce(options.baseline ?? 'none', options.baselineDecay ?? 0.9);
}
