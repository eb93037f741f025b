// AVX-512F path, 16 lanes, masked tails. Same arithmetic as isa_avx2.cc; only these functions carry the target
// attribute, so the addon loads on any x86-64 and this code runs only after the CPU check in runtime.cc.
#include <algorithm>

#include "kernels.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define SBN_AVX512 __attribute__((target("avx512f,avx2,fma")))

namespace sbn {
namespace {

SBN_AVX512 inline __mmask16 signBits(__m512 v) {
  return _mm512_cmplt_epi32_mask(_mm512_castps_si512(v), _mm512_setzero_si512());
}

SBN_AVX512 inline __m512 orPs(__m512 a, __m512 b) {
  return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)));
}

SBN_AVX512 inline __m512 xorPs(__m512 a, __m512 b) {
  return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)));
}

// e^x, clamped to [−87.3, 88]: as in isa_avx2.cc (Cephes expf), with the 2^n scaling done by vscalefps.
SBN_AVX512 inline __m512 expF(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.0f));
  const __m512 fx = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), x);
  x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(-2.12194440e-4f), x);
  const __m512 z = _mm512_mul_ps(x, x);
  __m512 y = _mm512_set1_ps(1.9875691500e-4f);
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.3981999507e-3f));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(8.3334519073e-3f));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(4.1665795894e-2f));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.6666665459e-1f));
  y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(5.0000001201e-1f));
  y = _mm512_fmadd_ps(y, z, x);
  y = _mm512_add_ps(y, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(y, fx);
}

// 1/x for a normal x > 0 (up to e^{81} here): the 14-bit estimate and one Newton step (≈1 ulp).
SBN_AVX512 inline __m512 recip14(__m512 x) {
  const __m512 r0 = _mm512_rcp14_ps(x);
  const __m512 e = _mm512_fnmadd_ps(x, r0, _mm512_set1_ps(1.0f));
  return _mm512_fmadd_ps(r0, e, r0);
}

// Fixed-order horizontal sum (results must not depend on anything but the inputs).
SBN_AVX512 inline float hsum(__m512 v) {
  const __m256 lo = _mm512_castps512_ps256(v);
  const __m256 hi = _mm512_castps512_ps256(_mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(3, 2, 3, 2)));
  const __m256 s8 = _mm256_add_ps(lo, hi);
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

SBN_AVX512 inline __mmask16 tailMask(size_t rem) { return static_cast<__mmask16>((1u << rem) - 1u); }

// ---- per-output and per-weight factors ----

SBN_AVX512 inline void prepOut16(__m512 va, __m512 vg, __m512* A, __m512* Ainv, __m512* gp, __m512* gm) {
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 e = expF(orPs(va, _mm512_set1_ps(-0.0f)));     // e^{−|a|} ≥ 1.3e-38
  const __m512 r = _mm512_div_ps(one, _mm512_add_ps(one, e));  // σ(|a|)
  const __m512 er = _mm512_mul_ps(e, r);                       // σ(−|a|)
  const __mmask16 neg = signBits(va);
  const __m512 inv = _mm512_div_ps(one, e);                    // e^{|a|}
  *A = _mm512_mask_blend_ps(neg, e, inv);
  *Ainv = _mm512_mask_blend_ps(neg, inv, e);
  *gp = _mm512_mul_ps(vg, _mm512_mask_blend_ps(neg, er, r));
  *gm = _mm512_mul_ps(xorPs(vg, _mm512_set1_ps(-0.0f)), _mm512_mask_blend_ps(neg, r, er));
}

SBN_AVX512 void prepOutAvx512(size_t n, const float* a, const float* g, float* A, float* Ainv, float* gp, float* gm) {
  __m512 vA, vAi, vgp, vgm;
  size_t j = 0;
  for (; j + 16 <= n; j += 16) {
    prepOut16(_mm512_loadu_ps(a + j), _mm512_loadu_ps(g + j), &vA, &vAi, &vgp, &vgm);
    _mm512_storeu_ps(A + j, vA);
    _mm512_storeu_ps(Ainv + j, vAi);
    _mm512_storeu_ps(gp + j, vgp);
    _mm512_storeu_ps(gm + j, vgm);
  }
  if (j < n) {
    const __mmask16 m = tailMask(n - j);
    prepOut16(_mm512_maskz_loadu_ps(m, a + j), _mm512_maskz_loadu_ps(m, g + j), &vA, &vAi, &vgp, &vgm);
    _mm512_mask_storeu_ps(A + j, m, vA);
    _mm512_mask_storeu_ps(Ainv + j, m, vAi);
    _mm512_mask_storeu_ps(gp + j, m, vgp);
    _mm512_mask_storeu_ps(gm + j, m, vgm);
  }
}

SBN_AVX512 inline void logistic16(__m512 t, __m512 scale, __m512* p, __m512* d) {
  const __m512 one = _mm512_set1_ps(1.0f);
  __m512 s = _mm512_div_ps(one, _mm512_add_ps(one, expF(xorPs(t, _mm512_set1_ps(-0.0f)))));
  s = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(t, _mm512_set1_ps(-88.0f), _CMP_LT_OQ), s, _mm512_setzero_ps());
  s = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(t, t, _CMP_UNORD_Q), s, t);
  *p = s;
  *d = _mm512_mul_ps(_mm512_mul_ps(s, _mm512_sub_ps(one, s)), scale);
}

SBN_AVX512 void logisticAvx512(size_t n, const float* a, float scale, float* p, float* d) {
  const __m512 vs = _mm512_set1_ps(scale);
  __m512 vp, vd;
  size_t j = 0;
  for (; j + 16 <= n; j += 16) {
    logistic16(_mm512_loadu_ps(a + j), vs, &vp, &vd);
    _mm512_storeu_ps(p + j, vp);
    _mm512_storeu_ps(d + j, vd);
  }
  if (j < n) {
    const __mmask16 m = tailMask(n - j);
    logistic16(_mm512_maskz_loadu_ps(m, a + j), vs, &vp, &vd);
    _mm512_mask_storeu_ps(p + j, m, vp);
    _mm512_mask_storeu_ps(d + j, m, vd);
  }
}

// E = e^{−y}, D = 1 − e^{−y} for y = mag·w: a Taylor series (degree 9) where |y| < 0.5, where 1 − e^{−y} would
// cancel.
SBN_AVX512 inline void prepW16(__m512 vw, __m512 mag, __m512* E, __m512* D) {
  const __m512 y = _mm512_mul_ps(mag, vw);
  const __m512 e = expF(xorPs(y, _mm512_set1_ps(-0.0f)));
  __m512 p = _mm512_set1_ps(1.0f / 362880.0f);
  p = _mm512_fmadd_ps(p, y, _mm512_set1_ps(-1.0f / 40320.0f));
  p = _mm512_fmadd_ps(p, y, _mm512_set1_ps(1.0f / 5040.0f));
  p = _mm512_fmadd_ps(p, y, _mm512_set1_ps(-1.0f / 720.0f));
  p = _mm512_fmadd_ps(p, y, _mm512_set1_ps(1.0f / 120.0f));
  p = _mm512_fmadd_ps(p, y, _mm512_set1_ps(-1.0f / 24.0f));
  p = _mm512_fmadd_ps(p, y, _mm512_set1_ps(1.0f / 6.0f));
  p = _mm512_fmadd_ps(p, y, _mm512_set1_ps(-0.5f));
  p = _mm512_fmadd_ps(p, y, _mm512_set1_ps(1.0f));
  const __m512 small = _mm512_mul_ps(p, y);
  const __m512 large = _mm512_sub_ps(_mm512_set1_ps(1.0f), e);
  *E = e;
  *D = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(_mm512_abs_ps(y), _mm512_set1_ps(0.5f), _CMP_LT_OQ), large, small);
}

SBN_AVX512 float prepWAvx512(size_t n, const float* w, float mag, float* E, float* D) {
  const __m512 vm = _mm512_set1_ps(mag);
  __m512 vE, vD;
  __m512 wMax = _mm512_setzero_ps();
  size_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m512 vw = _mm512_loadu_ps(w + j);
    prepW16(vw, vm, &vE, &vD);
    _mm512_storeu_ps(E + j, vE);
    _mm512_storeu_ps(D + j, vD);
    wMax = _mm512_max_ps(wMax, _mm512_abs_ps(vw));
  }
  if (j < n) {
    const __mmask16 m = tailMask(n - j);
    const __m512 vw = _mm512_maskz_loadu_ps(m, w + j);
    prepW16(vw, vm, &vE, &vD);
    _mm512_mask_storeu_ps(E + j, m, vE);
    _mm512_mask_storeu_ps(D + j, m, vD);
    wMax = _mm512_max_ps(wMax, _mm512_abs_ps(vw));  // masked lanes are 0
  }
  return _mm512_reduce_max_ps(wMax);
}

// ---- ratio form ----

SBN_AVX512 inline __m512 stepRatio(__m512 vP, __m512 vG, __m512 vE, __m512 vD, __m512 acc) {
  const __m512 den = _mm512_fmadd_ps(vP, vE, _mm512_set1_ps(1.0f));
  return _mm512_fmadd_ps(_mm512_mul_ps(vG, recip14(den)), vD, acc);
}

// δ < 0 with A and Gp: Gm·D/(1 + A⁻¹·E) = −Gp·D/(A + E) — the same rows as δ > 0 reads, so a row's factors serve
// both signs' calls from L1 (the sign is applied to the sum).
SBN_AVX512 inline __m512 stepRatioNeg(__m512 vA, __m512 vgp, __m512 vE, __m512 vD, __m512 acc) {
  return _mm512_fmadd_ps(_mm512_mul_ps(vgp, recip14(_mm512_add_ps(vA, vE))), vD, acc);
}

// Two vectors of outputs (j and j + 16) through one reciprocal: G₁D₁/d₁ + G₂D₂/d₂ = (G₁D₁·d₂ + G₂D₂·d₁)/(d₁d₂). The
// reciprocal (rcp14, ~2 cycles a vector here, and its Newton step) is most of a connection's cost: one per two
// vectors takes 10 operations and a reciprocal for two instead of 12 and two (1.17× on L1 data). d₁d₂ stays a normal
// float because the ratio form's rows keep |a| + |δw| ≤ kRatioLimit = 40: d = 1 + A·E ∈ [1, 1 + e^40] and
// d = A + E ∈ [2e^{−40}, 2e^{40}]. Each sum's error is a few ulp of |G₁D₁/d₁| + |G₂D₂/d₂|, as adding the two terms.
SBN_AVX512 inline __m512 twoTerms(__m512 d1, __m512 d2, __m512 vG1, __m512 vD1, __m512 vG2, __m512 vD2, __m512 acc) {
  const __m512 num = _mm512_fmadd_ps(_mm512_mul_ps(vG1, vD1), d2, _mm512_mul_ps(_mm512_mul_ps(vG2, vD2), d1));
  return _mm512_fmadd_ps(num, recip14(_mm512_mul_ps(d1, d2)), acc);
}

// stepRatio for the outputs j and j + 16 (P₁, G₁, E₁, D₁ at j; P₂, G₂, E₂, D₂ at j + 16).
SBN_AVX512 inline __m512 stepRatio2(__m512 vP1, __m512 vG1, __m512 vE1, __m512 vD1, __m512 vP2, __m512 vG2,
                                    __m512 vE2, __m512 vD2, __m512 acc) {
  const __m512 one = _mm512_set1_ps(1.0f);
  return twoTerms(_mm512_fmadd_ps(vP1, vE1, one), _mm512_fmadd_ps(vP2, vE2, one), vG1, vD1, vG2, vD2, acc);
}

// stepRatioNeg for the outputs j and j + 16.
SBN_AVX512 inline __m512 stepRatioNeg2(__m512 vA1, __m512 vgp1, __m512 vE1, __m512 vD1, __m512 vA2, __m512 vgp2,
                                       __m512 vE2, __m512 vD2, __m512 acc) {
  return twoTerms(_mm512_add_ps(vA1, vE1), _mm512_add_ps(vA2, vE2), vgp1, vD1, vgp2, vD2, acc);
}

template <bool Mixed, int R>
SBN_AVX512 void dotRatioR(const DotArgs& x, int k0, float* out) {
  __m512 acc[R];
  for (int k = 0; k < R; k++) acc[k] = _mm512_setzero_ps();
  __mmask16 neg[R];  // all set where delta[k0 + k] < 0
  for (int k = 0; k < R; k++) neg[k] = x.delta[k0 + k] < 0.0f ? 0xFFFF : 0;
  const bool allNeg = x.sign < 0;
  const int n = x.n;
  for (int t = 0; t < x.T; t++) {
    const float* P = x.A + x.outTap[t];
    const float* G = x.gp + x.outTap[t];
    const float* Pn = x.Ainv + x.outTap[t];
    const float* Gn = x.gm + x.outTap[t];
    const float* E[R];
    const float* D[R];
    rowsAtTap<R>(x.E, k0, x.tableTap[t], E);
    rowsAtTap<R>(x.D, k0, x.tableTap[t], D);
    int j = 0;
    for (; j + 32 <= n; j += 32) {
      const __m512 vP1 = _mm512_loadu_ps(P + j), vP2 = _mm512_loadu_ps(P + j + 16);
      const __m512 vG1 = _mm512_loadu_ps(G + j), vG2 = _mm512_loadu_ps(G + j + 16);
      if (Mixed) {
        const __m512 vPn1 = _mm512_loadu_ps(Pn + j), vPn2 = _mm512_loadu_ps(Pn + j + 16);
        const __m512 vGn1 = _mm512_loadu_ps(Gn + j), vGn2 = _mm512_loadu_ps(Gn + j + 16);
        for (int k = 0; k < R; k++) {
          acc[k] = stepRatio2(_mm512_mask_blend_ps(neg[k], vP1, vPn1), _mm512_mask_blend_ps(neg[k], vG1, vGn1),
                              _mm512_loadu_ps(E[k] + j), _mm512_loadu_ps(D[k] + j),
                              _mm512_mask_blend_ps(neg[k], vP2, vPn2), _mm512_mask_blend_ps(neg[k], vG2, vGn2),
                              _mm512_loadu_ps(E[k] + j + 16), _mm512_loadu_ps(D[k] + j + 16), acc[k]);
        }
      } else if (allNeg) {
        for (int k = 0; k < R; k++) {
          acc[k] = stepRatioNeg2(vP1, vG1, _mm512_loadu_ps(E[k] + j), _mm512_loadu_ps(D[k] + j), vP2, vG2,
                                 _mm512_loadu_ps(E[k] + j + 16), _mm512_loadu_ps(D[k] + j + 16), acc[k]);
        }
      } else {
        for (int k = 0; k < R; k++) {
          acc[k] = stepRatio2(vP1, vG1, _mm512_loadu_ps(E[k] + j), _mm512_loadu_ps(D[k] + j), vP2, vG2,
                              _mm512_loadu_ps(E[k] + j + 16), _mm512_loadu_ps(D[k] + j + 16), acc[k]);
        }
      }
    }
    if (j + 16 <= n) {  // an odd vector: one reciprocal for it alone
      const __m512 vP = _mm512_loadu_ps(P + j);
      const __m512 vG = _mm512_loadu_ps(G + j);
      if (Mixed) {
        const __m512 vPn = _mm512_loadu_ps(Pn + j);
        const __m512 vGn = _mm512_loadu_ps(Gn + j);
        for (int k = 0; k < R; k++) {
          acc[k] = stepRatio(_mm512_mask_blend_ps(neg[k], vP, vPn), _mm512_mask_blend_ps(neg[k], vG, vGn), _mm512_loadu_ps(E[k] + j), _mm512_loadu_ps(D[k] + j), acc[k]);
        }
      } else if (allNeg) {
        for (int k = 0; k < R; k++) acc[k] = stepRatioNeg(vP, vG, _mm512_loadu_ps(E[k] + j), _mm512_loadu_ps(D[k] + j), acc[k]);
      } else {
        for (int k = 0; k < R; k++) acc[k] = stepRatio(vP, vG, _mm512_loadu_ps(E[k] + j), _mm512_loadu_ps(D[k] + j), acc[k]);
      }
      j += 16;
    }
    if (j < n) {
      // masked lanes load as 0 and contribute exactly 0 (G = 0, D = 0, 1 + P·0 = 1)
      const __mmask16 m = tailMask(static_cast<size_t>(n - j));
      const __m512 vP = _mm512_maskz_loadu_ps(m, P + j);
      const __m512 vG = _mm512_maskz_loadu_ps(m, G + j);
      const __m512 vPn = _mm512_maskz_loadu_ps(m, Pn + j);
      const __m512 vGn = _mm512_maskz_loadu_ps(m, Gn + j);
      for (int k = 0; k < R; k++) {
        const __m512 p = Mixed ? _mm512_mask_blend_ps(neg[k], vP, vPn) : vP;
        const __m512 g = Mixed ? _mm512_mask_blend_ps(neg[k], vG, vGn) : vG;
        if (!Mixed && allNeg) {
          // 0 + 0 would make the reciprocal ∞: masked lanes read E = 1
          acc[k] = stepRatioNeg(vP, vG, _mm512_mask_loadu_ps(_mm512_set1_ps(1.0f), m, E[k] + j), _mm512_maskz_loadu_ps(m, D[k] + j), acc[k]);
        } else {
          acc[k] = stepRatio(p, g, _mm512_maskz_loadu_ps(m, E[k] + j), _mm512_maskz_loadu_ps(m, D[k] + j), acc[k]);
        }
      }
    }
  }
  for (int k = 0; k < R; k++) out[k0 + k] += !Mixed && allNeg ? -hsum(acc[k]) : hsum(acc[k]);
}

// One pixel's term with its sign fixed at compile time (Neg: stepRatioNeg, the sum negated at the end).
template <bool Neg>
SBN_AVX512 inline __m512 stepSigned(__m512 vP, __m512 vG, __m512 vE, __m512 vD, __m512 acc) {
  return Neg ? stepRatioNeg(vP, vG, vE, vD, acc) : stepRatio(vP, vG, vE, vD, acc);
}
template <bool Neg>
SBN_AVX512 inline __m512 stepSigned2(__m512 vP1, __m512 vG1, __m512 vE1, __m512 vD1, __m512 vP2, __m512 vG2,
                                     __m512 vE2, __m512 vD2, __m512 acc) {
  return Neg ? stepRatioNeg2(vP1, vG1, vE1, vD1, vP2, vG2, vE2, vD2, acc)
             : stepRatio2(vP1, vG1, vE1, vD1, vP2, vG2, vE2, vD2, acc);
}

// Two pixels through the same tables: per pixel, the operations and their order are dotRatioR<false, R>'s.
template <bool Neg1, bool Neg2, int R>
SBN_AVX512 void dotRatioPairR(const DotArgs& x, float* out, float* out2) {
  __m512 acc1[R], acc2[R];
  for (int k = 0; k < R; k++) acc1[k] = acc2[k] = _mm512_setzero_ps();
  const int n = x.n;
  // one base per input and per tap, everything else an index from it: the pair's 8 inputs would otherwise need
  // 16 table pointers and 4 factor pointers live in the loop, more than x86's general registers
  const ptrdiff_t dOff = x.D[0] - x.E[0];  // runPair: every input's D lies dOff after its E
  const ptrdiff_t gOff = x.gp - x.A;
  const ptrdiff_t pOff = static_cast<ptrdiff_t>(x.pairOffset);
  for (int t = 0; t < x.T; t++) {
    const float* P1 = x.A + x.outTap[t];
    const float* E[R];
    rowsAtTap<R>(x.E, 0, x.tableTap[t], E);
    int j = 0;
    for (; j + 32 <= n; j += 32) {
      const __m512 vP1 = _mm512_loadu_ps(P1 + j), vP1b = _mm512_loadu_ps(P1 + j + 16);
      const __m512 vG1 = _mm512_loadu_ps(P1 + gOff + j), vG1b = _mm512_loadu_ps(P1 + gOff + j + 16);
      const __m512 vP2 = _mm512_loadu_ps(P1 + pOff + j), vP2b = _mm512_loadu_ps(P1 + pOff + j + 16);
      const __m512 vG2 = _mm512_loadu_ps(P1 + pOff + gOff + j), vG2b = _mm512_loadu_ps(P1 + pOff + gOff + j + 16);
      for (int k = 0; k < R; k++) {
        const __m512 vE = _mm512_loadu_ps(E[k] + j), vEb = _mm512_loadu_ps(E[k] + j + 16);
        const __m512 vD = _mm512_loadu_ps(E[k] + dOff + j), vDb = _mm512_loadu_ps(E[k] + dOff + j + 16);
        acc1[k] = stepSigned2<Neg1>(vP1, vG1, vE, vD, vP1b, vG1b, vEb, vDb, acc1[k]);
        acc2[k] = stepSigned2<Neg2>(vP2, vG2, vE, vD, vP2b, vG2b, vEb, vDb, acc2[k]);
      }
    }
    if (j + 16 <= n) {
      const __m512 vP1 = _mm512_loadu_ps(P1 + j);
      const __m512 vG1 = _mm512_loadu_ps(P1 + gOff + j);
      const __m512 vP2 = _mm512_loadu_ps(P1 + pOff + j);
      const __m512 vG2 = _mm512_loadu_ps(P1 + pOff + gOff + j);
      for (int k = 0; k < R; k++) {
        const __m512 vE = _mm512_loadu_ps(E[k] + j);
        const __m512 vD = _mm512_loadu_ps(E[k] + dOff + j);
        acc1[k] = stepSigned<Neg1>(vP1, vG1, vE, vD, acc1[k]);
        acc2[k] = stepSigned<Neg2>(vP2, vG2, vE, vD, acc2[k]);
      }
      j += 16;
    }
    if (j < n) {
      // as dotRatioR's tail: masked lanes contribute exactly 0 (a negative pixel reads E = 1 there)
      const __mmask16 m = tailMask(static_cast<size_t>(n - j));
      const __m512 vP1 = _mm512_maskz_loadu_ps(m, P1 + j);
      const __m512 vG1 = _mm512_maskz_loadu_ps(m, P1 + gOff + j);
      const __m512 vP2 = _mm512_maskz_loadu_ps(m, P1 + pOff + j);
      const __m512 vG2 = _mm512_maskz_loadu_ps(m, P1 + pOff + gOff + j);
      for (int k = 0; k < R; k++) {
        const __m512 vE0 = _mm512_maskz_loadu_ps(m, E[k] + j);
        const __m512 vE1 = _mm512_mask_loadu_ps(_mm512_set1_ps(1.0f), m, E[k] + j);
        const __m512 vD = _mm512_maskz_loadu_ps(m, E[k] + dOff + j);
        acc1[k] = stepSigned<Neg1>(vP1, vG1, Neg1 ? vE1 : vE0, vD, acc1[k]);
        acc2[k] = stepSigned<Neg2>(vP2, vG2, Neg2 ? vE1 : vE0, vD, acc2[k]);
      }
    }
  }
  for (int k = 0; k < R; k++) {
    out[k] += Neg1 ? -hsum(acc1[k]) : hsum(acc1[k]);
    out2[k] += Neg2 ? -hsum(acc2[k]) : hsum(acc2[k]);
  }
}

// One pixel, each input with its own sign (bit k of Mask: δ_k < 0): per input the operations and their order are
// dotRatioR<false, R>'s with sign ±1, so out[k] is bit for bit what a one-sign call would add.
template <unsigned Mask, int R>
SBN_AVX512 void dotRatioSignsR(const DotArgs& x, float* out) {
  __m512 acc[R];
  for (int k = 0; k < R; k++) acc[k] = _mm512_setzero_ps();
  const int n = x.n;
  for (int t = 0; t < x.T; t++) {
    const float* P = x.A + x.outTap[t];
    const float* G = x.gp + x.outTap[t];
    const float* E[R];
    const float* D[R];
    rowsAtTap<R>(x.E, 0, x.tableTap[t], E);
    rowsAtTap<R>(x.D, 0, x.tableTap[t], D);
    int j = 0;
    for (; j + 32 <= n; j += 32) {
      const __m512 vP1 = _mm512_loadu_ps(P + j), vP2 = _mm512_loadu_ps(P + j + 16);
      const __m512 vG1 = _mm512_loadu_ps(G + j), vG2 = _mm512_loadu_ps(G + j + 16);
      for (int k = 0; k < R; k++) {
        const __m512 vE1 = _mm512_loadu_ps(E[k] + j), vD1 = _mm512_loadu_ps(D[k] + j);
        const __m512 vE2 = _mm512_loadu_ps(E[k] + j + 16), vD2 = _mm512_loadu_ps(D[k] + j + 16);
        acc[k] = (Mask >> k) & 1u ? stepRatioNeg2(vP1, vG1, vE1, vD1, vP2, vG2, vE2, vD2, acc[k])
                                  : stepRatio2(vP1, vG1, vE1, vD1, vP2, vG2, vE2, vD2, acc[k]);
      }
    }
    if (j + 16 <= n) {
      const __m512 vP = _mm512_loadu_ps(P + j);
      const __m512 vG = _mm512_loadu_ps(G + j);
      for (int k = 0; k < R; k++) {
        const __m512 vE = _mm512_loadu_ps(E[k] + j), vD = _mm512_loadu_ps(D[k] + j);
        acc[k] = (Mask >> k) & 1u ? stepRatioNeg(vP, vG, vE, vD, acc[k]) : stepRatio(vP, vG, vE, vD, acc[k]);
      }
      j += 16;
    }
    if (j < n) {
      const __mmask16 m = tailMask(static_cast<size_t>(n - j));
      const __m512 vP = _mm512_maskz_loadu_ps(m, P + j);
      const __m512 vG = _mm512_maskz_loadu_ps(m, G + j);
      for (int k = 0; k < R; k++) {
        const __m512 vD = _mm512_maskz_loadu_ps(m, D[k] + j);
        acc[k] = (Mask >> k) & 1u
                     ? stepRatioNeg(vP, vG, _mm512_mask_loadu_ps(_mm512_set1_ps(1.0f), m, E[k] + j), vD, acc[k])
                     : stepRatio(vP, vG, _mm512_maskz_loadu_ps(m, E[k] + j), vD, acc[k]);
      }
    }
  }
  for (int k = 0; k < R; k++) out[k] += (Mask >> k) & 1u ? -hsum(acc[k]) : hsum(acc[k]);
}

template <int R, unsigned... Masks>
SBN_AVX512 void dotRatioSignsOf(const DotArgs& x, float* out) {
  static constexpr DotSignsFn kByMask[] = {dotRatioSignsR<Masks, R>...};
  kByMask[x.negMask](x, out);
}

SBN_AVX512 void dotRatioSignsAvx512(const DotArgs& x, float* out) {
  switch (x.R) {
    case 4: dotRatioSignsOf<4, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15>(x, out); break;
    case 3: dotRatioSignsOf<3, 0, 1, 2, 3, 4, 5, 6, 7>(x, out); break;
    case 2: dotRatioSignsOf<2, 0, 1, 2, 3>(x, out); break;
    default: dotRatioSignsOf<1, 0, 1>(x, out); break;
  }
}

template <bool Neg1, bool Neg2>
SBN_AVX512 void dotRatioPairSigned(const DotArgs& x, float* out, float* out2) {
  switch (x.R) {
    case 8: dotRatioPairR<Neg1, Neg2, 8>(x, out, out2); break;
    case 7: dotRatioPairR<Neg1, Neg2, 7>(x, out, out2); break;
    case 6: dotRatioPairR<Neg1, Neg2, 6>(x, out, out2); break;
    case 5: dotRatioPairR<Neg1, Neg2, 5>(x, out, out2); break;
    case 4: dotRatioPairR<Neg1, Neg2, 4>(x, out, out2); break;
    case 3: dotRatioPairR<Neg1, Neg2, 3>(x, out, out2); break;
    case 2: dotRatioPairR<Neg1, Neg2, 2>(x, out, out2); break;
    default: dotRatioPairR<Neg1, Neg2, 1>(x, out, out2); break;
  }
}

SBN_AVX512 void dotRatioPairAvx512(const DotArgs& x, float* out, float* out2) {
  if (x.sign < 0) {
    (x.sign2 < 0 ? dotRatioPairSigned<true, true> : dotRatioPairSigned<true, false>)(x, out, out2);
  } else {
    (x.sign2 < 0 ? dotRatioPairSigned<false, true> : dotRatioPairSigned<false, false>)(x, out, out2);
  }
}

SBN_AVX512 void dotRatioAvx512(const DotArgs& x, float* out) {
  if (x.sign != 0) {
    switch (x.R) {
      case 8: dotRatioR<false, 8>(x, 0, out); break;
      case 7: dotRatioR<false, 7>(x, 0, out); break;
      case 6: dotRatioR<false, 6>(x, 0, out); break;
      case 5: dotRatioR<false, 5>(x, 0, out); break;
      case 4: dotRatioR<false, 4>(x, 0, out); break;
      case 3: dotRatioR<false, 3>(x, 0, out); break;
      case 2: dotRatioR<false, 2>(x, 0, out); break;
      default: dotRatioR<false, 1>(x, 0, out); break;
    }
    return;
  }
  // mixed signs: 4 inputs at a time (8 would take every mask register)
  for (int k0 = 0; k0 < x.R; k0 += 4) {
    switch (std::min(4, x.R - k0)) {
      case 4: dotRatioR<true, 4>(x, k0, out); break;
      case 3: dotRatioR<true, 3>(x, k0, out); break;
      case 2: dotRatioR<true, 2>(x, k0, out); break;
      default: dotRatioR<true, 1>(x, k0, out); break;
    }
  }
}

// ---- exp form ----

SBN_AVX512 inline __m512 stepExp(__m512 va, __m512 vgp, __m512 vgm, __m512 vw, __m512 vd, __m512 delta, __m512 acc) {
  const __m512 signMask = _mm512_set1_ps(-0.0f);
  const __m512 t = _mm512_mul_ps(vw, delta);
  const __m512 u = _mm512_add_ps(va, t);
  const __m512 e = expF(orPs(u, signMask));  // e^{−|u|}
  const __m512 r = recip14(_mm512_add_ps(e, _mm512_set1_ps(1.0f)));
  const __m512 s = _mm512_mask_blend_ps(signBits(xorPs(t, u)), r, _mm512_mul_ps(e, r));
  const __m512 G = _mm512_mask_blend_ps(signBits(t), vgp, vgm);
  return _mm512_fmadd_ps(_mm512_mul_ps(G, s), vd, acc);
}

template <int R>
SBN_AVX512 void dotExpR(const DotArgs& x, int k0, float* out) {
  __m512 acc[R];
  __m512 dl[R];
  for (int k = 0; k < R; k++) {
    acc[k] = _mm512_setzero_ps();
    dl[k] = _mm512_set1_ps(x.delta[k0 + k]);
  }
  const int n = x.n;
  for (int t = 0; t < x.T; t++) {
    const float* a = x.a + x.outTap[t];
    const float* gp = x.gp + x.outTap[t];
    const float* gm = x.gm + x.outTap[t];
    const float* w[R];
    const float* d[R];
    rowsAtTap<R>(x.w, k0, x.weightTap[t], w);
    rowsAtTap<R>(x.d, k0, x.tableTap[t], d);
    int j = 0;
    for (; j + 16 <= n; j += 16) {
      const __m512 va = _mm512_loadu_ps(a + j);
      const __m512 vgp = _mm512_loadu_ps(gp + j);
      const __m512 vgm = _mm512_loadu_ps(gm + j);
      for (int k = 0; k < R; k++) {
        acc[k] = stepExp(va, vgp, vgm, _mm512_loadu_ps(w[k] + j), _mm512_loadu_ps(d[k] + j), dl[k], acc[k]);
      }
    }
    if (j < n) {
      // masked lanes load as 0 and contribute exactly 0 (G = 0, d = 0, everything finite)
      const __mmask16 m = tailMask(static_cast<size_t>(n - j));
      const __m512 va = _mm512_maskz_loadu_ps(m, a + j);
      const __m512 vgp = _mm512_maskz_loadu_ps(m, gp + j);
      const __m512 vgm = _mm512_maskz_loadu_ps(m, gm + j);
      for (int k = 0; k < R; k++) {
        acc[k] = stepExp(va, vgp, vgm, _mm512_maskz_loadu_ps(m, w[k] + j), _mm512_maskz_loadu_ps(m, d[k] + j), dl[k], acc[k]);
      }
    }
  }
  for (int k = 0; k < R; k++) out[k0 + k] += hsum(acc[k]);
}

// The exp form needs more registers per input: at most 4 inputs at a time.
SBN_AVX512 void dotExpAvx512(const DotArgs& x, float* out) {
  for (int k0 = 0; k0 < x.R; k0 += 4) {
    switch (std::min(4, x.R - k0)) {
      case 4: dotExpR<4>(x, k0, out); break;
      case 3: dotExpR<3>(x, k0, out); break;
      case 2: dotExpR<2>(x, k0, out); break;
      default: dotExpR<1>(x, k0, out); break;
    }
  }
}

SBN_AVX512 float expBenchAvx512(size_t n, const float* x, const float* y, int reps, bool ratio) {
  const __m512 signMask = _mm512_set1_ps(-0.0f);
  const __m512 one = _mm512_set1_ps(1.0f);
  __m512 acc0 = _mm512_setzero_ps();
  __m512 acc1 = _mm512_setzero_ps();
  for (int r = 0; r < reps; r++) {
    for (size_t j = 0; j + 32 <= n; j += 32) {
      __m512 d0, d1;
      if (ratio) {
        d0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + j), _mm512_loadu_ps(y + j), one);
        d1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + j + 16), _mm512_loadu_ps(y + j + 16), one);
      } else {
        d0 = _mm512_add_ps(one, expF(orPs(_mm512_loadu_ps(x + j), signMask)));
        d1 = _mm512_add_ps(one, expF(orPs(_mm512_loadu_ps(x + j + 16), signMask)));
      }
      acc0 = _mm512_add_ps(acc0, recip14(d0));
      acc1 = _mm512_add_ps(acc1, recip14(d1));
    }
  }
  return hsum(_mm512_add_ps(acc0, acc1));
}

const Isa kAvx512 = {"avx512", 16, prepOutAvx512, prepWAvx512, logisticAvx512, dotRatioAvx512, dotExpAvx512, expBenchAvx512,
                      dotRatioPairAvx512, dotRatioSignsAvx512};

}  // namespace

const Isa* isaAvx512() { return &kAvx512; }

}  // namespace sbn

#else

namespace sbn {
const Isa* isaAvx512() { return nullptr; }
}  // namespace sbn

#endif
