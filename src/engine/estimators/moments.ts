// Moment-propagation estimators (spec §2.10). Every unit carries a mean m and variance v; a layer's
// pre-activation is Gaussian with μ = W m + b, s² = (W∘W) v (the bias adds no variance).
//  - ADF ("AP2"): the binary unit's on-probability under a Gaussian pre-activation, p = F(μ / √(1 + s²/c²))
//    (exact for normal noise with c = 1; the logistic/normal match c = π/√3 for logistic noise).
//  - Local reparameterisation: the pre-activation is sampled, â = μ + s ε, and p = F(â).
// Then m' = E[x], v' = Var[x] of the binary state with that p. The logits get the same Gaussian (μ, s²) and
// are sampled once, η = μ + s ε, before the loss. (The authors' code additionally pushes the logits
// through the binary-moment step, confining them to (−1, 1); we keep the output layer linear, as the
// model defines it.) Gaussian samples add 1e-16 to the variance (spec §5 item 8).
import * as tf from '@tensorflow/tfjs';
import type { Network } from '../network';
import type { Rng } from '../rng';
import { lossAndGrad } from '../loss';
import { affine, finishEstimate, groupMean, groupOuter, normalTensor, transposedWeights } from './common';
import type { Batch, Estimator, GradientEstimate, LayerGradient } from './types';

const VARIANCE_GUARD = 1e-16;

interface LayerCache {
  mIn: tf.Tensor2D;
  vIn: tf.Tensor2D;
  /** dp/dμ and dp/ds² of the unit probabilities (hidden layers only). */
  dpdmu?: tf.Tensor2D;
  dpds2?: tf.Tensor2D;
  p?: tf.Tensor2D;
}

export function momentEstimate(net: Network, batch: Batch, rng: Rng, sampled: boolean): GradientEstimate {
  return tf.tidy(() => {
    const L = net.layers.length - 1;
    const G = batch.groups;
    const wT = transposedWeights(net);
    const w2T = wT.map((w) => tf.square(w) as tf.Tensor2D);
    const c2 = net.noise.gaussianScale ** 2;
    const caches: LayerCache[] = [];
    let m = batch.x;
    let v = tf.zerosLike(batch.x) as tf.Tensor2D;
    for (let k = 0; k < L; k++) {
      const mu = affine(m, net.layers[k], wT[k]);
      const s2 = tf.matMul(v, w2T[k]) as tf.Tensor2D;
      const cache: LayerCache = { mIn: m, vIn: v };
      if (sampled) {
        const sd = tf.sqrt(tf.add(s2, VARIANCE_GUARD));
        const eps = normalTensor(rng, mu.shape);
        const aHat = tf.add(mu, tf.mul(sd, eps));
        cache.p = net.noise.cdf(aHat) as tf.Tensor2D;
        cache.dpdmu = net.noise.pdf(aHat) as tf.Tensor2D;
        cache.dpds2 = tf.div(tf.mul(cache.dpdmu, eps), tf.mul(sd, 2)) as tf.Tensor2D;
      } else {
        const r = tf.sqrt(tf.add(1, tf.div(s2, c2)));
        const t = tf.div(mu, r);
        const f = net.noise.pdf(t);
        cache.p = net.noise.cdf(t) as tf.Tensor2D;
        cache.dpdmu = tf.div(f, r) as tf.Tensor2D;
        cache.dpds2 = tf.neg(tf.div(tf.mul(f, t), tf.mul(tf.square(r), 2 * c2))) as tf.Tensor2D;
      }
      caches.push(cache);
      m = net.coding.meanOf(cache.p) as tf.Tensor2D;
      v = net.coding.varianceOf(cache.p) as tf.Tensor2D;
    }
    // Output: Gaussian logits, one reparameterised sample.
    const mu = affine(m, net.layers[L], wT[L]);
    const sd = tf.sqrt(tf.add(tf.matMul(v, w2T[L]), VARIANCE_GUARD));
    const eps = normalTensor(rng, mu.shape);
    const out = lossAndGrad(net.spec.output.loss, tf.add(mu, tf.mul(sd, eps)) as tf.Tensor2D, batch.y);
    caches.push({ mIn: m, vIn: v });

    const grads: LayerGradient[] = new Array(L + 1);
    let gMu = out.dLogits;
    let gS2 = tf.div(tf.mul(out.dLogits, eps), tf.mul(sd, 2)) as tf.Tensor2D;
    const scale = net.coding.meanScale;
    for (let k = L; k >= 0; k--) {
      const { mIn, vIn } = caches[k];
      const w = net.layers[k].weight;
      // s² = (W∘W) v  ⇒  ∂s²_j/∂W_ji = 2 W_ji v_i
      const weight = tf.add(groupOuter(gMu, mIn, G), tf.mul(groupOuter(gS2, vIn, G), tf.mul(w, 2))) as tf.Tensor3D;
      grads[k] = { weight, bias: groupMean(gMu, G) as tf.Tensor2D };
      if (k === 0) break;
      const prev = caches[k - 1];
      const dm = tf.matMul(gMu, w);
      const dv = tf.matMul(gS2, tf.square(w));
      // m' = off + scale·p, v' = scale²·p(1 − p)
      const dp = tf.add(tf.mul(dm, scale), tf.mul(dv, tf.mul(tf.sub(1, tf.mul(prev.p!, 2)), scale * scale)));
      gMu = tf.mul(dp, prev.dpdmu!) as tf.Tensor2D;
      gS2 = tf.mul(dp, prev.dpds2!) as tf.Tensor2D;
    }
    return finishEstimate(out.loss, grads, G);
  });
}

export const adf: Estimator = { name: 'adf', deterministic: false, estimate: (net, batch, rng) => momentEstimate(net, batch, rng, false) };
export const localReparam: Estimator = {
  name: 'local-reparam', deterministic: false, estimate: (net, batch, rng) => momentEstimate(net, batch, rng, true),
};
