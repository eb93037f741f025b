// DisARM (docs/math.md §2.13; Dong, Mnih & Tucker 2020): ARM's antithetic pair with the "disarming" weight. Per hidden
// layer along the main path, as our ARM (§2.7): b¹ = 1[u > 1 − p], b² = 1[u < p], each continued with its own
// independent downstream sample; only the units where the pair differs carry a gradient,
//   ∂/∂logit(p_j) = ½ (f² − f¹) (−1)^{b¹_j} 1[b¹_j ≠ b²_j] σ(|logit p_j|),
// chained to a by dlogit(p)/da = F'(a)/(p(1 − p)) (1 for logistic noise) and to the parameters like backprop.
import * as tf from '@tensorflow/tfjs';
import type { Network } from '../model/network';
import type { Rng } from '../rng';
import { rowsLike } from './common';
import { antitheticPairEstimate } from './scoreFunction';
import type { Batch, Estimator, GradientEstimate } from './types';

export function disarmEstimate(net: Network, batch: Batch, rng: Rng): GradientEstimate {
  return antitheticPairEstimate(net, batch, rng, ({ a, p, bits1, bits2, f1, f2 }) => {
    // (−1)^{b¹} 1[b¹ ≠ b²] = b² − b¹; σ(|logit p|) = max(p, 1 − p), with 1 − p = F(−a) (symmetric noise, no
    // cancellation).
    const weight = tf.mul(tf.sub(bits2, bits1), tf.maximum(p, net.noise.cdf(tf.neg(a))));
    const e = tf.mul(rowsLike(tf.mul(tf.sub(f2, f1), 0.5), a), weight);
    if (net.noise.kind === 'logistic') return e;
    const pq = tf.mul(p, net.noise.cdf(tf.neg(a)));
    return tf.mul(e, tf.div(net.noise.pdf(a), tf.maximum(pq, 1e-30)));
  });
}

export const disarm: Estimator = { name: 'disarm', deterministic: false, estimate: disarmEstimate };
