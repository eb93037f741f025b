// Unbiased score-function estimators.
//  - REINFORCE (docs/math.md §2.6): ℓ · Σ_k ∇ log p(x^k | x^{k−1}) + ∇_out ℓ, with an optional control variate:
//    `none` (the paper's setting), `mean` (a running mean of past losses, so it never depends on the current
//    draw) or `loo` (for each data point, the mean loss of the other draws in the same batch — VIMCO-style).
//  - ARM (docs/math.md §2.7): per layer, antithetic pair b¹ = 1[u > 1 − F(a)], b² = 1[u < F(a)], each continued
//    with its own independent downstream sample; ∂/∂a = (f¹ − f²)(u − ½), chained like backprop.
import * as tf from '@tensorflow/tfjs';
import type { Network } from '../model/network';
import type { Rng } from '../rng';
import {
  finishEstimate,
  outputLoss,
  prepareNetwork,
  rowsLike,
  sampledStateProbability,
  sampleDownstreamLoss,
  sampleStates,
  uniformTensor,
} from './common';
import type {
  Batch,
  Estimator,
  EstimatorOptions,
  EstimatorState,
  GradientEstimate,
  LayerGradient,
  ReinforceBaseline,
} from './types';
import { InputBaseline, inputRows } from './inputBaseline';

/** ∂ log p(x | a) / ∂a for the sampled state x: x̂ F'(a) / π (logistic: x̃ − σ(a), computed without a ratio). */
export function score(net: Network, a: tf.Tensor, x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const p = net.noise.cdf(a);
    if (net.noise.kind === 'logistic') return tf.sub(tf.cast(tf.equal(x, net.coding.on), 'float32'), p);
    const pi = tf.maximum(sampledStateProbability(net, p, x), 1e-30);
    return tf.div(tf.mul(net.coding.signOf(x), net.noise.pdf(a)), pi);
  });
}

export class Reinforce implements Estimator {
  readonly name = 'reinforce' as const;
  readonly deterministic = false;
  private runningMean: number | undefined;
  private readonly inputBaseline = new InputBaseline();

  constructor(
    private readonly baseline: ReinforceBaseline = 'none',
    private readonly decay = 0.9,
  ) {}

  estimate(net: Network, batch: Batch, rng: Rng): GradientEstimate {
    if (this.baseline === 'loo' && batch.groups < 2) {
      throw new RangeError('reinforce: the leave-one-out baseline needs at least 2 draws per data point');
    }
    const result = tf.tidy(() => {
      const layers = prepareNetwork(net);
      const G = batch.groups;
      const xs: tf.Tensor[] = [batch.x];
      const scores: tf.Tensor[] = [];
      for (const layer of layers.hidden) {
        const a = layer.forward(xs[xs.length - 1]);
        const x = sampleStates(net, net.noise.cdf(a), rng);
        scores.push(score(net, a, x));
        xs.push(x);
      }
      const L = layers.hidden.length;
      const out = outputLoss(net, layers, xs[L], batch);
      const centred = tf.sub(out.loss, this.baselineFor(out.loss, G, batch.x));
      const grads: LayerGradient[] = scores.map((s, k) =>
        layers.hidden[k].paramGradient(tf.mul(rowsLike(centred, s), s), xs[k], G),
      );
      grads.push(layers.output.paramGradient(out.dLogits, xs[L], G));
      const rows = this.baseline === 'input' ? inputRows(batch.x) : undefined;
      return { estimate: finishEstimate(out.loss, grads, G), meanLoss: tf.mean(out.loss), rowLoss: out.loss, rows };
    });
    if (this.baseline === 'mean') {
      const m = result.meanLoss.dataSync()[0];
      this.runningMean = this.runningMean === undefined ? m : this.decay * this.runningMean + (1 - this.decay) * m;
    }
    if (result.rows) this.inputBaseline.update(result.rows.dataSync(), result.rowLoss.dataSync());
    tf.dispose([result.meanLoss, result.rowLoss, result.rows]);
    return result.estimate;
  }

  state(): EstimatorState {
    if (this.baseline === 'input') return this.inputBaseline.state();
    return this.runningMean === undefined ? {} : { runningMean: this.runningMean };
  }

  restore(state: EstimatorState): void {
    if (this.baseline === 'input') return this.inputBaseline.restore(state);
    this.runningMean = typeof state.runningMean === 'number' ? state.runningMean : undefined;
  }

  private baselineFor(loss: tf.Tensor1D, groups: number, x: tf.Tensor): tf.Tensor | number {
    switch (this.baseline) {
      case 'none':
        return 0;
      case 'mean':
        return this.runningMean ?? 0;
      case 'loo': {
        const n = loss.shape[0] / groups;
        const f = tf.reshape(loss, [groups, n]);
        return tf.reshape(tf.div(tf.sub(tf.sum(f, 0, true), f), groups - 1), [-1]);
      }
      case 'input':
        return this.inputBaseline.predict(inputRows(x));
    }
  }
}

/** One hidden layer's antithetic pair (ARM, §2.7): b¹ = 1[u > 1 − p], b² = 1[u < p], each with its downstream loss. */
export interface AntitheticPair {
  a: tf.Tensor;
  p: tf.Tensor;
  u: tf.Tensor;
  bits1: tf.Tensor;
  bits2: tf.Tensor;
  f1: tf.Tensor1D;
  f2: tf.Tensor1D;
}

/**
 * The frame ARM and DisARM share: per hidden layer along the main path, draw the antithetic pair, continue each with
 * an independent downstream sample, turn the pair into ∂E/∂a with `layerSignal`, and chain it to the parameters; b¹
 * is itself a valid sample of the layer, so the main path continues with it.
 */
export function antitheticPairEstimate(
  net: Network,
  batch: Batch,
  rng: Rng,
  layerSignal: (pair: AntitheticPair) => tf.Tensor,
): GradientEstimate {
  return tf.tidy(() => {
    const layers = prepareNetwork(net);
    const G = batch.groups;
    const grads: LayerGradient[] = [];
    let h = batch.x;
    layers.hidden.forEach((layer, k) => {
      const a = layer.forward(h);
      const p = net.noise.cdf(a);
      const u = uniformTensor(rng, a.shape);
      const bits1 = tf.cast(tf.greater(u, tf.sub(1, p)), 'float32');
      const bits2 = tf.cast(tf.less(u, p), 'float32');
      const x1 = net.coding.fromBits(bits1);
      const x2 = net.coding.fromBits(bits2);
      const f1 = sampleDownstreamLoss(net, layers, x1, k + 1, batch, rng);
      const f2 = sampleDownstreamLoss(net, layers, x2, k + 1, batch, rng);
      grads.push(layer.paramGradient(layerSignal({ a, p, u, bits1, bits2, f1, f2 }), h, G));
      h = x1;
    });
    const out = outputLoss(net, layers, h, batch);
    grads.push(layers.output.paramGradient(out.dLogits, h, G));
    return finishEstimate(out.loss, grads, G);
  });
}

export function armEstimate(net: Network, batch: Batch, rng: Rng): GradientEstimate {
  return antitheticPairEstimate(net, batch, rng, ({ a, p, u, f1, f2 }) => {
    // ARM is a gradient in the logit of p; dlogit(p)/da = F'(a)/(p(1−p)), which is 1 for logistic noise.
    const e = tf.mul(rowsLike(tf.sub(f1, f2), a), tf.sub(u, 0.5));
    if (net.noise.kind === 'logistic') return e;
    return tf.mul(e, tf.div(net.noise.pdf(a), tf.maximum(tf.mul(p, tf.sub(1, p)), 1e-30)));
  });
}

export const arm: Estimator = { name: 'arm', deterministic: false, estimate: armEstimate };

export function reinforce(options: EstimatorOptions = {}): Estimator {
  return new Reinforce(options.baseline ?? 'none', options.baselineDecay ?? 0.9);
}
