// The noise z of x = sign(a − z): its CDF F and density F' as tfjs ops (for the estimators) and as
// float64 functions (for exact enumeration and tests). All of the paper uses logistic noise (docs/math.md §1.1);
// `normal` (F = Φ) is offered because the theory only needs a continuous CDF.
import * as tf from '@tensorflow/tfjs';
import type { NoiseKind } from '../spec/types';

const INV_SQRT_2PI = 0.3989422804014327;
const SQRT1_2 = Math.SQRT1_2;

export interface Noise {
  kind: NoiseKind;
  /** F(t) = P(z < t) = P(x = +1 | a = t). */
  cdf(t: tf.Tensor): tf.Tensor;
  /** F'(t). */
  pdf(t: tf.Tensor): tf.Tensor;
  cdf64(t: number): number;
  pdf64(t: number): number;
  /** F⁻¹(u) for u in (0,1): turns uniforms into noise samples (Concrete relaxation). */
  inverseCdf64(u: number): number;
  /** F⁻¹(u) as a float32 tfjs op, u in (0,1) (Gumbel-Rao's conditional noise). */
  inverseCdf(u: tf.Tensor): tf.Tensor;
  /**
   * Probit-style constant c with F(t) ≈ Φ(t/c): used by ADF to push a Gaussian pre-activation through F
   * (logistic: c = π/√3, the logistic/normal match of docs/math.md §2.10; normal: exact with c = 1).
   */
  gaussianScale: number;
}

const logistic: Noise = {
  kind: 'logistic',
  cdf: (t) => tf.sigmoid(t),
  pdf: (t) =>
    tf.tidy(() => {
      const s = tf.sigmoid(t);
      return tf.mul(s, tf.sub(1, s));
    }),
  cdf64: sigmoid64,
  pdf64: (t) => {
    const s = sigmoid64(t);
    return s * (1 - s);
  },
  inverseCdf64: (u) => Math.log(u) - Math.log1p(-u),
  inverseCdf: (u) => tf.tidy(() => tf.sub(tf.log(u), tf.log1p(tf.neg(u)))),
  gaussianScale: Math.PI / Math.sqrt(3),
};

const normal: Noise = {
  kind: 'normal',
  cdf: (t) => tf.tidy(() => tf.mul(0.5, tf.add(1, tf.erf(tf.mul(t, SQRT1_2))))),
  pdf: (t) => tf.tidy(() => tf.mul(INV_SQRT_2PI, tf.exp(tf.mul(-0.5, tf.square(t))))),
  cdf64: normalCdf64,
  pdf64: (t) => INV_SQRT_2PI * Math.exp(-0.5 * t * t),
  inverseCdf64: normalQuantile64,
  inverseCdf: normalQuantile,
  gaussianScale: 1,
};

export function noiseOf(kind: NoiseKind): Noise {
  return kind === 'normal' ? normal : logistic;
}

/** Branch-stable sigmoid (docs/math.md §5.2). */
export function sigmoid64(t: number): number {
  if (t >= 0) return 1 / (1 + Math.exp(-t));
  const e = Math.exp(t);
  return e / (1 + e);
}

/** Φ(t) through erfc, accurate in both tails (W. J. Cody's rational approximations via erfc). */
export function normalCdf64(t: number): number {
  return 0.5 * erfc64(-t * SQRT1_2);
}

/** erfc with relative error < 1.2e-7 everywhere (Numerical Recipes' Chebyshev fit), enough for float32 work. */
export function erfc64(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

// Acklam's rational approximation of Φ⁻¹ (relative error 1.15e-9): central region numerator a / denominator b,
// tails (u < P_LOW or 1 − u < P_LOW) c / d in q = √(−2 log u).
const ACKLAM_A = [
  -3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1,
  2.506628277459239,
];
const ACKLAM_B = [
  -5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1,
];
const ACKLAM_C = [
  -7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968,
  2.938163982698783,
];
const ACKLAM_D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
const ACKLAM_P_LOW = 0.02425;

/** Φ⁻¹(u), Acklam's algorithm refined by one Halley step (relative error ~1e-15). */
export function normalQuantile64(u: number): number {
  const [a, b, c, d, pLow] = [ACKLAM_A, ACKLAM_B, ACKLAM_C, ACKLAM_D, ACKLAM_P_LOW];
  let x: number;
  if (u < pLow) {
    const q = Math.sqrt(-2 * Math.log(u));
    x =
      (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (u <= 1 - pLow) {
    const q = u - 0.5;
    const r = q * q;
    x =
      ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
      (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log1p(-u));
    x =
      -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  const e = normalCdf64(x) - u;
  const g = e * Math.sqrt(2 * Math.PI) * Math.exp(0.5 * x * x);
  return x - g / (1 + 0.5 * x * g);
}

/** Horner's rule on a tensor: p[0] tⁿ⁻¹ + … + p[n−1]. */
function polynomial(p: number[], t: tf.Tensor): tf.Tensor {
  return p.slice(1).reduce((acc, coefficient) => tf.add(tf.mul(acc, t), coefficient), tf.add(tf.zerosLike(t), p[0]));
}

/**
 * Φ⁻¹(u) as float32 tfjs ops: Acklam's approximation, in the central region refined by a Newton step. Every element
 * takes the branch of its region; the tail formula is evaluated on min(u, 1 − u) so that no branch sees a logarithm
 * of a value outside (0, 1).
 */
export function normalQuantile(u: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const m = tf.minimum(u, tf.sub(1, u));
    const q = tf.sqrt(tf.mul(-2, tf.log(m)));
    const tail = tf.div(polynomial(ACKLAM_C, q), tf.add(tf.mul(polynomial(ACKLAM_D, q), q), 1));
    const signedTail = tf.where(tf.less(u, 0.5), tail, tf.neg(tail));
    const h = tf.sub(u, 0.5);
    const r = tf.square(h);
    const rough = tf.div(tf.mul(polynomial(ACKLAM_A, r), h), tf.add(tf.mul(polynomial(ACKLAM_B, r), r), 1));
    // the central polynomials cancel to ~1e-4 in float32 near the tails; one Newton step on Φ(x) = u repairs it
    // (Φ there is far from 0 and 1, so its float32 error stays ~1e-7)
    const central = tf.sub(rough, tf.div(tf.sub(normal.cdf(rough), u), normal.pdf(rough)));
    return tf.where(tf.less(m, ACKLAM_P_LOW), signedTail, central);
  });
}
