// The noise models' preparation and sums over connections (noise_models.h).
#include "noise_models.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "runtime.h"

namespace sbn {
namespace {

constexpr double kSqrt1_2 = 0.70710678118654752440;

/**
 * The least non-zero |shift| (+∞ if none) and the largest, in one vectorised pass; false if a shift is NaN. On the
 * bits of |x| (sign cleared) integer order is float order, with NaN above +∞: integer min / max reductions vectorise
 * where float ones do not (they would have to respect NaN).
 */
SBN_VECTOR_CLONES bool magnitudeRange(const float* __restrict shift, size_t n, float* lo, float* hi) {
  uint32_t mnLess = UINT32_MAX, mx = 0;  // min of (bits − 1): 0 wraps to the top, so zeros never count
  for (size_t i = 0; i < n; i++) {
    uint32_t u;
    std::memcpy(&u, shift + i, sizeof u);
    u &= 0x7fffffffu;
    mnLess = std::min(mnLess, u - 1u);
    mx = std::max(mx, u);
  }
  constexpr uint32_t kInfBits = 0x7f800000u;
  if (mx > kInfBits) return false;
  const uint32_t mn = std::min(mnLess, kInfBits - 1u) + 1u;
  std::memcpy(lo, &mn, sizeof mn);
  std::memcpy(hi, &mx, sizeof mx);
  return true;
}

/**
 * Where the arrays the ratio kernels stream start within a 4 KiB page. Each is a multi-megabyte buffer of its own, and
 * the allocator starts those at one offset in a page (16 bytes past a boundary): the same element of E and D, or of A
 * and gp, then fell in the same L1 set, and the kernels' rows — E, D and the factors of up to 8 inputs × 9 taps — in
 * few sets. How fast a call ran depended on what had been allocated before it (CIFAR_S1 layer 2's ratio
 * convolution took 97 ms alone and 85 ms after a smaller call had moved the allocator's threshold; 117–121 ms with
 * every array at one offset, 90 with these). Fixed offsets, 512 bytes apart, make it the same every time.
 */
constexpr size_t kPhaseA = 0, kPhaseGp = 1024, kPhaseAinv = 2048, kPhaseGm = 3072, kPhaseE = 512, kPhaseD = 2560;

}  // namespace

SBN_VECTOR_CLONES float largestMagnitude(const float* __restrict x, size_t n) {
  uint32_t mx = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t u;
    std::memcpy(&u, x + i, sizeof u);
    mx = std::max(mx, u & 0x7fffffffu);
  }
  float m;
  std::memcpy(&m, &mx, sizeof m);
  return m;
}

Magnitudes scanMagnitudes(const float* shift, size_t n) {
  Magnitudes M;
  // PSA's shifts are ±(on − off) and zeros: one magnitude, found by a vectorised pass instead of a search per value
  float lo = 0, hi = 0;
  if (magnitudeRange(shift, n, &lo, &hi)) {
    if (hi == 0.0f) return M;
    if (lo == hi) {
      M.mag[M.count++] = hi;
      return M;
    }
  }
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

void expFormTable(size_t n, const float* w, const float* E, const float* D, float* d) {
  for (size_t j = 0; j < n; j++) d[j] = w[j] >= 0.0f ? D[j] : -D[j] / E[j];
}

Logistic::Logistic(const Isa* isa_, const float* a_, const float* g, size_t nA, size_t rowLen_, const float* w_,
                   size_t nW, const float* shift, size_t nShift)
    : isa(isa_), a(a_), w(w_), rowLen(rowLen_), A(threadWorkspace().getAt(Workspace::kA, nA, kPhaseA)),
      Ainv(threadWorkspace().getAt(Workspace::kAinv, nA, kPhaseAinv)),
      gp(threadWorkspace().getAt(Workspace::kGp, nA, kPhaseGp)),
      gm(threadWorkspace().getAt(Workspace::kGm, nA, kPhaseGm)),
      ratioAt(nA),
      mags(scanMagnitudes(shift, nShift)) {
  // The ratio form's tables of every |δ| (max|w| comes with them), then which rows may read them: A·E = e^{−(a + wδ)}
  // and E stay finite where |a| + |δ|·|w| ≤ kRatioLimit for every pair the row can meet.
  const size_t chunk = 4096;
  const size_t nChunks = (nW + chunk - 1) / chunk;
  std::vector<float> chunkMax(nChunks, 0.0f);
  float shiftMax = 0.0f;
  if (mags.generic) {
    for (size_t i = 0; i < nShift; i++) shiftMax = std::max(shiftMax, std::fabs(shift[i]));
    for (size_t j = 0; j < nW; j++) chunkMax[j / chunk] = std::max(chunkMax[j / chunk], std::fabs(w[j]));
  }
  for (int k = 0; k < mags.count; k++) {
    Tables& tk = tables[k];
    const size_t slot = Workspace::kTables + 3 * static_cast<size_t>(k);
    tk.E = threadWorkspace().getAt(slot, nW, kPhaseE);
    tk.D = threadWorkspace().getAt(slot + 1, nW, kPhaseD);
    parallelFor(nChunks, static_cast<double>(nW) * 8, [&](size_t b, size_t e) {
      for (size_t c = b; c < e; c++) {
        const size_t off = c * chunk;
        const float m = isa->prepW(std::min(off + chunk, nW) - off, w + off, mags.mag[k], tk.E + off, tk.D + off);
        chunkMax[c] = std::max(chunkMax[c], m);
      }
    });
    shiftMax = std::max(shiftMax, mags.mag[k]);
  }
  float wMax = 0.0f;
  for (const float m : chunkMax) wMax = std::max(wMax, m);
  const float reach = shiftMax * wMax;
  const size_t rows = nA / rowLen;
  parallelFor(rows, static_cast<double>(nA) * 8, [&](size_t b, size_t e) {
    isa->prepOut((e - b) * rowLen, a + b * rowLen, g + b * rowLen, A + b * rowLen, Ainv + b * rowLen,
                 gp + b * rowLen, gm + b * rowLen);
    for (size_t r = b; r < e; r++) {
      const float aMax = largestMagnitude(a + r * rowLen, rowLen);  // ∞ or NaN where a is not finite
      ratioAt[r * rowLen] = std::isfinite(aMax) && aMax + reach <= kRatioLimit;
    }
  });
  bool anyExp = false;
  for (size_t r = 0; r < rows; r++) anyExp = anyExp || !ratioAt[r * rowLen];
  allRatio = !anyExp;
  if (mags.generic || !anyExp) return;
  for (int k = 0; k < mags.count; k++) {
    Tables& tk = tables[k];
    tk.d = threadWorkspace().get(Workspace::kTables + 3 * static_cast<size_t>(k) + 2, nW);
    parallelFor(nChunks, static_cast<double>(nW), [&](size_t b, size_t e) {
      const size_t off = b * chunk;
      const size_t end = std::min(e * chunk, nW);
      expFormTable(end - off, w + off, tk.E + off, tk.D + off, tk.d + off);
    });
  }
}

DotArgs Logistic::callArgs(int n, int T, const size_t* aOff, const size_t* wTap, int R, const float* delta) const {
  DotArgs x;
  x.n = n;
  x.T = T;
  x.R = R;
  x.delta = delta;
  x.outTap = aOff;
  x.a = a;
  x.A = A;
  x.Ainv = Ainv;
  x.gp = gp;
  x.gm = gm;
  x.weightTap = x.tableTap = wTap;
  return x;
}

void Logistic::run(int n, int T, const size_t* aOff, const size_t* wTap, int R, const size_t* wIn,
                   const float* delta, float* vals, float* scratch) const {
  DotArgs x = callArgs(n, T, aOff, wTap, R, delta);
  int neg = 0;
  for (int k = 0; k < R; k++) neg += delta[k] < 0.0f ? 1 : 0;
  x.sign = neg == 0 ? 1 : neg == R ? -1 : 0;
  bool ratio = true;
  for (int t = 0; t < T; t++) ratio = ratio && ratioAt[aOff[t]];
  for (int k = 0; k < R; k++) x.w[k] = w + wIn[k];
  if (mags.generic) {
    // the tables of this input's |δ| only, per (tap, input) in the scratch: (t, k) at 2(t·kMaxR + k)·n, D after E;
    // the exp form's d in E's place
    const size_t un = static_cast<size_t>(n);
    size_t scratchTap[kMaxT];
    for (int t = 0; t < T; t++) {
      scratchTap[t] = 2 * static_cast<size_t>(t) * kMaxR * un;
      for (int k = 0; k < R; k++) {
        const float* wk = w + wTap[t] + wIn[k];
        float* Es = scratch + scratchTap[t] + 2 * static_cast<size_t>(k) * un;
        isa->prepW(un, wk, std::fabs(delta[k]), Es, Es + n);
        if (!ratio) expFormTable(un, wk, Es, Es + n, Es);
      }
    }
    for (int k = 0; k < R; k++) {
      x.E[k] = x.d[k] = scratch + 2 * static_cast<size_t>(k) * un;
      x.D[k] = x.E[k] + n;
    }
    x.tableTap = scratchTap;  // lives until the kernel returns
    (ratio ? isa->dotRatio : isa->dotExp)(x, vals);
    return;
  }
  for (int k = 0; k < R; k++) {
    const Tables& tk = tables[mags.indexOf(std::fabs(delta[k]))];
    if (ratio) {
      x.E[k] = tk.E + wIn[k];
      x.D[k] = tk.D + wIn[k];
    } else {
      x.d[k] = tk.d + wIn[k];
    }
  }
  (ratio ? isa->dotRatio : isa->dotExp)(x, vals);
}

void Logistic::start(Site& site, int n, size_t T, const size_t* aOff, const size_t* wTap, size_t pairOffset) const {
  static_cast<CallSite&>(site) = CallSite{n, T, aOff, wTap, pairOffset};
  const bool pair = pairOffset > 0;
  site.direct = !mags.generic && mags.count == 1 && T <= static_cast<size_t>(kMaxT) &&
                (!pair || isa->dotRatioPair != nullptr);
  for (size_t t = 0; t < T && site.direct && !allRatio; t++) {
    site.direct = ratioAt[aOff[t]] && (!pair || ratioAt[aOff[t] + pairOffset]);
  }
  if (!site.direct) return;
  // the call's arguments: the per-output factors once per Site object (the drivers keep one per unit and move it
  // from row to row or pixel to pixel), the taps at every start — a full DotArgs per start was 12 % of the
  // 512 × 512 product once every row of a unit started its site
  if (site.t == nullptr) {
    site.t = &tables[0];
    site.x = callArgs(n, static_cast<int>(T), aOff, wTap, 0, nullptr);
  }
  site.x.n = n;
  site.x.T = static_cast<int>(T);
  site.x.outTap = aOff;
  site.x.weightTap = site.x.tableTap = wTap;
  site.x.pairOffset = pairOffset;
}

void Logistic::call(Site& site, int R, const size_t* wIn, const float* delta, float* vals, float* scratch) const {
  if (!site.direct) {
    runChunked(*this, site, R, wIn, delta, nullptr, vals, nullptr, scratch);
    return;
  }
  // run's ratio-form call on one table: only the sign and the tables' pointers change from call to call (the ratio
  // form reads no weights)
  DotArgs& x = site.x;
  x.R = R;
  x.delta = delta;
  int neg = 0;
  for (int k = 0; k < R; k++) {
    neg += delta[k] < 0.0f ? 1 : 0;
    x.E[k] = site.t->E + wIn[k];
    x.D[k] = site.t->D + wIn[k];
  }
  x.sign = neg == 0 ? 1 : neg == R ? -1 : 0;
  isa->dotRatio(x, vals);
}

void Logistic::callSigns(Site& site, int R, const size_t* wIn, const float* delta, float* vals) const {
  DotArgs& x = site.x;  // signsAt: a direct site
  x.R = R;
  x.delta = delta;
  unsigned neg = 0;
  for (int k = 0; k < R; k++) {
    neg |= (delta[k] < 0.0f ? 1u : 0u) << k;
    x.E[k] = site.t->E + wIn[k];
    x.D[k] = site.t->D + wIn[k];
  }
  x.negMask = neg;
  isa->dotRatioSigns(x, vals);
}

void Logistic::callPair(Site& site, int R, const size_t* wIn, const float* delta, const float* delta2, float* vals,
                        float* vals2, float* scratch) const {
  if (!site.direct) {
    runChunked(*this, site, R, wIn, delta, delta2, vals, vals2, scratch);
    return;
  }
  DotArgs& x = site.x;  // as runPair's call
  x.R = R;
  x.delta = delta;
  x.sign = delta[0] < 0.0f ? -1 : 1;
  x.sign2 = delta2[0] < 0.0f ? -1 : 1;
  for (int k = 0; k < R; k++) {
    x.E[k] = site.t->E + wIn[k];
    x.D[k] = site.t->D + wIn[k];
  }
  isa->dotRatioPair(x, vals, vals2);
}

void Logistic::runPair(int n, int T, const size_t* aOff, size_t pairOffset, const size_t* wTap, int R,
                       const size_t* wIn, const float* delta, const float* delta2, float* vals, float* vals2,
                       float* scratch) const {
  // the pair kernel reads each input's D at one offset from its E: one table of |δ| for all R inputs
  bool ratio = isa->dotRatioPair != nullptr && !mags.generic;
  const int table = ratio ? mags.indexOf(std::fabs(delta[0])) : -1;
  for (int k = 1; k < R && ratio; k++) ratio = mags.indexOf(std::fabs(delta[k])) == table;
  for (int t = 0; t < T && ratio; t++) ratio = ratioAt[aOff[t]] && ratioAt[aOff[t] + pairOffset];
  if (!ratio) {
    runAsTwo(*this, n, T, aOff, pairOffset, wTap, R, wIn, delta, delta2, vals, vals2, scratch);
    return;
  }
  DotArgs x = callArgs(n, T, aOff, wTap, R, delta);
  x.sign = delta[0] < 0.0f ? -1 : 1;
  x.sign2 = delta2[0] < 0.0f ? -1 : 1;
  x.pairOffset = pairOffset;
  const Tables& tk = tables[table];
  for (int k = 0; k < R; k++) {  // the ratio form reads no weights, only their tables
    x.E[k] = tk.E + wIn[k];
    x.D[k] = tk.D + wIn[k];
  }
  isa->dotRatioPair(x, vals, vals2);
}

Normal::Normal(const float* a_, const float* g_, size_t nA, const float* w_) : a(a_), g(g_), w(w_), phi(nA), q(nA) {
  parallelFor(nA, static_cast<double>(nA) * 8, [&](size_t b, size_t e) {
    for (size_t j = b; j < e; j++) {
      phi[j] = 0.5 * std::erfc(-a[j] * kSqrt1_2);
      q[j] = 0.5 * std::erfc(a[j] * kSqrt1_2);
    }
  });
}

void Normal::run(int n, int T, const size_t* aOff, const size_t* wTap, int R, const size_t* wIn,
                 const float* delta, float* vals, float*) const {
  for (int k = 0; k < R; k++) {
    const double dk = delta[k];
    double acc = 0.0;
    for (int t = 0; t < T; t++) {
      const size_t ao = aOff[t];
      const float* ar = a + ao;
      const float* gr = g + ao;
      const float* wk = w + wTap[t] + wIn[k];
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
