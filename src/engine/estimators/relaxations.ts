// Relaxation estimators: the binary states are replaced by differentiable values and the gradient of that
// relaxed network is returned (biased for the SBN, which is still how the models are evaluated, docs/math.md §5.14).
//  - Concrete / Gumbel-sigmoid (docs/math.md §2.8): x̃ = σ((a − z)/τ) ({0,1}) or 2σ((a − z)/τ) − 1 (±1), z the noise.
//  - tanh (docs/math.md §2.9, gradeval "AP1"): deterministic mean field x = E[x | a] (F(a), resp. 2F(a) − 1).
//  - tanh with activation `tanh` (docs/math.md §2.9): the authors' deterministic baseline x = tanh(a) for ±1 states,
//    whatever the noise; for {0,1} states the same curve mapped onto [0, 1], x = (1 + tanh(a))/2 = σ(2a).
import * as tf from '@tensorflow/tfjs';
import type { Network } from '../model/network';
import type { Rng } from '../rng';
import { backpropThroughOutput, finishEstimate, noiseTensor, outputLoss, prepareNetwork } from './common';
import type { Batch, Estimator, GradientEstimate } from './types';

/** Forward through relaxed layers given `activate(a) → {x, dx/da}`, then backprop. */
function relaxedEstimate(
  net: Network,
  batch: Batch,
  activate: (a: tf.Tensor) => { x: tf.Tensor; deriv: tf.Tensor },
): GradientEstimate {
  return tf.tidy(() => {
    const layers = prepareNetwork(net);
    const xs: tf.Tensor[] = [batch.x];
    const deriv: tf.Tensor[] = [];
    for (const layer of layers.hidden) {
      const r = activate(layer.forward(xs[xs.length - 1]));
      xs.push(r.x);
      deriv.push(r.deriv);
    }
    const out = outputLoss(net, layers, xs[xs.length - 1], batch);
    return finishEstimate(out.loss, backpropThroughOutput(layers, out.dLogits, xs, deriv, batch.groups), batch.groups);
  });
}

export function concreteEstimate(net: Network, batch: Batch, rng: Rng, tau: number): GradientEstimate {
  if (!(tau > 0)) throw new RangeError(`concrete: tau must be > 0, got ${tau}`);
  return relaxedEstimate(net, batch, (a) => {
    const z = noiseTensor(a.shape, (n) => {
      const u = rng.uniforms(n);
      for (let i = 0; i < n; i++) u[i] = net.noise.inverseCdf64(u[i]); // noise z = F⁻¹(u)
      return u;
    });
    const s = tf.sigmoid(tf.div(tf.sub(a, z), tau));
    const scale = net.coding.meanScale; // x̃ = scale·s + off
    return { x: tf.add(tf.mul(s, scale), net.coding.off), deriv: tf.mul(tf.mul(s, tf.sub(1, s)), scale / tau) };
  });
}

export function tanhEstimate(net: Network, batch: Batch): GradientEstimate {
  return relaxedEstimate(net, batch, (a) => ({
    x: net.coding.meanOf(net.noise.cdf(a)),
    deriv: tf.mul(net.noise.pdf(a), net.coding.meanScale),
  }));
}

/** The authors' deterministic tanh(a) network: x = tanh(a) (pm1) or (1 + tanh(a))/2 (01); dx/da = s·(1 − tanh²a). */
export function tanhDetEstimate(net: Network, batch: Batch): GradientEstimate {
  return relaxedEstimate(net, batch, (a) => {
    const t = tf.tanh(a);
    const half = net.coding.meanScale / 2; // 1 for ±1 states, 1/2 for {0,1}
    return { x: tf.add(tf.mul(t, half), net.coding.off + half), deriv: tf.mul(tf.sub(1, tf.square(t)), half) };
  });
}

export function concrete(tau = 1): Estimator {
  return {
    name: 'concrete',
    deterministic: false,
    estimate: (net, batch, rng) => concreteEstimate(net, batch, rng, tau),
  };
}

export const tanh: Estimator = {
  name: 'tanh',
  deterministic: true,
  estimate: (net, batch) => tanhEstimate(net, batch),
};

/** Estimator `tanh` with `activation: tanh` (the authors' baseline); its name stays `tanh`. */
export const tanhDet: Estimator = {
  name: 'tanh',
  deterministic: true,
  estimate: (net, batch) => tanhDetEstimate(net, batch),
};
