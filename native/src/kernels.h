// sbn_kernels: fused CPU kernels for PSA's backward products (docs/math.md §2.3.3–§2.3.4).
//
// The instruction-set specific part is small: three inner routines per ISA (scalar, AVX2+FMA, AVX-512F), chosen
// once at load time from what the CPU supports (runtime.cc). Everything else (tables and per-connection sums in
// noise_models.cc, the loops over rows / pixels / taps in drivers.cc, threading in runtime.cc, argument checks in
// addon.cc) is plain C++ shared by every ISA.
//
// Logistic noise, per connection (t = w·δ, u = a + t), without ever forming a difference of two sigmoids:
//   σ(u) − σ(a) =  σ(u)·σ(−a)·(1 − e^{−|t|})      if t ≥ 0
//               = −σ(a)·σ(−u)·(1 − e^{−|t|})      if t < 0
// (σ(u) − σ(v) = σ(u)σ(v)(e^{−v} − e^{−u}) and σ(v)e^{−v} = σ(−v)). Every factor lies in [0, 1]: no overflow,
// no ∞·0, no cancellation (D = 1 − e^{−|t|} = −expm1(−|t|) comes from a per-weight table). With per-output
// Gp = g·σ(−a), Gm = −g·σ(a):
//   g·(σ(u) − σ(a)) = (t ≥ 0 ? Gp : Gm) · (t ≥ 0 ? σ(u) : σ(−u)) · D
// The sigmoid is the authors' "ratio" form (docs/math.md §2.3.4) with the exponentials precomputed — A = e^{−a},
// A⁻¹ = e^{a} per output unit, Q = e^{−|t|} per weight and |δ| — so a connection costs one multiply-add and
// one reciprocal:   t ≥ 0: σ(u) = 1/(1 + A·Q),   t < 0: σ(−u) = 1/(1 + A⁻¹·Q).
// Stable where A·Q would over/underflow: Q ≤ 1 always, and outputs with |a| > kRatioLimit (A or A⁻¹ beyond
// e^{80}) go through the exp form instead, s = σ(±u) from e^{−|u|} per connection (DotExpFn).
#pragma once
#include <cstddef>

namespace sbn {

/** |a| above which an output unit takes the exp path (e^{80} and e^{−80} are normal floats). */
constexpr float kRatioLimit = 80.0f;

/** Per output unit: A = e^{−a}, Ainv = e^{a}, gp = g·σ(−a), gm = −g·σ(a). */
using PrepOutFn = void (*)(size_t n, const float* a, const float* g, float* A, float* Ainv, float* gp, float* gm);
/** Per weight, for one |δ| = mag: q = e^{−mag·|w|} carrying the sign of w, d = 1 − e^{−mag·|w|} (accurate when small). */
using PrepWFn = void (*)(size_t n, const float* w, float mag, float* q, float* d);
constexpr int kMaxR = 8;   // inputs (dense) or input channels (conv) per call
constexpr int kMaxT = 32;  // kernel taps per call

/**
 * One call: R ≤ kMaxR inputs, each seen through T ≤ kMaxT taps (dense: T = 1) of n output units. For tap t the
 * output side is a row of n units (a, or its factors A, Ainv, gp, gm) and input k's weight row (w, or its
 * tables q, d). The call adds Σ_t Σ_j g_j·(F(a_j + w_j·delta[k]) − F(a_j)) to out[k], summing in a fixed order.
 */
struct DotArgs {
  int n = 0, T = 0, R = 0;
  const float* a[kMaxT];
  const float* A[kMaxT];
  const float* Ainv[kMaxT];
  const float* gp[kMaxT];
  const float* gm[kMaxT];
  const float* w[kMaxT][kMaxR];
  const float* q[kMaxT][kMaxR];
  const float* d[kMaxT][kMaxR];
  float delta[kMaxR];
};
/**
 * Ratio form (all |a| ≤ kRatioLimit): term = G · 1/(1 + P·|q|) · d, where the sign of t = sign(q) ⊕ sign(delta)
 * picks P = A or Ainv and G = gp or gm. Exp form (any a): term = G(t) · σ(±u) · d with t = w·delta, u = a + t.
 */
using DotFn = void (*)(const DotArgs& args, float* out);
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
  DotFn dotRatio;
  DotFn dotExp;
  ExpBenchFn expBench;
};

const Isa* isaScalar();
/** nullptr when this build has no such path (non-x86 or a compiler without target attributes). */
const Isa* isaAvx2();
const Isa* isaAvx512();

}  // namespace sbn
