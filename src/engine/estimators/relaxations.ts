// Relaxation estimators: the binary states are replaced by differentiable values and the gradient of that
// relaxed network is returned (biased for the SBN, which is still how the models are evaluated, §5 item 14).
//  - Concrete / Gumbel-sigmoid (spec §2.8): x̃ = σ((a − z)/τ) ({0,1}) or 2σ((a − z)/τ) − 1 (±1), z the noise.
//  - tanh (spec §2.9, gradeval "AP1"): deterministic mean field x = E[x | a] (F(a), resp. 2F(a) − 1).
import * as tf from '@tensorflow/tfjs';
import type { Network } from '../network';
import type { Rng } from '../rng';
import { affine, backpropHidden, finishEstimate, layerGradient, outputLoss, transposedWeights } from './common';
import type { Batch, Estimator, GradientEstimate } from './types';

/** Forward through relaxed layers given `activate(a, k) → {x, dx/da}`, then backprop. */
function relaxedEstimate(
  net: Network, batch: Batch,
  activate: (a: tf.Tensor2D, k: number) => { x: tf.Tensor2D; deriv: tf.Tensor2D },
): GradientEstimate {
  return tf.tidy(() => {
    const L = net.layers.length - 1;
    const wT = transposedWeights(net);
    const xs: tf.Tensor2D[] = [batch.x];
    const deriv: tf.Tensor2D[] = [];
    for (let k = 0; k < L; k++) {
      const r = activate(affine(xs[k], net.layers[k], wT[k]), k);
      xs.push(r.x);
      deriv.push(r.deriv);
    }
    const out = outputLoss(net, xs[L], batch, wT[L]);
    const gradX = tf.matMul(out.dLogits, net.layers[L].weight) as tf.Tensor2D;
    const grads = [...backpropHidden(net, gradX, xs, deriv, batch.groups), layerGradient(out.dLogits, xs[L], batch.groups)];
    return finishEstimate(out.loss, grads, batch.groups);
  });
}

export function concreteEstimate(net: Network, batch: Batch, rng: Rng, tau: number): GradientEstimate {
  if (!(tau > 0)) throw new RangeError(`concrete: tau must be > 0, got ${tau}`);
  return relaxedEstimate(net, batch, (a) => {
    const u = rng.uniforms(a.size);
    const z = new Float32Array(u.length);
    for (let i = 0; i < u.length; i++) z[i] = net.noise.inverseCdf64(u[i]);
    const s = tf.sigmoid(tf.div(tf.sub(a, tf.tensor(z, a.shape)), tau));
    const scale = net.coding.meanScale; // x̃ = scale·s + off
    return {
      x: tf.add(tf.mul(s, scale), net.coding.off) as tf.Tensor2D,
      deriv: tf.mul(tf.mul(s, tf.sub(1, s)), scale / tau) as tf.Tensor2D,
    };
  });
}

export function tanhEstimate(net: Network, batch: Batch): GradientEstimate {
  return relaxedEstimate(net, batch, (a) => ({
    x: net.coding.meanOf(net.noise.cdf(a)) as tf.Tensor2D,
    deriv: tf.mul(net.noise.pdf(a), net.coding.meanScale) as tf.Tensor2D,
  }));
}

export function concrete(tau = 1): Estimator {
  return { name: 'concrete', deterministic: false, estimate: (net, batch, rng) => concreteEstimate(net, batch, rng, tau) };
}

export const tanh: Estimator = {
  name: 'tanh',
  deterministic: true,
  estimate: (net, batch) => tanhEstimate(net, batch),
};
