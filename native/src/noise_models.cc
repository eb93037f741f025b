// The noise models' preparation and sums over connections (noise_models.h).
#include "noise_models.h"

#include <algorithm>
#include <cmath>

#include "runtime.h"

namespace sbn {
namespace {

constexpr double kSqrt1_2 = 0.70710678118654752440;

}  // namespace

Magnitudes scanMagnitudes(const float* shift, size_t n) {
  Magnitudes M;
  for (size_t i = 0; i < n && !M.generic; i++) {
    const float m = std::fabs(shift[i]);
    if (m == 0.0f || M.indexOf(m) >= 0) continue;
    if (M.count < kMaxTables) {
      M.mag[M.count++] = m;
    } else {
      M.generic = true;
    }
  }
  return M;
}

Logistic::Logistic(const Isa* isa_, const float* a_, const float* g, size_t nA, size_t rowLen_, const float* w_,
                   size_t nW, const float* shift, size_t nShift)
    : isa(isa_), a(a_), w(w_), rowLen(rowLen_), A(threadWorkspace().get(Workspace::kA, nA)),
      Ainv(threadWorkspace().get(Workspace::kAinv, nA)), gp(threadWorkspace().get(Workspace::kGp, nA)),
      gm(threadWorkspace().get(Workspace::kGm, nA)), ratioRow(nA / rowLen_),
      mags(scanMagnitudes(shift, nShift)) {
  const size_t rows = nA / rowLen;
  parallelFor(rows, static_cast<double>(nA) * 8, [&](size_t b, size_t e) {
    isa->prepOut((e - b) * rowLen, a + b * rowLen, g + b * rowLen, A + b * rowLen, Ainv + b * rowLen,
                 gp + b * rowLen, gm + b * rowLen);
    for (size_t r = b; r < e; r++) {
      bool ok = true;
      for (size_t j = r * rowLen; j < (r + 1) * rowLen; j++) ok = ok && std::fabs(a[j]) <= kRatioLimit;
      ratioRow[r] = ok;
    }
  });
  if (!mags.generic) {
    for (int k = 0; k < mags.count; k++) {
      q[k] = threadWorkspace().get(Workspace::kTables + 2 * static_cast<size_t>(k), nW);
      d[k] = threadWorkspace().get(Workspace::kTables + 2 * static_cast<size_t>(k) + 1, nW);
      const size_t chunk = 4096;
      parallelFor((nW + chunk - 1) / chunk, static_cast<double>(nW) * 8, [&](size_t b, size_t e) {
        const size_t off = b * chunk;
        isa->prepW(std::min(e * chunk, nW) - off, w + off, mags.mag[k], q[k] + off, d[k] + off);
      });
    }
  }
}

void Logistic::run(int n, int T, const size_t* aOff, const size_t* wOff, int R, const float* delta, float* vals,
                   float* scratch) const {
  DotArgs x;
  x.n = n;
  x.T = T;
  x.R = R;
  for (int k = 0; k < R; k++) x.delta[k] = delta[k];
  bool ratio = true;
  for (int t = 0; t < T; t++) {
    const size_t ao = aOff[t];
    ratio = ratio && ratioRow[ao / rowLen];
    x.a[t] = a + ao;
    x.A[t] = A + ao;
    x.Ainv[t] = Ainv + ao;
    x.gp[t] = gp + ao;
    x.gm[t] = gm + ao;
    for (int k = 0; k < R; k++) {
      const size_t wo = wOff[t * kMaxR + k];
      x.w[t][k] = w + wo;
      if (mags.generic) {
        float* qs = scratch + static_cast<size_t>(2 * (t * kMaxR + k)) * n;
        isa->prepW(static_cast<size_t>(n), w + wo, std::fabs(delta[k]), qs, qs + n);
        x.q[t][k] = qs;
        x.d[t][k] = qs + n;
      } else {
        const int m = mags.indexOf(std::fabs(delta[k]));
        x.q[t][k] = q[m] + wo;
        x.d[t][k] = d[m] + wo;
      }
    }
  }
  (ratio ? isa->dotRatio : isa->dotExp)(x, vals);
}

Normal::Normal(const float* a_, const float* g_, size_t nA, const float* w_) : a(a_), g(g_), w(w_), phi(nA), q(nA) {
  parallelFor(nA, static_cast<double>(nA) * 8, [&](size_t b, size_t e) {
    for (size_t j = b; j < e; j++) {
      phi[j] = 0.5 * std::erfc(-a[j] * kSqrt1_2);
      q[j] = 0.5 * std::erfc(a[j] * kSqrt1_2);
    }
  });
}

void Normal::run(int n, int T, const size_t* aOff, const size_t* wOff, int R, const float* delta, float* vals,
                 float*) const {
  for (int k = 0; k < R; k++) {
    const double dk = delta[k];
    double acc = 0.0;
    for (int t = 0; t < T; t++) {
      const size_t ao = aOff[t];
      const float* ar = a + ao;
      const float* gr = g + ao;
      const float* wk = w + wOff[t * kMaxR + k];
      for (int j = 0; j < n; j++) {
        const double aj = ar[j];
        const double u = aj + static_cast<double>(wk[j]) * dk;
        const double diff = u + aj > 0 ? q[ao + j] - 0.5 * std::erfc(u * kSqrt1_2)
                                       : 0.5 * std::erfc(-u * kSqrt1_2) - phi[ao + j];
        acc += static_cast<double>(gr[j]) * diff;
      }
    }
    vals[k] += static_cast<float>(acc);
  }
}

}  // namespace sbn
