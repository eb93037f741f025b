// Fused optimiser updates (optimizer.h). Each element goes through exactly the float32 operations of the tfjs ops in
// src/engine/train/optimizer.ts, in their order (compiled with -ffp-contract=off: no fused multiply-add), so the
// two paths give bit-identical parameters and slots; test/unit/kernelsStep.test.ts checks it.
#include "optimizer.h"

#include <atomic>
#include <cmath>

#include "runtime.h"

namespace sbn {

void sgdUpdate(const SgdConfig& c, const float* p, const float* g, float* v, float* next, size_t n) {
  parallelFor(n, static_cast<double>(n), [&](size_t b, size_t e) {
    for (size_t i = b; i < e; i++) {
      const float gi = c.weightDecay > 0 ? g[i] + p[i] * c.weightDecay : g[i];
      float u = gi;
      if (c.momentum != 0) {
        const float vi = c.hasVelocity ? v[i] * c.momentum + gi : gi;
        v[i] = vi;
        u = c.nesterov ? gi + vi * c.momentum : vi;
      }
      next[i] = p[i] - u * c.lr;
    }
  });
}

void adamUpdate(const AdamConfig& c, const float* p, const float* g, float* m, float* v, float* next, size_t n) {
  parallelFor(n, static_cast<double>(n) * 4, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; i++) {
      const float gi = c.weightDecay > 0 ? g[i] + p[i] * c.weightDecay : g[i];
      const float mi = m[i] * c.beta1 + gi * c.oneMinusBeta1;
      const float vi = v[i] * c.beta2 + gi * gi * c.oneMinusBeta2;
      m[i] = mi;
      v[i] = vi;
      next[i] = p[i] - mi / c.c1 / (std::sqrt(vi / c.c2) + c.epsilon) * c.lr;
    }
  });
}

bool clipFinite(float* g, size_t n, float clip) {
  std::atomic<bool> finite{true};
  const bool clamp = std::isfinite(clip);
  parallelFor(n, static_cast<double>(n), [&](size_t b, size_t e) {
    bool ok = true;
    for (size_t i = b; i < e; i++) {
      float gi = g[i];
      if (clamp) {
        // min then max, as TensorFlow's ClipByValue: comparisons with NaN are false, so NaN passes through
        gi = gi > clip ? clip : gi;
        gi = gi < -clip ? -clip : gi;
        g[i] = gi;
      }
      ok = ok && std::isfinite(gi);
    }
    if (!ok) finite.store(false, std::memory_order_relaxed);
  });
  return finite.load();
}

}  // namespace sbn
