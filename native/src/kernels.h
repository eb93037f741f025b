// sbn_kernels: fused CPU kernels for PSA's backward products (docs/math.md §2.3.3–§2.3.4).
//
// The instruction-set specific part is small: a few inner routines per ISA (scalar, AVX2+FMA, AVX-512F), chosen
// once at load time from what the CPU supports (runtime.cc). Everything else (tables and per-connection sums in
// noise_models.cc, the loops over rows / pixels / taps in drivers.cc, threading in runtime.cc, argument checks in
// addon.cc) is plain C++ shared by every ISA.
//
// Logistic noise, per connection (t = w·δ, u = a + t), without ever forming a difference of two sigmoids:
//   σ(u) − σ(a) = σ(u)·σ(−a)·(1 − e^{−t})
// (σ(u) − σ(v) = σ(u)σ(v)(e^{−v} − e^{−u}) and σ(v)e^{−v} = σ(−v)), for either sign of t. With Gp = g·σ(−a) and
// A = e^{−a} per output and, per weight and |δ| = m, the tables E = e^{−m·w} and D = 1 − E = −expm1(−m·w) (a
// Taylor series where m|w| < 0.5, so small weights keep their relative accuracy):
//   δ = +m:  g·(σ(u) − σ(a)) = Gp · D / (1 + A·E)
//   δ = −m:  g·(σ(u) − σ(a)) = −Gp · D / (A + E) = Gm · D / (1 + A⁻¹·E)   (Gm = −g·σ(a); the same with
//            e^{+m·w} = 1/E: the first form when a call's inputs are all negative, the second per input in mixed calls)
// — the authors' "ratio" form of the sigmoid (docs/math.md §2.3.4) with every exponential precomputed: a
// connection costs a multiply-add, a reciprocal (estimate + one Newton step) and two multiplies (on AVX-512 one
// reciprocal serves two output vectors: isa_avx512.cc twoTerms); where a call's
// inputs share the sign of δ (the dense driver groups them, the conv driver from kSignSplitOutputs channels) there
// is no per-connection sign test or blend. Every
// factor is accurate (D from expm1, no difference of sigmoids), so nothing cancels. A·E and A⁻¹·E must stay finite:
// a row of outputs takes this form only where max|a| + max|δ|·max|w| ≤ kRatioLimit, and the exp form
// (s = σ(±u) from e^{−|u|} per connection, DotExpFn) otherwise.
#pragma once
#include <cstddef>

namespace sbn {

/**
 * Bound on |a| + |w·δ| over a row for the ratio form: A·E and E stay within e^{±40}, so that the AVX-512 kernel's
 * product of two denominators (one reciprocal for two output vectors) is a normal float (< e^{81}, > e^{−81}).
 */
constexpr float kRatioLimit = 40.0f;

/** Per output unit: A = e^{−a}, Ainv = e^{a}, gp = g·σ(−a), gm = −g·σ(a). */
using PrepOutFn = void (*)(size_t n, const float* a, const float* g, float* A, float* Ainv, float* gp, float* gm);
/**
 * Per weight, for one |δ| = mag: the ratio form's tables E = e^{−mag·w} and D = 1 − E (accurate when small).
 * Returns max|w|. E is clamped to [e^{−87.3}, e^{88}]: exact where mag·max|w| ≤ kRatioLimit (the only place the
 * ratio form reads it).
 */
using PrepWFn = float (*)(size_t n, const float* w, float mag, float* E, float* D);
/**
 * The native steps' logistic F(a) and F′(a): p = σ(a) = 1/(1 + e^{−a}) and d = σ(a)·(1 − σ(a))·scale per unit. The
 * vector paths take e^{−a} from the same expf as the sums (≈1 ulp) and divide exactly, so p stays within a few ulp of
 * the scalar std::exp form; σ = 0 where e^{−a} overflows (a < −88), NaN stays NaN.
 */
using LogisticFn = void (*)(size_t n, const float* a, float scale, float* p, float* d);
constexpr int kMaxR = 8;   // inputs (dense) or input channels (conv) per call
constexpr int kMaxT = 32;  // kernel taps per call

/**
 * One call: R ≤ kMaxR inputs, each seen through T ≤ kMaxT taps (dense: T = 1) of n output units. For tap t the
 * output side is a row of n units, a and its factors A, Ainv, gp, gm at offset outTap[t], and input k's weight row
 * w[k] + weightTap[t] with its tables (the ratio form's E, D for delta[k], or the exp form's d) at E[k] +
 * tableTap[t] etc.: bases plus the caller's offsets, so a call's arguments cost R pointers, not 5T + 2R·T (a conv
 * call has up to 8 inputs × 9 taps). The call adds Σ_t Σ_j g_j·(F(a_j + w_j·delta[k]) − F(a_j)) to out[k], summing
 * in a fixed order.
 */
struct DotArgs {
  int n = 0, T = 0, R = 0;
  const size_t* outTap;  // [T], the caller's: tap t's row of outputs at a + outTap[t], A + outTap[t], …
  const float* a;
  const float* A;
  const float* Ainv;
  const float* gp;
  const float* gm;
  const size_t* weightTap;  // [T], the caller's
  const size_t* tableTap;   // [T]: weightTap, or offsets into a scratch of tables built for this call
  const float* w[kMaxR];
  const float* E[kMaxR];
  const float* D[kMaxR];
  const float* d[kMaxR];
  const float* delta;  // [R], the caller's
  int sign = 0;  // ratio form: +1 every delta[k] > 0, −1 every delta[k] < 0, 0 mixed
  // DotPairFn only: a second pixel whose outputs lie pairOffset after the first's at every tap, read through the
  // same tables; sign2 is the sign of its inputs' δ (±1; its |δ| are the first pixel's)
  size_t pairOffset = 0;
  int sign2 = 0;
  // DotSignsFn only: bit k set where delta[k] < 0 (R ≤ kSignsR)
  unsigned negMask = 0;
};
/** The rows of inputs k0 … k0 + R − 1 at one tap: each input's base plus the tap's offset. */
template <int R>
inline void rowsAtTap(const float* const* base, int k0, size_t offset, const float** rows) {
  for (int k = 0; k < R; k++) rows[k] = base[k0 + k] + offset;
}

/**
 * Ratio form (the row within kRatioLimit; E, D the tables of |delta[k]|): term = G·D/(1 + P·E) with (P, G) = (A, gp)
 * for delta[k] > 0 and (Ainv, gm) for delta[k] < 0. Exp form (any a): term = G(t)·σ(±u)·d with t = w·delta, u = a + t, G = gp for t ≥ 0 and gm for
 * t < 0, d = 1 − e^{−|t|}.
 */
using DotFn = void (*)(const DotArgs& args, float* out);
/**
 * The ratio form for two pixels at once (sign and sign2 each ±1): out[k] and out2[k] as two DotFn calls would add
 * them, bit for bit — each table row read serves both pixels. A conv layer's tables (K·K·C·F pairs) outgrow L1, and
 * every pixel reads all of them: read once for two images' same pixel, half of that traffic goes.
 */
using DotPairFn = void (*)(const DotArgs& args, float* out, float* out2);  // D[k] − E[k] the same for every k
/**
 * The ratio form for R ≤ kSignsR inputs of either sign (negMask), each input's sign fixed at compile time: out[k] as
 * a one-sign DotFn call would add it, bit for bit, whatever the other inputs' signs — so a dense row's inputs need not
 * be split by sign into shorter calls (the sign split made a third of the 512-output product's calls 1–3 inputs long).
 */
using DotSignsFn = void (*)(const DotArgs& args, float* out);
constexpr int kSignsR = 4;
/**
 * Throughput limits, `reps` passes over L1-resident x, y: Σ_j 1/(1 + e^{−|x_j|}) (exp + reciprocal: what the exp
 * form pays per connection) or, with ratio = true, Σ_j 1/(1 + x_j·y_j) (what the ratio form pays).
 */
using ExpBenchFn = float (*)(size_t n, const float* x, const float* y, int reps, bool ratio);

struct Isa {
  const char* name;
  int lanes;
  PrepOutFn prepOut;
  PrepWFn prepW;
  LogisticFn logistic;
  DotFn dotRatio;
  DotFn dotExp;
  ExpBenchFn expBench;
  DotPairFn dotRatioPair;    // nullptr: two dotRatio calls
  DotSignsFn dotRatioSigns;  // nullptr: calls split by sign
};

const Isa* isaScalar();
/** nullptr when this build has no such path (non-x86 or a compiler without target attributes). */
const Isa* isaAvx2();
const Isa* isaAvx512();

}  // namespace sbn
