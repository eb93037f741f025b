// Portable path: the same formulas as the vector paths (kernels.h), one connection at a time (no fma: without
// -mfma std::fma is a slow library call).
#include <cmath>
#include <cstring>

#include "kernels.h"

namespace sbn {
namespace {

inline bool signBit(float x) {
  unsigned bits;
  std::memcpy(&bits, &x, sizeof bits);
  return (bits >> 31) != 0;
}

void prepOutScalar(size_t n, const float* a, const float* g, float* A, float* Ainv, float* gp, float* gm) {
  for (size_t j = 0; j < n; j++) {
    const float aj = std::fmax(-87.0f, std::fmin(87.0f, a[j]));
    const float e = std::exp(-std::fabs(aj));  // e^{−|a|}
    const float r = 1.0f / (1.0f + e);
    const bool pos = aj >= 0;
    A[j] = pos ? e : 1.0f / e;
    Ainv[j] = pos ? 1.0f / e : e;
    gp[j] = g[j] * (pos ? e * r : r);    // g·σ(−a)
    gm[j] = -g[j] * (pos ? r : e * r);   // −g·σ(a)
  }
}

float prepWScalar(size_t n, const float* w, float mag, float* E, float* D) {
  float wMax = 0.0f;
  for (size_t j = 0; j < n; j++) {
    const double y = std::fmax(-88.0, std::fmin(87.3, static_cast<double>(mag) * static_cast<double>(w[j])));
    E[j] = static_cast<float>(std::exp(-y));
    D[j] = static_cast<float>(-std::expm1(-y));
    wMax = std::fmax(wMax, std::fabs(w[j]));
  }
  return wMax;
}

void logisticScalar(size_t n, const float* a, float scale, float* p, float* d) {
  for (size_t j = 0; j < n; j++) {
    const float s = 1.0f / (1.0f + std::exp(-a[j]));
    p[j] = s;
    d[j] = s * (1.0f - s) * scale;
  }
}

void dotRatioScalar(const DotArgs& x, float* out) {
  for (int k = 0; k < x.R; k++) {
    const bool neg = x.delta[k] < 0.0f;
    float acc = 0.0f;
    for (int t = 0; t < x.T; t++) {
      const float* P = neg ? (x.Ainv + x.outTap[t]) : (x.A + x.outTap[t]);
      const float* G = neg ? (x.gm + x.outTap[t]) : (x.gp + x.outTap[t]);
      const float* Ek = x.E[k] + x.tableTap[t];
      const float* Dk = x.D[k] + x.tableTap[t];
      for (int j = 0; j < x.n; j++) acc += G[j] * (1.0f / (P[j] * Ek[j] + 1.0f)) * Dk[j];
    }
    out[k] += acc;
  }
}

void dotExpScalar(const DotArgs& x, float* out) {
  for (int k = 0; k < x.R; k++) {
    const float dk = x.delta[k];
    float acc = 0.0f;
    for (int t = 0; t < x.T; t++) {
      const float* wk = x.w[k] + x.weightTap[t];
      const float* Dk = x.d[k] + x.tableTap[t];
      const float* a = x.a + x.outTap[t];
      for (int j = 0; j < x.n; j++) {
        const float tt = wk[j] * dk;
        const float u = a[j] + tt;
        const float e = std::exp(-std::fabs(u));
        const float r = 1.0f / (1.0f + e);
        const float s = signBit(tt) == signBit(u) ? r : e * r;
        acc += (signBit(tt) ? x.gm[x.outTap[t] + j] : x.gp[x.outTap[t] + j]) * s * Dk[j];
      }
    }
    out[k] += acc;
  }
}

float expBenchScalar(size_t n, const float* x, const float* y, int reps, bool ratio) {
  float acc = 0.0f;
  for (int r = 0; r < reps; r++) {
    if (ratio) {
      for (size_t j = 0; j < n; j++) acc += 1.0f / (1.0f + x[j] * y[j]);
    } else {
      for (size_t j = 0; j < n; j++) acc += 1.0f / (1.0f + std::exp(-std::fabs(x[j])));
    }
  }
  return acc;
}

const Isa kScalar = {"scalar", 1, prepOutScalar, prepWScalar, logisticScalar, dotRatioScalar, dotExpScalar, expBenchScalar, nullptr,
                      nullptr};

}  // namespace

const Isa* isaScalar() { return &kScalar; }

}  // namespace sbn
