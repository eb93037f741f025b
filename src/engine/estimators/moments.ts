// Moment-propagation estimators (docs/math.md §2.10). Every unit carries a mean m and variance v; a layer's
// pre-activation is Gaussian with μ = A(m), s² = (W∘W) v (the bias adds no variance).
//  - ADF ("AP2"): the binary unit's on-probability under a Gaussian pre-activation, p = F(μ / √(1 + s²/c²))
//    (exact for normal noise with c = 1; the logistic/normal match c = π/√3 for logistic noise).
//  - Local reparameterisation: the pre-activation is sampled, â = μ + s ε, and p = F(â).
// Then m' = E[x], v' = Var[x] of the binary state with that p. The logits get the same Gaussian (μ, s²) and
// are sampled once, η = μ + s ε, before the loss. (The authors' code additionally pushes the logits
// through the binary-moment step, confining them to (−1, 1); we keep the output layer linear, as the
// model defines it.) Gaussian samples add 1e-16 to the variance (docs/math.md §5.8).
import * as tf from '@tensorflow/tfjs';
import type { Network } from '../network';
import type { Rng } from '../rng';
import { lossAndGrad } from '../loss';
import { finishEstimate, normalTensor, prepareNetwork } from './common';
import type { Batch, Estimator, GradientEstimate, LayerGradient } from './types';

const VARIANCE_GUARD = 1e-16;

interface HiddenCache {
  p: tf.Tensor;
  /** dp/dμ and dp/ds² of the unit probabilities. */
  dpdmu: tf.Tensor;
  dpds2: tf.Tensor;
}

export function momentEstimate(net: Network, batch: Batch, rng: Rng, sampled: boolean): GradientEstimate {
  return tf.tidy(() => {
    const layers = prepareNetwork(net);
    const L = layers.hidden.length;
    const G = batch.groups;
    const c2 = net.noise.gaussianScale ** 2;
    const ms: tf.Tensor[] = [batch.x];
    const vs: tf.Tensor[] = [tf.zerosLike(batch.x)];
    const caches: HiddenCache[] = [];
    layers.hidden.forEach((layer, k) => {
      const mu = layer.forward(ms[k]);
      const s2 = k === 0 ? tf.zerosLike(mu) : layer.forwardSquared(vs[k]);
      let cache: HiddenCache;
      if (sampled) {
        const sd = tf.sqrt(tf.add(s2, VARIANCE_GUARD));
        const eps = normalTensor(rng, mu.shape);
        const aHat = tf.add(mu, tf.mul(sd, eps));
        const f = net.noise.pdf(aHat);
        cache = { p: net.noise.cdf(aHat), dpdmu: f, dpds2: tf.div(tf.mul(f, eps), tf.mul(sd, 2)) };
      } else {
        const r = tf.sqrt(tf.add(1, tf.div(s2, c2)));
        const t = tf.div(mu, r);
        const f = net.noise.pdf(t);
        cache = {
          p: net.noise.cdf(t),
          dpdmu: tf.div(f, r),
          dpds2: tf.neg(tf.div(tf.mul(f, t), tf.mul(tf.square(r), 2 * c2))),
        };
      }
      caches.push(cache);
      ms.push(net.coding.meanOf(cache.p));
      vs.push(net.coding.varianceOf(cache.p));
    });
    // Output: Gaussian logits, one reparameterised sample.
    const mu = layers.output.forward(ms[L]);
    const sd = tf.sqrt(tf.add(layers.output.forwardSquared(vs[L]), VARIANCE_GUARD));
    const eps = normalTensor(rng, mu.shape);
    const out = lossAndGrad(net.spec.output.loss, tf.add<tf.Tensor2D>(mu, tf.mul(sd, eps)), batch.y);

    const all = [...layers.hidden, layers.output];
    const grads = new Array<LayerGradient>(L + 1);
    let gMu: tf.Tensor = out.dLogits;
    let gS2: tf.Tensor = tf.div(tf.mul(out.dLogits, eps), tf.mul(sd, 2));
    const scale = net.coding.meanScale;
    for (let k = L; k >= 0; k--) {
      const layer = all[k];
      // s² = (W∘W) v  ⇒  ∂s²/∂W = 2W ∘ (the weight gradient of the squared map)
      const fromMean = layer.paramGradient(gMu, ms[k], G);
      const fromVar = layer.paramGradient(gS2, vs[k], G);
      grads[k] = {
        weight: tf.add(fromMean.weight, tf.mul(fromVar.weight, tf.mul(net.layers[k].weight, 2))),
        bias: fromMean.bias,
      };
      if (k === 0) break;
      const dm = layer.backwardInput(gMu);
      const dv = layer.backwardInputSquared(gS2);
      const prev = caches[k - 1];
      // m' = off + scale·p, v' = scale²·p(1 − p)
      const dp = tf.add(tf.mul(dm, scale), tf.mul(dv, tf.mul(tf.sub(1, tf.mul(prev.p, 2)), scale * scale)));
      gMu = tf.mul(dp, prev.dpdmu);
      gS2 = tf.mul(dp, prev.dpds2);
    }
    return finishEstimate(out.loss, grads, G);
  });
}

export const adf: Estimator = {
  name: 'adf',
  deterministic: false,
  estimate: (net, batch, rng) => momentEstimate(net, batch, rng, false),
};
export const localReparam: Estimator = {
  name: 'local-reparam',
  deterministic: false,
  estimate: (net, batch, rng) => momentEstimate(net, batch, rng, true),
};
