// Fused optimiser updates (optimizer.h). Each element goes through exactly the float32 operations of the tfjs ops in
// src/engine/train/optimizer.ts, in their order (compiled with -ffp-contract=off: no fused multiply-add), so the
// two paths give bit-identical parameters and slots; test/unit/kernelsStep.test.ts checks it.
#include "optimizer.h"

#include <atomic>
#include <cstring>
#include <cmath>
#include <cstdint>

#include "runtime.h"

namespace sbn {

namespace {

/**
 * SGD's loop for one case of the loop-invariant settings (template flags, so each case compiles to a branch-free,
 * vectorised loop; the scalars are locals: a store through float* may alias a member of SgdConfig, which would keep
 * the compiler reloading them and from vectorising at all).
 */
template <bool decay, bool momentum, bool velocity, bool nesterov>
void sgdRange(const SgdConfig& c, const float* p, const float* g, float* v, float* next, size_t b, size_t e) {
  const float lr = c.lr, mu = c.momentum, wd = c.weightDecay;
  for (size_t i = b; i < e; i++) {
    const float gi = decay ? g[i] + p[i] * wd : g[i];
    float u = gi;
    if (momentum) {
      const float vi = velocity ? v[i] * mu + gi : gi;
      v[i] = vi;
      u = nesterov ? gi + vi * mu : vi;
    }
    next[i] = p[i] - u * lr;
  }
}

template <bool decay, bool momentum, bool velocity>
void sgdNesterov(const SgdConfig& c, const float* p, const float* g, float* v, float* next, size_t b, size_t e) {
  if (c.nesterov)
    sgdRange<decay, momentum, velocity, true>(c, p, g, v, next, b, e);
  else
    sgdRange<decay, momentum, velocity, false>(c, p, g, v, next, b, e);
}

template <bool decay>
void sgdMomentum(const SgdConfig& c, const float* p, const float* g, float* v, float* next, size_t b, size_t e) {
  if (c.momentum == 0)
    sgdRange<decay, false, false, false>(c, p, g, v, next, b, e);
  else if (c.hasVelocity)
    sgdNesterov<decay, true, true>(c, p, g, v, next, b, e);
  else
    sgdNesterov<decay, true, false>(c, p, g, v, next, b, e);
}

template <bool decay>
void adamRange(const AdamConfig& c, const float* p, const float* g, float* m, float* v, float* next, size_t b,
               size_t e) {
  const float lr = c.lr, beta1 = c.beta1, beta2 = c.beta2, oneMinusBeta1 = c.oneMinusBeta1,
              oneMinusBeta2 = c.oneMinusBeta2, epsilon = c.epsilon, wd = c.weightDecay, c1 = c.c1, c2 = c.c2;
  for (size_t i = b; i < e; i++) {
    const float gi = decay ? g[i] + p[i] * wd : g[i];
    const float mi = m[i] * beta1 + gi * oneMinusBeta1;
    const float vi = v[i] * beta2 + gi * gi * oneMinusBeta2;
    m[i] = mi;
    v[i] = vi;
    next[i] = p[i] - mi / c1 / (std::sqrt(vi / c2) + epsilon) * lr;
  }
}

/** Whether x is ±∞ or NaN: its exponent bits all ones (an integer test the compiler vectorises). */
inline uint32_t nonFinite(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return (bits & 0x7f800000u) == 0x7f800000u;
}

}  // namespace

void sgdUpdate(const SgdConfig& c, const float* p, const float* g, float* v, float* next, size_t n) {
  parallelFor(n, static_cast<double>(n), [&](size_t b, size_t e) {
    if (c.weightDecay > 0)
      sgdMomentum<true>(c, p, g, v, next, b, e);
    else
      sgdMomentum<false>(c, p, g, v, next, b, e);
  });
}

void adamUpdate(const AdamConfig& c, const float* p, const float* g, float* m, float* v, float* next, size_t n) {
  parallelFor(n, static_cast<double>(n) * 4, [&](size_t b, size_t e) {
    if (c.weightDecay > 0)
      adamRange<true>(c, p, g, m, v, next, b, e);
    else
      adamRange<false>(c, p, g, m, v, next, b, e);
  });
}

bool clipFinite(float* g, size_t n, float clip) {
  std::atomic<bool> finite{true};
  const bool clamp = std::isfinite(clip);
  parallelFor(n, static_cast<double>(n), [&](size_t b, size_t e) {
    // a value is finite when its exponent bits are not all ones; OR-ing a flag per value (no early exit, no
    // branch) lets the loop vectorise
    uint32_t bad = 0;
    const float hi = clip, lo = -clip;
    if (clamp) {
      for (size_t i = b; i < e; i++) {
        float gi = g[i];
        // min then max, as TensorFlow's ClipByValue: comparisons with NaN are false, so NaN passes through
        gi = gi > hi ? hi : gi;
        gi = gi < lo ? lo : gi;
        g[i] = gi;
        bad |= nonFinite(gi);
      }
    } else {
      for (size_t i = b; i < e; i++) bad |= nonFinite(g[i]);
    }
    if (bad) finite.store(false, std::memory_order_relaxed);
  });
  return finite.load();
}

}  // namespace sbn
