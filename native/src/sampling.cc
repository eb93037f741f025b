// Bernoulli sampling: a counter-based stream (issue #6 item 3; sampling.h).
#include "sampling.h"

#include "runtime.h"

namespace sbn {
namespace {

/** SplitMix64's output function (Steele, Lea, Flood 2014; the constants of Vigna's splitmix64.c). */
inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ULL;

/**
 * u_k = the k-th output (k = 0, 1, …) of SplitMix64 started from state `seed`, top 24 bits as a float in [0, 1):
 * a pure function of (seed, k), so any split of the indices over threads gives the same numbers.
 */
inline float streamUniform(uint64_t seed, uint64_t k) {
  return static_cast<float>(mix64(seed + (k + 1) * kGolden) >> 40) * (1.0f / 16777216.0f);
}

}  // namespace

void bernoulliSample(const float* p, size_t n, uint64_t seed, uint64_t offset, float* out) {
  parallelFor(n, static_cast<double>(n) * 4, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; i++) out[i] = streamUniform(seed, offset + i) < p[i] ? 1.0f : 0.0f;
  });
}

void sampleStates(const float* p, size_t B, size_t H, size_t W, size_t C, uint64_t seed, float on, float off,
                  float* out) {
  const size_t HW = H * W;
  if (HW == 1) {
    // dense: unit (b, c) is both stream index and value index b·C + c — a flat loop, without the division per unit
    // of the general case below (3–4× faster; the same numbers). Captured by value: a store through float* could
    // alias on and off.
    parallelFor(B * C, static_cast<double>(B * C) * 4, [p, out, seed, on, off](size_t begin, size_t end) {
      for (size_t i = begin; i < end; i++) out[i] = streamUniform(seed, i) < p[i] ? on : off;
    });
    return;
  }
  // unit (b, c, hw) in stream order; its value sits at (b·HW + hw)·C + c
  parallelFor(B * C, static_cast<double>(B * C * HW) * 4, [&](size_t begin, size_t end) {
    for (size_t bc = begin; bc < end; bc++) {
      const size_t b = bc / C, c = bc % C;
      const float* pRow = p + b * HW * C + c;
      float* oRow = out + b * HW * C + c;
      for (size_t hw = 0; hw < HW; hw++) {
        oRow[hw * C] = streamUniform(seed, bc * HW + hw) < pRow[hw * C] ? on : off;
      }
    }
  });
}

void streamUniforms(size_t n, uint64_t seed, uint64_t offset, float* out) {
  for (size_t i = 0; i < n; i++) out[i] = streamUniform(seed, offset + i);
}

}  // namespace sbn
