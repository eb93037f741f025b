// PSA's last layer (last_layer.h).
#include "last_layer.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "noise_models.h"
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

constexpr size_t kFlipBlock = 64;     // units i per block: the vectorised loops' arrays
constexpr size_t kFlipChunk = 256;    // units i per work unit
constexpr size_t kFlipRowBlock = 16;  // rows per work unit
// The work units, (a block of rows) × (a chunk of units i), and the order every sum over them is taken in are fixed
// by the shape alone, so thread counts do not change a bit. With `groups` the correction ρ_i δ_i ∂ℓ(η_i) is summed
// over a unit's rows where the unit computes it (kFlipChunk × K values stay in L1/L2): writing it per row first,
// [rows, K, n] floats, and averaging it in a second pass moved 48 MB three times a step at CIFAR_S1's classifier
// (16 rows × 75 264 units × 10 classes) and bounded psaFlips there.

/** The row blocks: with groups, each group's rows in blocks of kFlipRowBlock (a block never spans two groups). */
struct RowBlocks {
  size_t per, perGroup, count;  // rows per group (all rows without groups), blocks per group, blocks in all
  explicit RowBlocks(const FlipsArgs& A)
      : per(A.groups > 0 ? A.rows / A.groups : A.rows),
        perGroup((per + kFlipRowBlock - 1) / kFlipRowBlock),
        count((A.groups > 0 ? A.groups : 1) * perGroup) {}
  size_t begin(size_t b) const { return (b / perGroup) * per + (b % perGroup) * kFlipRowBlock; }
  size_t end(size_t b) const { return std::min(begin(b) + kFlipRowBlock, (b / perGroup + 1) * per); }
};

/**
 * Where every δ_i has one magnitude m (PSA's ±(on − off)) and m·max|w| ≤ kFlipExpLimit, the flipped logits'
 * exponentials come from tables instead of an exp per class and unit: e^{η_k − M} = s_k · e^{δ_i w_ki}, with
 * s_k = e^{η₀_k − M} per row (M = max_k η₀_k; in float64, so that a class far below M gets 0, not a clamp) and
 * e^{±m w_ki} per weight — a multiplication where the max-shifted path takes a polynomial exp, and no per-unit max.
 * Every term is positive (nothing cancels in Σ_k), within a few ulp of the exp path's; Σ_k ∈ [e^{−limit}, K e^{limit}]
 * keeps its log and reciprocal finite and normal. up == nullptr: the exp path.
 */
struct FlipExp {
  const float* up = nullptr;    // [K, n] e^{+m w}
  const float* down = nullptr;  // [K, n] e^{−m w}
  const float* rowMax = nullptr;
  const float* rowExp = nullptr;  // [rows, K] s_k
};
constexpr float kFlipExpLimit = 40.0f;

/** e^{+m w} and e^{−m w} per weight (m|w| ≤ kFlipExpLimit): one exponential, e^{−m|w|}, and its reciprocal. */
SBN_VECTOR_CLONES void flipExpTables(const float* w, size_t count, float mag, float* up, float* down) {
  _Pragma("GCC ivdep") for (size_t i = 0; i < count; i++) {
    const float small = expNegF(-mag * std::fabs(w[i]));
    const float large = 1.0f / small;
    up[i] = w[i] >= 0.0f ? large : small;
    down[i] = w[i] >= 0.0f ? small : large;
  }
}

struct FlipsScratch {
  std::vector<float> et, mx, sum, pd, pr;
  std::vector<double> lane, corrAcc, scratch, g0, g;
  explicit FlipsScratch(size_t K)
      : et(K * kFlipBlock), mx(kFlipBlock), sum(kFlipBlock), pd(kFlipBlock), pr(kFlipBlock),
        lane((K + 2) * kFlipBlock), corrAcc(K * kFlipChunk), scratch(K), g0(K), g(K) {}
};

// The last-layer loops are plain C++ written to auto-vectorise; compiled once per ISA (SBN_VECTOR_CLONES) they run
// 16 lanes wide on AVX-512 instead of the 4 of the x86-64 baseline (psaFlips 2.4× faster at 256 × 512 × 10).

/**
 * One work unit: rows [r0, r1) × units i of chunk c. Writes λ (and, without groups, the correction per row), each
 * row's partial sums over the chunk — Σρ_i ∂ℓ(η_i)_k, Σρ_i, Σρ_i f_i — to part[(r·chunks + c)·(K + 2) …], and with
 * groups the correction summed over the rows to S.corrAcc[K × chunk]. η_i = η₀ + δ_i W[:, i] (with X's tables only
 * its label's entry) is formed in float32 as the tfjs reference forms it. nll: blocks of kFlipBlock units, K × block
 * arrays, float32 exponentials (from X's tables where it has them, else max-shifted and vectorised), log and the sums
 * in float64, per lane, summed over the lanes at the end of the chunk. logistic (K = 1): float64 throughout. The
 * loops over a block carry `GCC ivdep`: their arrays never overlap, and without it GCC could not tell and left the
 * loop that forms f_i and ρ scalar (a quarter of the call's time).
 */
SBN_VECTOR_CLONES void flipsUnit(const FlipsArgs& A, const FlipExp& X, size_t r0, size_t r1, size_t c, size_t chunks,
                                 FlipsScratch& S, double* part) {
  const size_t K = A.K, n = A.n, B = kFlipBlock;
  const size_t c0 = c * kFlipChunk, c1 = std::min(n, c0 + kFlipChunk), nc = c1 - c0;
  float *et = S.et.data(), *mx = S.mx.data(), *sum = S.sum.data(), *pd = S.pd.data(), *pr = S.pr.data();
  double* lane = S.lane.data();  // [K + 2][B]: Σρ ∂ℓ_k per k, then Σρ, Σρf
  double* lRho = lane + K * B;
  double* lFlip = lRho + B;
  const bool grouped = A.groups > 0;
  if (grouped) std::fill(S.corrAcc.begin(), S.corrAcc.begin() + K * nc, 0.0);
  for (size_t r = r0; r < r1; r++) {
    const float* l0 = A.logits + r * K;
    const double y = A.labels[r];
    const size_t label = A.logistic ? 0 : static_cast<size_t>(y);
    const double f0 = flipLoss(l0, K, A.logistic, y, label, S.scratch.data(), S.g0.data());
    const float* sh = A.shift + r * n;
    const float* rh = A.rho + r * n;
    float* lam = A.lambda + r * n;
    double* out = part + (r * chunks + c) * (K + 2);
    if (A.logistic) {
      double acc = 0, rhoSum = 0, flipSum = 0;
      for (size_t i = c0; i < c1; i++) {
        const float eta = l0[0] + sh[i] * A.w[i];
        const double f = flipLoss(&eta, 1, true, y, 0, S.scratch.data(), S.g.data());
        const double p = rh[i];
        lam[i] = static_cast<float>(f - f0);
        rhoSum += p;
        flipSum += p * f;
        acc += p * S.g[0];
        const float ci = static_cast<float>(p * static_cast<double>(sh[i]) * S.g[0]);
        if (grouped) {
          S.corrAcc[i - c0] += ci;
        } else {
          A.corr[r * n + i] = ci;
        }
      }
      out[0] = acc;
      out[1] = rhoSum;
      out[2] = flipSum;
      continue;
    }
    std::fill(lane, lane + (K + 2) * B, 0.0);
    for (size_t i0 = c0; i0 < c1; i0 += B) {
      const size_t m = std::min(B, c1 - i0);
      const float* d = sh + i0;
      if (X.up != nullptr) {
        // e^{η_k − M} = s_k · e^{δ_i w_ki} (FlipExp), summed over k as they are formed (the same order as a second
        // pass over them, one pass fewer over the block)
        const float M = X.rowMax[r];
        const float* s = X.rowExp + r * K;
        const float ly = l0[label];
        const float* wy = A.w + label * n + i0;
        _Pragma("GCC ivdep") for (size_t j = 0; j < m; j++) {
          pd[j] = (ly + d[j] * wy[j]) - M;  // η_y − M, with η_y formed in float32 as the exponentials' path forms it
          sum[j] = 0;
        }
        for (size_t k = 0; k < K; k++) {
          const float sk = s[k];
          const float* up = X.up + k * n + i0;
          const float* down = X.down + k * n + i0;
          float* ek = et + k * B;
          _Pragma("GCC ivdep") for (size_t j = 0; j < m; j++) {
            const float x = sk * (d[j] > 0.0f ? up[j] : d[j] < 0.0f ? down[j] : 1.0f);  // δ = 0: η_k unflipped
            ek[j] = x;
            sum[j] += x;
          }
        }
      } else {
        for (size_t k = 0; k < K; k++) {
          const float lk = l0[k];
          const float* wk = A.w + k * n + i0;
          float* ek = et + k * B;
          _Pragma("GCC ivdep") for (size_t j = 0; j < m; j++) ek[j] = lk + d[j] * wk[j];
        }
        _Pragma("GCC ivdep") for (size_t j = 0; j < m; j++) mx[j] = et[j];
        for (size_t k = 1; k < K; k++) {
          const float* ek = et + k * B;
          _Pragma("GCC ivdep") for (size_t j = 0; j < m; j++) mx[j] = ek[j] > mx[j] ? ek[j] : mx[j];
        }
        const float* ey = et + label * B;
        _Pragma("GCC ivdep") for (size_t j = 0; j < m; j++) {
          // f_i = max + log Σ_k e^{η_k − max} − η_y, with η_y − max taken before the exponentials overwrite it
          pd[j] = ey[j] - mx[j];
          sum[j] = 0;
        }
        for (size_t k = 0; k < K; k++) {
          float* ek = et + k * B;
          _Pragma("GCC ivdep") for (size_t j = 0; j < m; j++) {
            const float x = expNegF(ek[j] - mx[j]);
            ek[j] = x;
            sum[j] += x;
          }
        }
      }
      _Pragma("GCC ivdep") for (size_t j = 0; j < m; j++) mx[j] = logPosF(sum[j]);  // mx is free again: now log Σ
      _Pragma("GCC ivdep") for (size_t j = 0; j < m; j++) {
        const double p = rh[i0 + j];
        const double f = static_cast<double>(mx[j]) - static_cast<double>(pd[j]);
        lam[i0 + j] = static_cast<float>(f - f0);
        lRho[j] += p;
        lFlip[j] += p * f;
        sum[j] = 1.0f / sum[j];  // now the reciprocal
        pr[j] = rh[i0 + j];
        pd[j] = rh[i0 + j] * d[j];
      }
      for (size_t k = 0; k < K; k++) {
        const float* ek = et + k * B;
        const float oh = k == label ? 1.0f : 0.0f;
        double* ak = lane + k * B;
        if (grouped) {
          double* ck = S.corrAcc.data() + k * nc + (i0 - c0);
          _Pragma("GCC ivdep") for (size_t j = 0; j < m; j++) {
            const float gk = ek[j] * sum[j] - oh;
            ck[j] += static_cast<double>(pd[j] * gk);
            ak[j] += static_cast<double>(pr[j] * gk);
          }
        } else {
          float* ck = A.corr + (r * K + k) * n + i0;
          _Pragma("GCC ivdep") for (size_t j = 0; j < m; j++) {
            const float gk = ek[j] * sum[j] - oh;
            ck[j] = pd[j] * gk;
            ak[j] += static_cast<double>(pr[j] * gk);
          }
        }
      }
    }
    for (size_t k = 0; k < K + 2; k++) {
      double acc = 0;
      for (size_t j = 0; j < B; j++) acc += lane[k * B + j];
      out[k] = acc;
    }
  }
}

}  // namespace

void singleFlips(const FlipsArgs& A) {
  const size_t K = A.K, n = A.n;
  const size_t chunks = (n + kFlipChunk - 1) / kFlipChunk;
  const RowBlocks blocks(A);
  FlipExp X;
  std::vector<float> rowMax, rowExp;
  if (!A.logistic) {
    const Magnitudes mags = scanMagnitudes(A.shift, A.rows * n);
    const float wMax = largestMagnitude(A.w, K * n);
    const float mag = mags.count == 1 && !mags.generic ? mags.mag[0] : 0.0f;
    if (mag > 0.0f && mag * wMax <= kFlipExpLimit) {  // false for NaN too: the exp path reports it as before
      float* up = threadWorkspace().get(Workspace::kFlipExp, 2 * K * n);
      float* down = up + K * n;
      parallelFor(K * n, static_cast<double>(K * n) * 16, [&](size_t b, size_t e) {
        flipExpTables(A.w + b, e - b, mag, up + b, down + b);
      });
      rowMax.resize(A.rows);
      rowExp.resize(A.rows * K);
      for (size_t r = 0; r < A.rows; r++) {
        const float* l0 = A.logits + r * K;
        float M = l0[0];
        for (size_t k = 1; k < K; k++) M = std::max(M, l0[k]);
        rowMax[r] = M;
        for (size_t k = 0; k < K; k++) {
          rowExp[r * K + k] = static_cast<float>(std::exp(static_cast<double>(l0[k]) - M));
        }
      }
      X = FlipExp{up, down, rowMax.data(), rowExp.data()};
    }
  }
  // per (row, chunk): Σρ∂ℓ_k (K), Σρ, Σρf; with groups, per (row block, chunk): the correction summed over the rows
  double* part = threadWorkspace().getDoubles(Workspace::kFlipPartials, A.rows * chunks * (K + 2));
  double* corrSum = A.groups > 0 && blocks.perGroup > 1
                        ? threadWorkspace().getDoubles(Workspace::kFlipCorrection, blocks.count * K * n)
                        : nullptr;
  parallelFor(blocks.count * chunks, static_cast<double>(A.rows * n * K) * 16, [&](size_t b, size_t e) {
    FlipsScratch S(K);
    for (size_t u = b; u < e; u++) {
      const size_t rb = u / chunks, c = u % chunks;
      flipsUnit(A, X, blocks.begin(rb), blocks.end(rb), c, chunks, S, part);
      if (A.groups == 0) continue;
      const size_t c0 = c * kFlipChunk, nc = std::min(n, c0 + kFlipChunk) - c0;
      if (blocks.perGroup == 1) {
        // the group's only block: its sum is the group's, the mean goes out directly
        const size_t g = rb;
        for (size_t k = 0; k < K; k++) {
          float* o = A.corr + (g * K + k) * n + c0;
          const double* s = S.corrAcc.data() + k * nc;
          for (size_t i = 0; i < nc; i++) o[i] = static_cast<float>(s[i] / static_cast<double>(blocks.per));
        }
      } else {
        std::copy_n(S.corrAcc.data(), K * nc, corrSum + rb * K * n + c * kFlipChunk * K);
      }
    }
  });
  // per row: the chunks' partial sums in chunk order, then the loss and cSum as (1 − Σρ)·(base) + Σ over flips
  std::vector<double> scratch(K), g0(K);
  for (size_t r = 0; r < A.rows; r++) {
    const double y = A.labels[r];
    const double f0 = flipLoss(A.logits + r * K, K, A.logistic, y, A.logistic ? 0 : static_cast<size_t>(y),
                               scratch.data(), g0.data());
    double rhoSum = 0, flipSum = 0;
    for (size_t k = 0; k < K; k++) scratch[k] = 0;
    for (size_t c = 0; c < chunks; c++) {
      const double* p = part + (r * chunks + c) * (K + 2);
      for (size_t k = 0; k < K; k++) scratch[k] += p[k];
      rhoSum += p[K];
      flipSum += p[K + 1];
    }
    const double w0 = 1 - rhoSum;
    for (size_t k = 0; k < K; k++) A.cSum[r * K + k] = static_cast<float>(w0 * g0[k] + scratch[k]);
    A.rowLoss[r] = static_cast<float>(w0 * f0 + flipSum);
  }
  if (A.groups == 0 || blocks.perGroup == 1) return;
  // the correction's mean per group: its row blocks' sums in block order (one (group, chunk) per unit)
  parallelFor(A.groups * chunks, static_cast<double>(blocks.count * K * n), [&](size_t b, size_t e) {
    for (size_t u = b; u < e; u++) {
      const size_t g = u / chunks, c = u % chunks;
      const size_t c0 = c * kFlipChunk, nc = std::min(n, c0 + kFlipChunk) - c0;
      for (size_t k = 0; k < K; k++) {
        for (size_t i = 0; i < nc; i++) {
          double acc = 0;
          for (size_t rb = g * blocks.perGroup; rb < (g + 1) * blocks.perGroup; rb++) {
            acc += corrSum[rb * K * n + c * kFlipChunk * K + k * nc + i];
          }
          A.corr[(g * K + k) * n + c0 + i] = static_cast<float>(acc / static_cast<double>(blocks.per));
        }
      }
    }
  });
}

}  // namespace sbn
