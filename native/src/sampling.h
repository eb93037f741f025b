// Bernoulli sampling from a counter-based stream (sampling.cc): every binary state the engine samples comes from
// here or from src/engine/counterStream.ts, its JavaScript twin (the same numbers).
#pragma once
#include <cstddef>
#include <cstdint>

namespace sbn {

/**
 * out[i] = 1 if u_{offset+i} < p[i] else 0, where u_k is the k-th output of SplitMix64 started from state `seed`
 * (top 24 bits, in [0, 1)); threaded, and counter-based, so thread counts do not matter.
 */
void bernoulliSample(const float* p, size_t n, uint64_t seed, uint64_t offset, float* out);

/**
 * Binary states of a [B, H, W, C] tensor (row-major, NHWC; dense layers: H = W = 1) with the units numbered
 * channel-major: out[b,h,w,c] = on if u_k < p[b,h,w,c] else off, k = ((b·C + c)·H + h)·W + w — bernoulliSample on
 * the channel-major transpose, transposed back and mapped to the coding's values, in one pass (a conv layer and its
 * dense equivalent get the same states).
 */
void sampleStates(const float* p, size_t B, size_t H, size_t W, size_t C, uint64_t seed, float on, float off,
                  float* out);

/** out[i] = u_{offset+i} of that stream, single-threaded. */
void streamUniforms(size_t n, uint64_t seed, uint64_t offset, float* out);

}  // namespace sbn
