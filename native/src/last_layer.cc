// PSA's last layer (last_layer.h).
#include "last_layer.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "runtime.h"

namespace sbn {
namespace {

/** ℓ(η, y) and ∂ℓ/∂η (into g) of one row of K float32 logits, in float64; e: K scratch values. */
inline double flipLoss(const float* eta, size_t K, bool logistic, double y, size_t label, double* e, double* g) {
  if (logistic) {
    const double m = y * static_cast<double>(eta[0]);
    // softplus(−m) = max(−m, 0) + log(1 + e^{−|m|}); σ(−m) = 1/(1 + e^{m})
    const double t = std::exp(-std::fabs(m));
    const double loss = (m > 0 ? 0.0 : -m) + std::log1p(t);
    g[0] = -y * (m >= 0 ? t / (1 + t) : 1 / (1 + t));
    return loss;
  }
  double mx = eta[0];
  for (size_t k = 1; k < K; k++) mx = std::max(mx, static_cast<double>(eta[k]));
  double sum = 0;
  for (size_t k = 0; k < K; k++) {
    e[k] = std::exp(static_cast<double>(eta[k]) - mx);
    sum += e[k];
  }
  const double inv = 1 / sum;
  for (size_t k = 0; k < K; k++) g[k] = e[k] * inv;
  g[label] -= 1;
  return mx + std::log(sum) - static_cast<double>(eta[label]);
}

/**
 * e^x for x ≤ 0 in float32 (Cephes expf as in isa_avx2.cc: Cody–Waite reduction by ln 2, degree-5 polynomial,
 * about 1 ulp; clamped at −87.3), branch-free so that loops over it vectorise in this ISA-independent file.
 */
inline float expNegF(float x) {
  x += static_cast<float>(x < -87.3f) * (-87.3f - x);  // max(x, −87.3) as arithmetic: a select would not vectorise
  const int32_t i = static_cast<int32_t>(x * 1.44269504088896341f - 0.5f);  // round to nearest: x·log2(e) ≤ 0
  const float fx = static_cast<float>(i);
  x = x - fx * 0.693359375f;
  x = x - fx * -2.12194440e-4f;
  const float z = x * x;
  float y = 1.9875691500e-4f;
  y = y * x + 1.3981999507e-3f;
  y = y * x + 8.3334519073e-3f;
  y = y * x + 4.1665795894e-2f;
  y = y * x + 1.6666665459e-1f;
  y = y * x + 5.0000001201e-1f;
  y = y * z + x + 1.0f;
  const int32_t bits = (i + 127) * (1 << 23);
  float p;
  std::memcpy(&p, &bits, sizeof p);
  return y * p;
}

/**
 * log x for normal x > 0 in float32 (Cephes logf: x = m·2^e with m in [√½, √2), degree-9 polynomial in m − 1,
 * ln 2 split in two; about 1 ulp), branch-free so that loops over it vectorise. Here x = Σ_k e^{η_k − max} ∈ [1, K],
 * so its log is at most a few units and float32 leaves ~1e-7 absolute error on a flip loss (the float64 std::log
 * it replaces was a third of psaFlips' time).
 */
inline float logPosF(float x) {
  int32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  float e = static_cast<float>(((bits >> 23) & 0xff) - 126);
  bits = (bits & 0x007fffff) | 0x3f000000;  // mantissa in [0.5, 1)
  float m;
  std::memcpy(&m, &bits, sizeof m);
  const float lo = static_cast<float>(m < 0.707106781186547524f);  // then use 2m and e − 1
  e -= lo;
  m = m + m * lo - 1.0f;
  const float z = m * m;
  float y = 7.0376836292e-2f;
  y = y * m - 1.1514610310e-1f;
  y = y * m + 1.1676998740e-1f;
  y = y * m - 1.2420140846e-1f;
  y = y * m + 1.4249322787e-1f;
  y = y * m - 1.6668057665e-1f;
  y = y * m + 2.0000714765e-1f;
  y = y * m - 2.4999993993e-1f;
  y = y * m + 3.3333331174e-1f;
  y = y * m * z;
  y += -2.12194440e-4f * e;
  y += -0.5f * z;
  return m + y + 0.693359375f * e;
}

constexpr size_t kFlipBlock = 64;  // units i per block of the nll path

// The last-layer loops are plain C++ written to auto-vectorise; compiled once per ISA (SBN_VECTOR_CLONES) they run
// 16 lanes wide on AVX-512 instead of the 4 of the x86-64 baseline (psaFlips 2.4× faster at 256 × 512 × 10).

/**
 * Rows [b, e) of psaFlips, each by one thread with a fixed summation order (thread counts do not matter).
 * η_i = η₀ + δ_i W[:, i] is formed in float32 as the tfjs reference forms it. nll: blocks of kFlipBlock units,
 * K × block arrays, float32 max-shifted exponentials (vectorised), log and the sums over i in float64, ∂ℓ
 * accumulated per lane and summed over lanes at the end of the row. logistic (K = 1): float64 throughout.
 */
SBN_VECTOR_CLONES void flipsRows(const FlipsArgs& A, size_t b, size_t e) {
  const size_t K = A.K, n = A.n, B = kFlipBlock;
  std::vector<float> et(K * B), mx(B), sum(B), pd(B), pr(B);
  std::vector<double> accLane(K * B), g0(K), scratch(K), g(K);
  for (size_t r = b; r < e; r++) {
    const float* l0 = A.logits + r * K;
    const double y = A.labels[r];
    const size_t label = A.logistic ? 0 : static_cast<size_t>(y);
    const double f0 = flipLoss(l0, K, A.logistic, y, label, scratch.data(), g0.data());
    double rhoSum = 0, flipSum = 0;
    const float* sh = A.shift + r * n;
    const float* rh = A.rho + r * n;
    float* lam = A.lambda + r * n;
    float* corr = A.corr + r * K * n;
    if (A.logistic) {
      double acc = 0;
      for (size_t i = 0; i < n; i++) {
        const float eta = l0[0] + sh[i] * A.w[i];
        const double f = flipLoss(&eta, 1, true, y, 0, scratch.data(), g.data());
        const double p = rh[i];
        lam[i] = static_cast<float>(f - f0);
        rhoSum += p;
        flipSum += p * f;
        acc += p * g[0];
        corr[i] = static_cast<float>(p * static_cast<double>(sh[i]) * g[0]);
      }
      const double w0 = 1 - rhoSum;
      A.cSum[r] = static_cast<float>(w0 * g0[0] + acc);
      A.rowLoss[r] = static_cast<float>(w0 * f0 + flipSum);
      continue;
    }
    std::fill(accLane.begin(), accLane.end(), 0.0);
    for (size_t i0 = 0; i0 < n; i0 += B) {
      const size_t m = std::min(B, n - i0);
      const float* d = sh + i0;
      for (size_t k = 0; k < K; k++) {
        const float lk = l0[k];
        const float* wk = A.w + k * n + i0;
        float* ek = et.data() + k * B;
        for (size_t j = 0; j < m; j++) ek[j] = lk + d[j] * wk[j];
      }
      for (size_t j = 0; j < m; j++) mx[j] = et[j];
      for (size_t k = 1; k < K; k++) {
        const float* ek = et.data() + k * B;
        for (size_t j = 0; j < m; j++) mx[j] = ek[j] > mx[j] ? ek[j] : mx[j];
      }
      const float* ey = et.data() + label * B;
      for (size_t j = 0; j < m; j++) {
        // f_i = max + log Σ_k e^{η_k − max} − η_y, with η_y − max taken before the exponentials overwrite it
        pd[j] = ey[j] - mx[j];
        sum[j] = 0;
      }
      for (size_t k = 0; k < K; k++) {
        float* ek = et.data() + k * B;
        for (size_t j = 0; j < m; j++) {
          const float x = expNegF(ek[j] - mx[j]);
          ek[j] = x;
          sum[j] += x;
        }
      }
      for (size_t j = 0; j < m; j++) mx[j] = logPosF(sum[j]);  // mx is free again: now log Σ
      for (size_t j = 0; j < m; j++) {
        const double p = rh[i0 + j];
        const double f = static_cast<double>(mx[j]) - static_cast<double>(pd[j]);
        lam[i0 + j] = static_cast<float>(f - f0);
        rhoSum += p;
        flipSum += p * f;
        sum[j] = 1.0f / sum[j];  // now the reciprocal
        pr[j] = rh[i0 + j];
        pd[j] = rh[i0 + j] * d[j];
      }
      for (size_t k = 0; k < K; k++) {
        const float* ek = et.data() + k * B;
        const float oh = k == label ? 1.0f : 0.0f;
        double* ak = accLane.data() + k * B;
        float* ck = corr + k * n + i0;
        for (size_t j = 0; j < m; j++) {
          const float gk = ek[j] * sum[j] - oh;
          ck[j] = pd[j] * gk;
          ak[j] += static_cast<double>(pr[j] * gk);
        }
      }
    }
    const double w0 = 1 - rhoSum;
    for (size_t k = 0; k < K; k++) {
      double acc = 0;
      for (size_t j = 0; j < B; j++) acc += accLane[k * B + j];
      A.cSum[r * K + k] = static_cast<float>(w0 * g0[k] + acc);
    }
    A.rowLoss[r] = static_cast<float>(w0 * f0 + flipSum);
  }
}

}  // namespace

void singleFlips(const FlipsArgs& args) {
  // with groups, the per-row corr goes to the workspace and its mean over each group's rows to args.corr
  FlipsArgs A = args;
  if (A.groups > 0) A.corr = threadWorkspace().get(Workspace::kCorr, A.rows * A.K * A.n);
  parallelFor(A.rows, static_cast<double>(A.rows * A.n * A.K) * 16, [&](size_t b, size_t e) { flipsRows(A, b, e); });
  if (A.groups == 0) return;
  // mean over each group's rows, summed in row order in float64 (one (group, k) per unit: thread-count free)
  const size_t per = A.rows / A.groups, n = A.n, K = A.K;
  parallelFor(A.groups * K, static_cast<double>(A.rows * K * n), [&](size_t b, size_t e) {
    std::vector<double> acc(n);
    for (size_t u = b; u < e; u++) {
      const size_t g = u / K, k = u % K;
      std::fill(acc.begin(), acc.end(), 0.0);
      for (size_t r = g * per; r < (g + 1) * per; r++) {
        const float* c = A.corr + (r * K + k) * n;
        for (size_t i = 0; i < n; i++) acc[i] += c[i];
      }
      float* o = args.corr + u * n;
      for (size_t i = 0; i < n; i++) o[i] = static_cast<float>(acc[i] / static_cast<double>(per));
    }
  });
}

}  // namespace sbn
