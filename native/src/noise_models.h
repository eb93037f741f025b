// The two noise models the PSA products support, as the drivers (drivers.cc) see them: each prepares its
// per-output and per-weight factors once per call, then sums g·(F(a + w·δ) − F(a)) over a group of connections.
#pragma once
#include <algorithm>
#include <cstddef>
#include <vector>

#include "kernels.h"

namespace sbn {

/** The distinct non-zero |shift| values (≤ kMaxTables of them get q, d tables; more: built per use). */
constexpr int kMaxTables = 4;
struct Magnitudes {
  float mag[kMaxTables];
  int count = 0;
  bool generic = false;

  int indexOf(float m) const {
    for (int k = 0; k < count; k++) {
      if (mag[k] == m) return k;
    }
    return -1;
  }
};

Magnitudes scanMagnitudes(const float* shift, size_t n);

/**
 * max|x| by an integer max over the bits of |x| (integer order is float order there, NaN above +∞): it vectorises
 * where a float max would not, and a NaN comes back as NaN (an ∞ as ∞).
 */
float largestMagnitude(const float* x, size_t n);

/**
 * Where a driver's kernel calls happen: one pixel (or dense row) at its T taps — outputs at aOff[t], weights at
 * wTap[t] — or, with a pair, two pixels whose outputs are pairOffset apart (runPair). A driver makes several calls
 * at one site (its channels in groups of kMaxR, by sign); the noise model may prepare there, once, what does not
 * change between them (Logistic::Site). Calls at a site are run / runPair bit for bit, the taps kMaxT at a time.
 */
struct CallSite {
  int n = 0;
  size_t T = 0;
  const size_t* aOff = nullptr;
  const size_t* wTap = nullptr;
  size_t pairOffset = 0;
};

/** run, or runPair, over a site's taps kMaxT at a time (the calls' vals add up over the chunks). */
template <class Kernel>
void runChunked(const Kernel& K, const CallSite& at, int R, const size_t* wIn, const float* delta,
                const float* delta2, float* vals, float* vals2, float* scratch) {
  for (size_t t0 = 0; t0 < at.T; t0 += kMaxT) {
    const int T = static_cast<int>(std::min<size_t>(kMaxT, at.T - t0));
    if (delta2 != nullptr) {
      K.runPair(at.n, T, at.aOff + t0, at.pairOffset, at.wTap + t0, R, wIn, delta, delta2, vals, vals2, scratch);
    } else {
      K.run(at.n, T, at.aOff + t0, at.wTap + t0, R, wIn, delta, vals, scratch);
    }
  }
}

/**
 * Logistic: per-output factors (A, A⁻¹, Gp, Gm; kernels.h), a per-row choice between the ratio form and the exp form
 * (max|a| over the row's n outputs + max|δ|·max|w| ≤ kRatioLimit), and per-|δ| weight tables: E = e^{−|δ|w},
 * D = 1 − E (ratio form) and, only when a row takes the exp form, d = 1 − e^{−|δ||w|} — built per use when there
 * are more than kMaxTables distinct |δ|.
 */
struct Logistic {
  const Isa* isa;
  const float* a;
  const float* w;
  size_t rowLen;
  float *A, *Ainv, *gp, *gm;  // in the calling thread's workspace: valid for this call
  // whether a row takes the ratio form, at the row's first output offset (a call's taps read it without a division)
  std::vector<unsigned char> ratioAt;
  bool allRatio = false;  // every row takes the ratio form (the common case): a site need not check its taps
  Magnitudes mags;
  struct Tables {
    float* E = nullptr;
    float* D = nullptr;
    float* d = nullptr;  // exp form: 1 − e^{−|δ||w|}
  };
  Tables tables[kMaxTables];

  Logistic(const Isa* isa_, const float* a_, const float* g, size_t nA, size_t rowLen_, const float* w_, size_t nW,
           const float* shift, size_t nShift);

  size_t scratchSize(size_t n) const { return mags.generic ? 2 * static_cast<size_t>(kMaxT) * kMaxR * n : 0; }

  /**
   * vals[k] += Σ_t Σ_j g (F(a + w δ_k) − F(a)) over T taps: the n = rowLen outputs at aOff[t] and input k's
   * weights at wTap[t] + wIn[k].
   */
  void run(int n, int T, const size_t* aOff, const size_t* wTap, int R, const size_t* wIn, const float* delta,
           float* vals, float* scratch) const;
  /**
   * A call site (CallSite) with its kernel arguments prepared once where every call there is a ratio-form call on
   * one table: the site's taps (for a pair, both pixels') in the ratio form, one magnitude of δ, at most kMaxT taps
   * and, for a pair, a pair kernel. call / callPair are then run / runPair bit for bit (the same kernel on the same
   * arguments) without redoing per call the taps' form, the factors' pointers and the tables' lookup: run was 9 %
   * of the 256 × 512 × 512 product (about 2.6 calls per 8 inputs of a row) and runPair 8 % of the Fashion example's
   * ratio convolution (calls of about 4 channels × 2 taps × 32 outputs). A Site serves the one Logistic that
   * started it (the drivers keep one per work chunk of a call): it keeps that Logistic's factors' pointers.
   */
  struct Site : CallSite {
    DotArgs x;
    const Tables* t = nullptr;
    bool direct = false;
  };
  void start(Site& site, int n, size_t T, const size_t* aOff, const size_t* wTap, size_t pairOffset = 0) const;
  void call(Site& site, int R, const size_t* wIn, const float* delta, float* vals, float* scratch) const;
  void callPair(Site& site, int R, const size_t* wIn, const float* delta, const float* delta2, float* vals,
                float* vals2, float* scratch) const;
  /**
   * Whether a site's calls may mix the signs of δ (the ISA's DotSignsFn: each input's term as a one-sign call adds it,
   * bit for bit): a direct site, R ≤ kSignsR. mixedSignCalls: whether any site can.
   */
  bool mixedSignCalls() const { return isa->dotRatioSigns != nullptr && !mags.generic && mags.count == 1; }
  bool signsAt(const Site& site) const { return site.direct && isa->dotRatioSigns != nullptr; }
  void callSigns(Site& site, int R, const size_t* wIn, const float* delta, float* vals) const;
  /**
   * Whether runPair reads the tables once for both pixels (the ISA has a pair kernel): the drivers pair pixels or
   * rows only then — without it, the pairs' four sign classes would only make shorter calls.
   */
  bool pairs() const { return isa->dotRatioPair != nullptr; }
  /**
   * run for two pixels whose outputs are pairOffset apart at every tap, through the same weights: delta2[k] has
   * delta[k]'s magnitude, each pixel's δ one sign. One pass over the tables where the ISA has a pair kernel and
   * both pixels' rows take the ratio form; two runs otherwise. Either way, vals and vals2 are bit for bit two runs'.
   */
  void runPair(int n, int T, const size_t* aOff, size_t pairOffset, const size_t* wTap, int R, const size_t* wIn,
               const float* delta, const float* delta2, float* vals, float* vals2, float* scratch) const;

 private:
  /** A kernel call's arguments that run and runPair share: sizes, δ, the taps and the per-output factors. */
  DotArgs callArgs(int n, int T, const size_t* aOff, const size_t* wTap, int R, const float* delta) const;
};

/** Two runs of one noise model's kernel: its runPair where it has no pair kernel. */
template <class Kernel>
void runAsTwo(const Kernel& K, int n, int T, const size_t* aOff, size_t pairOffset, const size_t* wTap, int R,
              const size_t* wIn, const float* delta, const float* delta2, float* vals, float* vals2, float* scratch) {
  K.run(n, T, aOff, wTap, R, wIn, delta, vals, scratch);
  size_t aOff2[kMaxT];
  for (int t = 0; t < T; t++) aOff2[t] = aOff[t] + pairOffset;
  K.run(n, T, aOff2, wTap, R, wIn, delta2, vals2, scratch);
}

/** d = 1 − e^{−mag·|w|} from the ratio form's tables of mag: D where w ≥ 0, −D/E (= 1 − 1/E) where w < 0. */
void expFormTable(size_t n, const float* w, const float* E, const float* D, float* d);

/** Normal noise: float64 erfc, with the difference of two upper tails when the pair sits on the upper side. */
struct Normal {
  const float* a;
  const float* g;
  const float* w;
  std::vector<double> phi, q;  // Φ(a), 1 − Φ(a)

  Normal(const float* a_, const float* g_, size_t nA, const float* w_);

  size_t scratchSize(size_t) const { return 0; }

  /** As Logistic::run. */
  void run(int n, int T, const size_t* aOff, const size_t* wTap, int R, const size_t* wIn, const float* delta,
           float* vals, float*) const;
  using Site = CallSite;
  void start(Site& site, int n, size_t T, const size_t* aOff, const size_t* wTap, size_t pairOffset = 0) const {
    site = CallSite{n, T, aOff, wTap, pairOffset};
  }
  bool mixedSignCalls() const { return false; }
  bool signsAt(const Site&) const { return false; }
  void callSigns(Site& site, int R, const size_t* wIn, const float* delta, float* vals) const {
    call(site, R, wIn, delta, vals, nullptr);
  }
  /** As Logistic::call and callPair: run and runPair at the site. */
  void call(Site& site, int R, const size_t* wIn, const float* delta, float* vals, float* scratch) const {
    runChunked(*this, site, R, wIn, delta, nullptr, vals, nullptr, scratch);
  }
  void callPair(Site& site, int R, const size_t* wIn, const float* delta, const float* delta2, float* vals,
                float* vals2, float* scratch) const {
    runChunked(*this, site, R, wIn, delta, delta2, vals, vals2, scratch);
  }
  bool pairs() const { return false; }  // float64 per connection, no tables to share
  /** As Logistic::runPair: two runs. */
  void runPair(int n, int T, const size_t* aOff, size_t pairOffset, const size_t* wTap, int R, const size_t* wIn,
               const float* delta, const float* delta2, float* vals, float* vals2, float* scratch) const {
    runAsTwo(*this, n, T, aOff, pairOffset, wTap, R, wIn, delta, delta2, vals, vals2, scratch);
  }
};

}  // namespace sbn
