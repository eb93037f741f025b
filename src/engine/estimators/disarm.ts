// DisARM (docs/math.md §2.13; Dong, Mnih & Tucker 2020): ARM's antithetic pair with the "disarming" weight. Per hidden
// layer along the main path, as our ARM (§2.7): b¹ = 1[u > 1 − p], b² = 1[u < p], each continued with its own
// independent downstream sample; only the units where the pair differs carry a gradient,
//   ∂/∂logit(p_j) = ½ (f² − f¹) (−1)^{b¹_j} 1[b¹_j ≠ b²_j] σ(|logit p_j|),
// chained to a by dlogit(p)/da = F'(a)/(p(1 − p)) (1 for logistic noise) and to the parameters like backprop.
import * as tf from '@tensorflow/tfjs';
import type { Network } from '../model/network';
import type { Rng } from '../rng';
import { finishEstimate, outputLoss, prepareNetwork, rowsLike, sampleDownstreamLoss, uniformTensor } from './common';
import type { Batch, Estimator, GradientEstimate, LayerGradient } from './types';

export function disarmEstimate(net: Network, batch: Batch, rng: Rng): GradientEstimate {
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
      // (−1)^{b¹} 1[b¹ ≠ b²] = b² − b¹; σ(|logit p|) = max(p, 1 − p), with 1 − p = F(−a) (symmetric noise, no
      // cancellation).
      const weight = tf.mul(tf.sub(bits2, bits1), tf.maximum(p, net.noise.cdf(tf.neg(a))));
      let e = tf.mul(rowsLike(tf.mul(tf.sub(f2, f1), 0.5), a), weight);
      if (net.noise.kind !== 'logistic') {
        const pq = tf.mul(p, net.noise.cdf(tf.neg(a)));
        e = tf.mul(e, tf.div(net.noise.pdf(a), tf.maximum(pq, 1e-30)));
      }
      grads.push(layer.paramGradient(e, h, G));
      h = x1; // b¹ is a valid sample of the layer: the main path continues with it, as in ARM
    });
    const out = outputLoss(net, layers, h, batch);
    grads.push(layers.output.paramGradient(out.dLogits, h, G));
    return finishEstimate(out.loss, grads, G);
  });
}

export const disarm: Estimator = { name: 'disarm', deterministic: false, estimate: disarmEstimate };
