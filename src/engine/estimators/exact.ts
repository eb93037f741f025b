// Exact expected loss and its exact gradient by enumeration (docs/math.md §2.1), in float64: the ground truth
// every sampling estimator is measured against.
//
// The chain structure makes this polynomial in the number of states per layer rather than in their
// product: with S_k = 2^{n_k} states of layer k, the transition matrices P_1[n, s] = p(x¹ = s | x⁰_n) and
// P_k[s, s'] = p(x^k = s' | x^{k−1} = s) give forward messages α_k = α_{k−1} P_k and backward messages
// β_{k−1} = P_k β_k with β_L[n, s] = ℓ(η(s), y_n). E = mean_n Σ_s α_L[n, s] β_L[n, s], and the gradient
// of layer k is the score identity summed exactly:
//   ∂E/∂W^k_ji = mean_n Σ_{s,s'} α_{k−1}[n, s] P_k[s, s'] β_k[n, s'] ∂log p(s'_j | a_j(s))/∂a_j · s_i.
import type { ModelSpec } from '../spec/types';
import { lossAndGrad64 } from '../loss';
import { noiseOf } from '../noise';
import { codingOf } from '../coding';
import type { LayerValues } from '../network';
import { modelGeometry } from '../network';
import { exactCost } from './exactCost';
import { denseEquivalent, type DenseLayer64 } from '../denseEquivalent';

export interface ExactResult {
  loss: number;
  /** Per layer (hidden then output): W row-major (out, in), then the bias. */
  layers: Float64Array[];
}

export class ExactTooLargeError extends Error {
  override readonly name = 'ExactTooLargeError';
}

function unitValues(S: number, n: number, on: number, off: number): Float64Array {
  // states[s * n + j] = value of unit j in state s (bit j of s)
  const v = new Float64Array(S * n);
  for (let s = 0; s < S; s++) for (let j = 0; j < n; j++) v[s * n + j] = (s >> j) & 1 ? on : off;
  return v;
}

/**
 * Exact loss and gradient of a model given its parameter values (external layout). Conv layers are
 * enumerated in their dense form (every unit of every position), and their gradients summed back.
 * X rows are flattened inputs (images channel-major).
 */
export function exactGradient(
  spec: ModelSpec,
  values: LayerValues[],
  X: ArrayLike<number>[],
  Y: ArrayLike<number>,
): ExactResult {
  const cost = exactCost(spec, X.length);
  if (cost.refusal) throw new ExactTooLargeError(cost.refusal);
  const { geometry } = modelGeometry(spec);
  const forms = geometry.map((g, k) => denseEquivalent(g, values[k].weight.flat(3) as number[], values[k].bias));
  const dense = denseExact(
    spec,
    forms.map((f) => f.layer),
    X,
    Y,
  );
  return {
    loss: dense.loss,
    layers: dense.layers.map((v, k) => {
      const nW = forms[k].layer.in * forms[k].layer.out;
      return forms[k].backMap(v.subarray(0, nW), v.subarray(nW));
    }),
  };
}

function denseExact(spec: ModelSpec, dense: DenseLayer64[], X: ArrayLike<number>[], Y: ArrayLike<number>): ExactResult {
  const noise = noiseOf(spec.noise);
  const coding = codingOf(spec.states);
  const shapes = dense.map((d) => ({ in: d.in, out: d.out }));
  const L = shapes.length - 1;
  const N = X.length;
  const S = shapes.slice(0, L).map((s) => 2 ** s.out);
  const states = shapes.slice(0, L).map((s, k) => unitValues(S[k], s.out, coding.on, coding.off));

  // Per-layer tables: transition probabilities and the score ∂log p(s'_j|a_j)/∂a_j for each (source, s', j).
  // For layer 1 the "source" is the data point n.
  const trans: Float64Array[] = [];
  const scores: Float64Array[] = [];
  for (let k = 0; k < L; k++) {
    const { in: nIn, out: nOut } = shapes[k];
    const W = dense[k].weight;
    const b = dense[k].bias;
    const sources = k === 0 ? N : S[k - 1];
    const P = new Float64Array(sources * S[k]);
    const sc = new Float64Array(sources * S[k] * nOut);
    const scoreOn = new Float64Array(nOut);
    const scoreOff = new Float64Array(nOut);
    const logOn = new Float64Array(nOut);
    const logOff = new Float64Array(nOut);
    for (let src = 0; src < sources; src++) {
      for (let j = 0; j < nOut; j++) {
        let a = b[j];
        for (let i = 0; i < nIn; i++) a += W[j * nIn + i] * (k === 0 ? X[src][i] : states[k - 1][src * nIn + i]);
        const F = noise.cdf64(a);
        const Fm = noise.cdf64(-a); // 1 − F(a) for the symmetric noises we support, without cancellation
        const f = noise.pdf64(a);
        logOn[j] = Math.log(F);
        logOff[j] = Math.log(Fm);
        scoreOn[j] = f / F;
        scoreOff[j] = -f / Fm;
      }
      for (let s = 0; s < S[k]; s++) {
        let logp = 0;
        const base = (src * S[k] + s) * nOut;
        for (let j = 0; j < nOut; j++) {
          const on = (s >> j) & 1;
          logp += on ? logOn[j] : logOff[j];
          sc[base + j] = on ? scoreOn[j] : scoreOff[j];
        }
        P[src * S[k] + s] = Math.exp(logp);
      }
    }
    trans.push(P);
    scores.push(sc);
  }

  // Losses of every final state for every data point, and ∂ℓ/∂η.
  const K = shapes[L].out;
  const nL = shapes[L].in;
  const SL = S[L - 1];
  const Wo = dense[L].weight;
  const bo = dense[L].bias;
  const lossTable = new Float64Array(N * SL);
  const dLogits = new Float64Array(N * SL * K);
  const eta = new Float64Array(K);
  const d = new Float64Array(K);
  const logitsOf = new Float64Array(SL * K);
  for (let s = 0; s < SL; s++) {
    for (let c = 0; c < K; c++) {
      let e = bo[c];
      for (let i = 0; i < nL; i++) e += Wo[c * nL + i] * states[L - 1][s * nL + i];
      logitsOf[s * K + c] = e;
    }
  }
  for (let n = 0; n < N; n++) {
    for (let s = 0; s < SL; s++) {
      for (let c = 0; c < K; c++) eta[c] = logitsOf[s * K + c];
      lossTable[n * SL + s] = lossAndGrad64(spec.output.loss, eta, Y[n], d);
      dLogits.set(d, (n * SL + s) * K);
    }
  }

  // Forward messages α_k[n, s] and backward messages β_k[n, s].
  const alpha: Float64Array[] = [trans[0]];
  for (let k = 1; k < L; k++) alpha.push(matMul(alpha[k - 1], trans[k], N, S[k - 1], S[k]));
  const beta = new Array<Float64Array>(L);
  beta[L - 1] = lossTable;
  for (let k = L - 1; k >= 1; k--) beta[k - 1] = matMulTransB(beta[k], trans[k], N, S[k], S[k - 1]);

  let loss = 0;
  for (let i = 0; i < N * SL; i++) loss += alpha[L - 1][i] * lossTable[i];
  loss /= N;

  const layers: Float64Array[] = [];
  for (let k = 0; k < L; k++) {
    const { in: nIn, out: nOut } = shapes[k];
    const grad = new Float64Array(nOut * nIn + nOut);
    const acc = new Float64Array(nOut);
    const sources = k === 0 ? N : S[k - 1];
    // weight of (source, s'): mean over n of α_{k−1}[n, source] β_k[n, s'] (layer 1: the data point itself)
    const C = k === 0 ? null : matMulTransA(alpha[k - 1], beta[k], N, S[k - 1], S[k]);
    for (let src = 0; src < sources; src++) {
      acc.fill(0);
      for (let s = 0; s < S[k]; s++) {
        const w = trans[k][src * S[k] + s] * (k === 0 ? beta[0][src * S[0] + s] : C![src * S[k] + s]);
        if (w === 0) continue;
        const base = (src * S[k] + s) * nOut;
        for (let j = 0; j < nOut; j++) acc[j] += w * scores[k][base + j];
      }
      for (let j = 0; j < nOut; j++) {
        for (let i = 0; i < nIn; i++)
          grad[j * nIn + i] += acc[j] * (k === 0 ? X[src][i] : states[k - 1][src * nIn + i]);
        grad[nOut * nIn + j] += acc[j];
      }
    }
    for (let i = 0; i < grad.length; i++) grad[i] /= N;
    layers.push(grad);
  }
  // Output layer: mean_n Σ_s α_L[n, s] ∂ℓ/∂η(s) ⊗ (s, 1)
  const gOut = new Float64Array(K * nL + K);
  for (let n = 0; n < N; n++) {
    for (let s = 0; s < SL; s++) {
      const w = alpha[L - 1][n * SL + s];
      if (w === 0) continue;
      for (let c = 0; c < K; c++) {
        const g = w * dLogits[(n * SL + s) * K + c];
        for (let i = 0; i < nL; i++) gOut[c * nL + i] += g * states[L - 1][s * nL + i];
        gOut[K * nL + c] += g;
      }
    }
  }
  for (let i = 0; i < gOut.length; i++) gOut[i] /= N;
  layers.push(gOut);
  return { loss, layers };
}

/** A [r, m] · B [m, c] → [r, c], row-major. */
function matMul(A: Float64Array, B: Float64Array, r: number, m: number, c: number): Float64Array {
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) {
    for (let k = 0; k < m; k++) {
      const a = A[i * m + k];
      if (a === 0) continue;
      const bRow = k * c;
      const oRow = i * c;
      for (let j = 0; j < c; j++) out[oRow + j] += a * B[bRow + j];
    }
  }
  return out;
}

/** A [r, m] · Bᵀ for B [c, m] → [r, c]. */
function matMulTransB(A: Float64Array, B: Float64Array, r: number, m: number, c: number): Float64Array {
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < c; j++) {
      let sum = 0;
      for (let k = 0; k < m; k++) sum += A[i * m + k] * B[j * m + k];
      out[i * c + j] = sum;
    }
  }
  return out;
}

/** Aᵀ · B for A [m, r], B [m, c] → [r, c]. */
function matMulTransA(A: Float64Array, B: Float64Array, m: number, r: number, c: number): Float64Array {
  const out = new Float64Array(r * c);
  for (let k = 0; k < m; k++) {
    for (let i = 0; i < r; i++) {
      const a = A[k * r + i];
      if (a === 0) continue;
      for (let j = 0; j < c; j++) out[i * c + j] += a * B[k * c + j];
    }
  }
  return out;
}
