// PSA's last layer (docs/math.md §2.3.2): the single-flip losses of the output layer and their gradients
// (last_layer.cc).
#pragma once
#include <cstddef>

namespace sbn {

/** Inputs and outputs of psaFlips (row-major). */
struct FlipsArgs {
  const float* logits;  // [rows, K]   η₀
  const float* w;       // [K, n]      the output layer's weight
  const float* shift;   // [rows, n]   δ_i
  const float* labels;  // [rows]      class index (nll) or ±1 (logistic)
  const float* rho;     // [rows, n]   ρ_i
  size_t rows, n, K;
  bool logistic;
  size_t groups;   // 0: corr per row; else the mean of corr over each group of rows / groups consecutive rows
  float* lambda;   // [rows, n]     f_i − f₀
  float* cSum;     // [rows, K]     (1 − Σρ) ∂ℓ(η₀) + Σ_i ρ_i ∂ℓ(η_i)
  float* corr;     // [rows, K, n]  ρ_i δ_i ∂ℓ(η_i)  (groups > 0: [groups, K, n], its mean per group)
  float* rowLoss;  // [rows]        (1 − Σρ) f₀ + Σ_i ρ_i f_i
};

/**
 * Fills the outputs of `args` (labels already checked: class indices below K, or ±1 with K = 1), threaded over
 * rows; every output is computed by one thread in a fixed order, so thread counts do not matter.
 */
void singleFlips(const FlipsArgs& args);

}  // namespace sbn
