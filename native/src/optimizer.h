// Fused optimiser updates (optimizer.cc): one pass over a parameter instead of the five to seven TensorFlow.js ops
// of src/engine/train/optimizer.ts, each of which allocates a parameter-sized tensor.
#pragma once
#include <cstddef>

namespace sbn {

/** SGD with momentum (PyTorch's rule, dampening 0); `hasVelocity` false: the first step (v ← g). */
struct SgdConfig {
  float lr, momentum, weightDecay;
  bool nesterov, hasVelocity;
};
/** next ← p − lr·u with g' = g + wd·p, v ← μv + g', u = g' + μv (Nesterov) or v; μ = 0: u = g' and v untouched. */
void sgdUpdate(const SgdConfig& c, const float* p, const float* g, float* v, float* next, size_t n);

struct AdamConfig {
  // each the float32 of the number the tfjs ops get: oneMinusBeta1 = 1 − β1 and c1 = 1 − β1^t computed in float64
  float lr, beta1, beta2, oneMinusBeta1, oneMinusBeta2, epsilon, weightDecay, c1, c2;
};
/** m ← β1 m + (1 − β1) g', v ← β2 v + (1 − β2) g'², next ← p − lr·(m/c1)/(√(v/c2) + ε); m, v start at zero. */
void adamUpdate(const AdamConfig& c, const float* p, const float* g, float* m, float* v, float* next, size_t n);

/**
 * The trainer's check of a gradient before the update (src/engine/train/trainer.ts): clamps g to [−clip, clip] in
 * place when clip is finite (as tf.clipByValue: ±∞ become ±clip, NaN stays NaN) and returns whether every value is
 * then finite.
 */
bool clipFinite(float* g, size_t n, float clip);

}  // namespace sbn
