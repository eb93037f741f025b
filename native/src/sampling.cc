// Bernoulli sampling: a counter-based stream (issue #6 item 3; sampling.h).
#include "sampling.h"

#include <algorithm>
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
constexpr size_t kTile = 16;  // sampleStates' transpose tile

/**
 * u_k = the k-th output (k = 0, 1, …) of SplitMix64 started from state `seed`, top 24 bits as a float in [0, 1):
 * a pure function of (seed, k), so any split of the indices over threads gives the same numbers.
 */
inline float streamUniform(uint64_t seed, uint64_t k) {
  // 24 bits: through int32, a single cvtsi2ss (a uint64 conversion branches on SSE2); the same float
  return static_cast<float>(static_cast<int32_t>(mix64(seed + (k + 1) * kGolden) >> 40)) * (1.0f / 16777216.0f);
}

/** u[i] = u_{first+i} for i < n: integer arithmetic only, so every clone gives the same bits. */
SBN_VECTOR_CLONES void fillStream(float* u, size_t n, uint64_t seed, uint64_t first) {
  for (size_t i = 0; i < n; i++) u[i] = streamUniform(seed, first + i);
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
    // on and off by value: read through the lambda's references, every store to out might change them, and the
    // comparisons became a reload and a branch each (4–5× slower)
    const float onV = on, offV = off;
    thread_local std::vector<float> u;
    u.resize((end - begin) * HW);
    const uint64_t first = begin * HW;
    fillStream(u.data(), u.size(), seed, first);
    if (HW == 1) {  // dense: stream order is memory order
      for (size_t i = begin; i < end; i++) out[i] = u[i - begin] < p[i] ? onV : offV;
      return;
    }
    // transposed by tiles of kTile channels × kTile positions, so that the stream rows read and the NHWC rows
    // written both stay in L1 (unit by unit, the writes strode C floats apart: 2× slower at 96 channels)
    for (size_t bc = begin; bc < end;) {
      const size_t b = bc / C, c0 = bc % C;
      const size_t cn = std::min({C - c0, end - bc, kTile});
      const float* uBase = u.data() + (bc - begin) * HW;  // the stream row of (b, c0)
      for (size_t h0 = 0; h0 < HW; h0 += kTile) {
        const size_t h1 = std::min(HW, h0 + kTile);
        for (size_t hw = h0; hw < h1; hw++) {
          const float* pRow = p + (b * HW + hw) * C + c0;
          float* oRow = out + (b * HW + hw) * C + c0;
          for (size_t cc = 0; cc < cn; cc++) oRow[cc] = uBase[cc * HW + hw] < pRow[cc] ? onV : offV;
        }
      }
      bc += cn;
    }
  });
}

void streamUniforms(size_t n, uint64_t seed, uint64_t offset, float* out) { fillStream(out, n, seed, offset); }

}  // namespace sbn
