// Output losses (docs/math.md §1.3): the loss of a row of logits and its derivative with respect to the logits.
import * as tf from '@tensorflow/tfjs';
import type { OutputLoss } from '../spec/types';

export interface LossAndGrad {
  /** ℓ(η, y) per row, shape [B]. */
  loss: tf.Tensor1D;
  /** ∂ℓ/∂η, shape [B, K]. */
  dLogits: tf.Tensor2D;
}

/**
 * Labels are a float tensor [B]: ±1 for `logistic` (one logit), class indices 0..K−1 for `nll`.
 * Both losses are computed in their stable forms (softplus, log-softmax; docs/math.md §5.1).
 */
export function lossAndGrad(kind: OutputLoss, logits: tf.Tensor2D, labels: tf.Tensor1D): LossAndGrad {
  return tf.tidy(() => {
    if (kind === 'logistic') {
      const eta = tf.reshape(logits, [-1]);
      const margin = tf.mul(labels, eta);
      const loss = tf.softplus(tf.neg(margin)) as tf.Tensor1D;
      const d = tf.neg(tf.mul(labels, tf.sigmoid(tf.neg(margin))));
      return { loss, dLogits: tf.reshape<tf.Rank.R2>(d, [-1, 1]) };
    }
    const k = logits.shape[1];
    const logp = tf.logSoftmax(logits);
    const onehot = tf.oneHot(tf.cast(labels, 'int32'), k);
    const loss = tf.neg(tf.sum(tf.mul(logp, onehot), 1)) as tf.Tensor1D;
    const d = tf.sub<tf.Tensor2D>(tf.exp(logp), onehot);
    return { loss, dLogits: d };
  });
}

/** Loss only (no derivative), for evaluations that need many loss values such as flipped logits. */
export function lossOnly(kind: OutputLoss, logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    if (kind === 'logistic') return tf.softplus(tf.neg(tf.mul(labels, tf.reshape(logits, [-1])))) as tf.Tensor1D;
    const logp = tf.logSoftmax(logits);
    const onehot = tf.oneHot(tf.cast(labels, 'int32'), logits.shape[1]);
    return tf.neg(tf.sum(tf.mul(logp, onehot), 1)) as tf.Tensor1D;
  });
}

/** Float64 loss and derivative of one row of logits (exact enumeration). */
export function lossAndGrad64(kind: OutputLoss, logits: Float64Array, label: number, dOut: Float64Array): number {
  if (kind === 'logistic') {
    const m = label * logits[0];
    // log(1 + e^{−m}) and its derivative −y σ(−m)
    const loss = m > 0 ? Math.log1p(Math.exp(-m)) : -m + Math.log1p(Math.exp(m));
    const s = m >= 0 ? Math.exp(-m) / (1 + Math.exp(-m)) : 1 / (1 + Math.exp(m));
    dOut[0] = -label * s;
    return loss;
  }
  let max = -Infinity;
  for (let k = 0; k < logits.length; k++) max = Math.max(max, logits[k]);
  let sum = 0;
  for (let k = 0; k < logits.length; k++) sum += Math.exp(logits[k] - max);
  const lse = max + Math.log(sum);
  for (let k = 0; k < logits.length; k++) dOut[k] = Math.exp(logits[k] - lse) - (k === label ? 1 : 0);
  return lse - logits[label];
}
