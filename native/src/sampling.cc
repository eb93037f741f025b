// Bernoulli sampling: a counter-based stream (issue #6 item 3; sampling.h).
#include "sampling.h"

#include <vector>

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
  // 24 bits: through int32, a single cvtsi2ss (a uint64 conversion branches on SSE2); the same float
  return static_cast<float>(static_cast<int32_t>(mix64(seed + (k + 1) * kGolden) >> 40)) * (1.0f / 16777216.0f);
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
  // unit (b, c, hw) in stream order; its value sits at (b·HW + hw)·C + c. A chunk's stream values first, in
  // stream order (a contiguous loop the compiler vectorises), then the comparisons
  parallelFor(B * C, static_cast<double>(B * C * HW) * 4, [&](size_t begin, size_t end) {
    thread_local std::vector<float> u;
    u.resize((end - begin) * HW);
    const uint64_t first = begin * HW;
    for (size_t i = 0; i < u.size(); i++) u[i] = streamUniform(seed, first + i);
    if (HW == 1) {  // dense: stream order is memory order
      for (size_t i = begin; i < end; i++) out[i] = u[i - begin] < p[i] ? on : off;
      return;
    }
    // (b, c) stepped along, not divided out of bc per unit (a 64-bit division costs more than the unit)
    const float* uRow = u.data();
    for (size_t b = begin / C, c = begin % C, bc = begin; bc < end; bc++, uRow += HW) {
      const float* pRow = p + b * HW * C + c;
      float* oRow = out + b * HW * C + c;
      for (size_t hw = 0; hw < HW; hw++) oRow[hw * C] = uRow[hw] < pRow[hw * C] ? on : off;
      if (++c == C) c = 0, b++;
    }
  });
}

void streamUniforms(size_t n, uint64_t seed, uint64_t offset, float* out) {
  for (size_t i = 0; i < n; i++) out[i] = streamUniform(seed, offset + i);
}

}  // namespace sbn
