// AVX2 + FMA path, 8 lanes. Compiled without -mavx2: only the functions below carry the target attribute, so
// the addon loads on any x86-64 and this code runs only after the CPU check in runtime.cc.
#include <algorithm>

#include "kernels.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define SBN_AVX2 __attribute__((target("avx2,fma")))

namespace sbn {
namespace {

// e^x (Cephes expf: Cody–Waite reduction by ln 2, degree-5 minimax polynomial, about 1 ulp).
// Clamped to [−87.3, 88] so that the result stays a finite normal float (≈1.3e-38 instead of 0: below every
// tolerance; e^{88} instead of ∞ where only the exp form's d = 1 − 1/e^{y} ≈ 1 reads it).
SBN_AVX2 inline __m256 expF(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.0f));
  const __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
  const __m256 z = _mm256_mul_ps(x, x);
  __m256 y = _mm256_set1_ps(1.9875691500e-4f);
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507e-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073e-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894e-2f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459e-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201e-1f));
  y = _mm256_fmadd_ps(y, z, x);
  y = _mm256_add_ps(y, _mm256_set1_ps(1.0f));
  const __m256i n = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(n));
}

// 1/x for a normal x > 0 (up to e^{81} here): the 12-bit estimate and one Newton step (≈2 ulp).
SBN_AVX2 inline __m256 recip12(__m256 x) {
  const __m256 r0 = _mm256_rcp_ps(x);
  const __m256 e = _mm256_fnmadd_ps(x, r0, _mm256_set1_ps(1.0f));
  return _mm256_fmadd_ps(r0, e, r0);
}

SBN_AVX2 inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

alignas(32) const int kTailMask[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

SBN_AVX2 inline __m256i tailMask(size_t rem) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kTailMask + 8 - rem));
}

// ---- per-output and per-weight factors ----

SBN_AVX2 inline void prepOut8(__m256 va, __m256 vg, __m256* A, __m256* Ainv, __m256* gp, __m256* gm) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 e = expF(_mm256_or_ps(va, _mm256_set1_ps(-0.0f)));  // e^{−|a|} ≥ 1.3e-38
  const __m256 r = _mm256_div_ps(one, _mm256_add_ps(one, e));        // σ(|a|)
  const __m256 er = _mm256_mul_ps(e, r);                             // σ(−|a|)
  // blendv(x, y, a): y where a is negative
  const __m256 inv = _mm256_div_ps(one, e);                          // e^{|a|}
  *A = _mm256_blendv_ps(e, inv, va);
  *Ainv = _mm256_blendv_ps(inv, e, va);
  *gp = _mm256_mul_ps(vg, _mm256_blendv_ps(er, r, va));
  *gm = _mm256_mul_ps(_mm256_xor_ps(vg, _mm256_set1_ps(-0.0f)), _mm256_blendv_ps(r, er, va));
}

SBN_AVX2 void prepOutAvx2(size_t n, const float* a, const float* g, float* A, float* Ainv, float* gp, float* gm) {
  __m256 vA, vAi, vgp, vgm;
  size_t j = 0;
  for (; j + 8 <= n; j += 8) {
    prepOut8(_mm256_loadu_ps(a + j), _mm256_loadu_ps(g + j), &vA, &vAi, &vgp, &vgm);
    _mm256_storeu_ps(A + j, vA);
    _mm256_storeu_ps(Ainv + j, vAi);
    _mm256_storeu_ps(gp + j, vgp);
    _mm256_storeu_ps(gm + j, vgm);
  }
  if (j < n) {
    const __m256i m = tailMask(n - j);
    prepOut8(_mm256_maskload_ps(a + j, m), _mm256_maskload_ps(g + j, m), &vA, &vAi, &vgp, &vgm);
    _mm256_maskstore_ps(A + j, m, vA);
    _mm256_maskstore_ps(Ainv + j, m, vAi);
    _mm256_maskstore_ps(gp + j, m, vgp);
    _mm256_maskstore_ps(gm + j, m, vgm);
  }
}

SBN_AVX2 inline void logistic8(__m256 t, __m256 scale, __m256* p, __m256* d) {
  const __m256 one = _mm256_set1_ps(1.0f);
  __m256 s = _mm256_div_ps(one, _mm256_add_ps(one, expF(_mm256_xor_ps(t, _mm256_set1_ps(-0.0f)))));
  s = _mm256_blendv_ps(s, _mm256_setzero_ps(), _mm256_cmp_ps(t, _mm256_set1_ps(-88.0f), _CMP_LT_OQ));
  s = _mm256_blendv_ps(s, t, _mm256_cmp_ps(t, t, _CMP_UNORD_Q));
  *p = s;
  *d = _mm256_mul_ps(_mm256_mul_ps(s, _mm256_sub_ps(one, s)), scale);
}

SBN_AVX2 void logisticAvx2(size_t n, const float* a, float scale, float* p, float* d) {
  const __m256 vs = _mm256_set1_ps(scale);
  __m256 vp, vd;
  size_t j = 0;
  for (; j + 8 <= n; j += 8) {
    logistic8(_mm256_loadu_ps(a + j), vs, &vp, &vd);
    _mm256_storeu_ps(p + j, vp);
    _mm256_storeu_ps(d + j, vd);
  }
  if (j < n) {
    const __m256i m = tailMask(n - j);
    logistic8(_mm256_maskload_ps(a + j, m), vs, &vp, &vd);
    _mm256_maskstore_ps(p + j, m, vp);
    _mm256_maskstore_ps(d + j, m, vd);
  }
}

// E = e^{−y}, D = 1 − e^{−y} for y = mag·w: a Taylor series (degree 9) where |y| < 0.5, where 1 − e^{−y} would
// cancel.
SBN_AVX2 inline void prepW8(__m256 vw, __m256 mag, __m256* E, __m256* D) {
  const __m256 y = _mm256_mul_ps(mag, vw);
  const __m256 e = expF(_mm256_xor_ps(y, _mm256_set1_ps(-0.0f)));
  __m256 p = _mm256_set1_ps(1.0f / 362880.0f);
  p = _mm256_fmadd_ps(p, y, _mm256_set1_ps(-1.0f / 40320.0f));
  p = _mm256_fmadd_ps(p, y, _mm256_set1_ps(1.0f / 5040.0f));
  p = _mm256_fmadd_ps(p, y, _mm256_set1_ps(-1.0f / 720.0f));
  p = _mm256_fmadd_ps(p, y, _mm256_set1_ps(1.0f / 120.0f));
  p = _mm256_fmadd_ps(p, y, _mm256_set1_ps(-1.0f / 24.0f));
  p = _mm256_fmadd_ps(p, y, _mm256_set1_ps(1.0f / 6.0f));
  p = _mm256_fmadd_ps(p, y, _mm256_set1_ps(-0.5f));
  p = _mm256_fmadd_ps(p, y, _mm256_set1_ps(1.0f));
  const __m256 small = _mm256_mul_ps(p, y);
  const __m256 large = _mm256_sub_ps(_mm256_set1_ps(1.0f), e);
  *E = e;
  *D = _mm256_blendv_ps(large, small, _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), y), _mm256_set1_ps(0.5f), _CMP_LT_OQ));
}

SBN_AVX2 float prepWAvx2(size_t n, const float* w, float mag, float* E, float* D) {
  const __m256 vm = _mm256_set1_ps(mag);
  __m256 vE, vD;
  __m256 wMax = _mm256_setzero_ps();
  size_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 vw = _mm256_loadu_ps(w + j);
    prepW8(vw, vm, &vE, &vD);
    _mm256_storeu_ps(E + j, vE);
    _mm256_storeu_ps(D + j, vD);
    wMax = _mm256_max_ps(wMax, _mm256_andnot_ps(_mm256_set1_ps(-0.0f), vw));
  }
  if (j < n) {
    const __m256i m = tailMask(n - j);
    const __m256 vw = _mm256_maskload_ps(w + j, m);
    prepW8(vw, vm, &vE, &vD);
    _mm256_maskstore_ps(E + j, m, vE);
    _mm256_maskstore_ps(D + j, m, vD);
    wMax = _mm256_max_ps(wMax, _mm256_andnot_ps(_mm256_set1_ps(-0.0f), vw));  // masked lanes are 0
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, wMax);
  return *std::max_element(lanes, lanes + 8);
}

// ---- ratio form ----

SBN_AVX2 inline __m256 stepRatio(__m256 vP, __m256 vG, __m256 vE, __m256 vD, __m256 acc) {
  const __m256 den = _mm256_fmadd_ps(vP, vE, _mm256_set1_ps(1.0f));
  return _mm256_fmadd_ps(_mm256_mul_ps(vG, recip12(den)), vD, acc);
}

// δ < 0 with A and Gp: Gm·D/(1 + A⁻¹·E) = −Gp·D/(A + E) — the same rows as δ > 0 reads, so a row's factors serve
// both signs' calls from L1 (the sign is applied to the sum).
SBN_AVX2 inline __m256 stepRatioNeg(__m256 vA, __m256 vgp, __m256 vE, __m256 vD, __m256 acc) {
  return _mm256_fmadd_ps(_mm256_mul_ps(vgp, recip12(_mm256_add_ps(vA, vE))), vD, acc);
}

template <bool Mixed, int R>
SBN_AVX2 void dotRatioR(const DotArgs& x, int k0, float* out) {
  __m256 acc[R];
  for (int k = 0; k < R; k++) acc[k] = _mm256_setzero_ps();
  __m256 neg[R];  // all ones where delta[k0 + k] < 0
  for (int k = 0; k < R; k++) neg[k] = _mm256_castsi256_ps(_mm256_set1_epi32(x.delta[k0 + k] < 0.0f ? -1 : 0));
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
    for (; j + 8 <= n; j += 8) {
      const __m256 vP = _mm256_loadu_ps(P + j);
      const __m256 vG = _mm256_loadu_ps(G + j);
      if (Mixed) {
        const __m256 vPn = _mm256_loadu_ps(Pn + j);
        const __m256 vGn = _mm256_loadu_ps(Gn + j);
        for (int k = 0; k < R; k++) {
          acc[k] = stepRatio(_mm256_blendv_ps(vP, vPn, neg[k]), _mm256_blendv_ps(vG, vGn, neg[k]), _mm256_loadu_ps(E[k] + j), _mm256_loadu_ps(D[k] + j), acc[k]);
        }
      } else if (allNeg) {
        for (int k = 0; k < R; k++) acc[k] = stepRatioNeg(vP, vG, _mm256_loadu_ps(E[k] + j), _mm256_loadu_ps(D[k] + j), acc[k]);
      } else {
        for (int k = 0; k < R; k++) acc[k] = stepRatio(vP, vG, _mm256_loadu_ps(E[k] + j), _mm256_loadu_ps(D[k] + j), acc[k]);
      }
    }
    if (j < n) {
      // masked lanes load as 0 and contribute exactly 0 (G = 0, D = 0, 1 + P·0 = 1)
      const __m256i m = tailMask(static_cast<size_t>(n - j));
      const __m256 vP = _mm256_maskload_ps(P + j, m);
      const __m256 vG = _mm256_maskload_ps(G + j, m);
      const __m256 vPn = _mm256_maskload_ps(Pn + j, m);
      const __m256 vGn = _mm256_maskload_ps(Gn + j, m);
      for (int k = 0; k < R; k++) {
        const __m256 p = Mixed ? _mm256_blendv_ps(vP, vPn, neg[k]) : vP;
        const __m256 g = Mixed ? _mm256_blendv_ps(vG, vGn, neg[k]) : vG;
        if (!Mixed && allNeg) {
          // 0 + 0 would make the reciprocal ∞: masked lanes read E = 1
          acc[k] = stepRatioNeg(vP, vG, _mm256_blendv_ps(_mm256_set1_ps(1.0f), _mm256_maskload_ps(E[k] + j, m), _mm256_castsi256_ps(m)), _mm256_maskload_ps(D[k] + j, m), acc[k]);
        } else {
          acc[k] = stepRatio(p, g, _mm256_maskload_ps(E[k] + j, m), _mm256_maskload_ps(D[k] + j, m), acc[k]);
        }
      }
    }
  }
  for (int k = 0; k < R; k++) out[k0 + k] += !Mixed && allNeg ? -hsum(acc[k]) : hsum(acc[k]);
}

SBN_AVX2 void dotRatioAvx2(const DotArgs& x, float* out) {
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
  // mixed signs: 4 inputs at a time (their masks need registers too)
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

SBN_AVX2 inline __m256 stepExp(__m256 va, __m256 vgp, __m256 vgm, __m256 vw, __m256 vd, __m256 delta, __m256 acc) {
  const __m256 signMask = _mm256_set1_ps(-0.0f);
  const __m256 t = _mm256_mul_ps(vw, delta);
  const __m256 u = _mm256_add_ps(va, t);
  const __m256 e = expF(_mm256_or_ps(u, signMask));  // e^{−|u|}
  const __m256 r = recip12(_mm256_add_ps(e, _mm256_set1_ps(1.0f)));
  const __m256 s = _mm256_blendv_ps(r, _mm256_mul_ps(e, r), _mm256_xor_ps(t, u));
  const __m256 G = _mm256_blendv_ps(vgp, vgm, t);
  return _mm256_fmadd_ps(_mm256_mul_ps(G, s), vd, acc);
}

template <int R>
SBN_AVX2 void dotExpR(const DotArgs& x, int k0, float* out) {
  __m256 acc[R];
  __m256 dl[R];
  for (int k = 0; k < R; k++) {
    acc[k] = _mm256_setzero_ps();
    dl[k] = _mm256_set1_ps(x.delta[k0 + k]);
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
    for (; j + 8 <= n; j += 8) {
      const __m256 va = _mm256_loadu_ps(a + j);
      const __m256 vgp = _mm256_loadu_ps(gp + j);
      const __m256 vgm = _mm256_loadu_ps(gm + j);
      for (int k = 0; k < R; k++) {
        acc[k] = stepExp(va, vgp, vgm, _mm256_loadu_ps(w[k] + j), _mm256_loadu_ps(d[k] + j), dl[k], acc[k]);
      }
    }
    if (j < n) {
      // masked lanes load as 0 and contribute exactly 0 (G = 0, d = 0, everything finite)
      const __m256i m = tailMask(static_cast<size_t>(n - j));
      const __m256 va = _mm256_maskload_ps(a + j, m);
      const __m256 vgp = _mm256_maskload_ps(gp + j, m);
      const __m256 vgm = _mm256_maskload_ps(gm + j, m);
      for (int k = 0; k < R; k++) {
        acc[k] = stepExp(va, vgp, vgm, _mm256_maskload_ps(w[k] + j, m), _mm256_maskload_ps(d[k] + j, m), dl[k], acc[k]);
      }
    }
  }
  for (int k = 0; k < R; k++) out[k0 + k] += hsum(acc[k]);
}

SBN_AVX2 void dotExpAvx2(const DotArgs& x, float* out) {
  for (int k0 = 0; k0 < x.R; k0 += 4) {
    switch (std::min(4, x.R - k0)) {
      case 4: dotExpR<4>(x, k0, out); break;
      case 3: dotExpR<3>(x, k0, out); break;
      case 2: dotExpR<2>(x, k0, out); break;
      default: dotExpR<1>(x, k0, out); break;
    }
  }
}

SBN_AVX2 float expBenchAvx2(size_t n, const float* x, const float* y, int reps, bool ratio) {
  const __m256 signMask = _mm256_set1_ps(-0.0f);
  const __m256 one = _mm256_set1_ps(1.0f);
  __m256 acc0 = _mm256_setzero_ps();
  __m256 acc1 = _mm256_setzero_ps();
  for (int r = 0; r < reps; r++) {
    for (size_t j = 0; j + 16 <= n; j += 16) {
      __m256 d0, d1;
      if (ratio) {
        d0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + j), _mm256_loadu_ps(y + j), one);
        d1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + j + 8), _mm256_loadu_ps(y + j + 8), one);
      } else {
        d0 = _mm256_add_ps(one, expF(_mm256_or_ps(_mm256_loadu_ps(x + j), signMask)));
        d1 = _mm256_add_ps(one, expF(_mm256_or_ps(_mm256_loadu_ps(x + j + 8), signMask)));
      }
      acc0 = _mm256_add_ps(acc0, recip12(d0));
      acc1 = _mm256_add_ps(acc1, recip12(d1));
    }
  }
  return hsum(_mm256_add_ps(acc0, acc1));
}

const Isa kAvx2 = {"avx2", 8, prepOutAvx2, prepWAvx2, logisticAvx2, dotRatioAvx2, dotExpAvx2, expBenchAvx2, nullptr,
                    nullptr};

}  // namespace

const Isa* isaAvx2() { return &kAvx2; }

}  // namespace sbn

#else

namespace sbn {
const Isa* isaAvx2() { return nullptr; }
}  // namespace sbn

#endif
