// What every kernel driver shares: the configuration chosen when the addon loads (instruction set, thread count),
// the process-wide thread pool that runs parallelFor, and the per-thread grow-only scratch buffers.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels.h"

/**
 * A function of plain C++ loops written to auto-vectorise, compiled once per ISA and chosen when the addon loads
 * (GCC's target_clones): 16 lanes on x86-64-v4 (AVX-512 F, BW, CD, DQ, VL — DQ has the 64-bit multiplies), 8 on
 * x86-64-v3 (AVX2, FMA), else the x86-64 baseline.
 */
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__)) && defined(__linux__)
#define SBN_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SBN_VECTOR_CLONES
#endif

namespace sbn {

// ---- configuration -----------------------------------------------------------------------------------------------

/**
 * Threads per call: SBN_KERNEL_THREADS when it is a positive integer (at most kMaxThreads), else the hardware
 * threads. The pool grows to the largest count asked for; setThreads() changes the count per call, not the pool.
 */
int defaultThreads();
constexpr int kMaxThreads = 1024;
/** The instruction set by name ('scalar', 'avx2', 'avx512') when this CPU and build support it, else nullptr. */
const Isa* isaByName(const std::string& name);
/** SBN_KERNEL_ISA when supported, else AVX-512F, AVX2+FMA or scalar, the best the CPU supports. */
const Isa* bestIsa();

const Isa* currentIsa();
void setCurrentIsa(const Isa* isa);
int currentThreads();
/** n > 0: n threads per call (at most kMaxThreads); 0: defaultThreads(). Returns the count now in use. */
int setCurrentThreads(long long n);

// ---- the thread pool ---------------------------------------------------------------------------------------------

using RangeFn = void (*)(const void* ctx, size_t begin, size_t end);

/** parallelFor without the template: fn(ctx, begin, end) over chunks of [0, units). */
void parallelRun(size_t units, double work, RangeFn fn, const void* ctx);

/**
 * Runs fn(begin, end) over [0, units) on up to currentThreads() threads: the caller and helpers from the pool.
 * Chunks (about 16 per thread) are handed out dynamically (a busy core does not hold the others up), so which
 * thread computes a unit varies from run to run — the result must depend on the unit only, never on the chunking.
 * `work` (connections) decides whether threads pay off at all. The first exception of any thread (bad_alloc) is
 * rethrown here once every thread has left the job.
 */
template <class Fn>
void parallelFor(size_t units, double work, const Fn& fn) {
  parallelRun(
      units, work, [](const void* ctx, size_t b, size_t e) { (*static_cast<const Fn*>(ctx))(b, e); }, &fn);
}

/**
 * fn(begin, end) over [0, count) in blocks of kElementBlock elements on the pool: for elementwise passes over a step's
 * arrays (each element is written from its own inputs only, so the split never changes a result). CIFAR_S1's layers
 * have 1.2–1.4 M units: a pass left on one thread held the other one idle for about 1 ms.
 */
constexpr size_t kElementBlock = 16384;
template <class Fn>
void forElements(size_t count, const Fn& fn) {
  parallelFor((count + kElementBlock - 1) / kElementBlock, static_cast<double>(count),
              [&](size_t b, size_t e) { fn(b * kElementBlock, std::min(count, e * kElementBlock)); });
}

/**
 * Each Node environment (the main thread, every worker_thread) that loads the addon holds the pool; when the last
 * one is torn down (napi_add_env_cleanup_hook) the pool's threads are stopped and joined, so no thread outlives
 * the addon's users. A later user starts a fresh pool.
 */
void holdPool();
void releasePool();

// ---- scratch -----------------------------------------------------------------------------------------------------

/**
 * Grow-only buffers reused from call to call, one set per calling thread. Fresh multi-megabyte vectors per call
 * cost more than the arithmetic: every new page is a fault the OS zero-fills (measured: ~11 ms of a 14 ms call
 * for 2048 × 512 outputs, and much of the system time of a training step).
 */
class Workspace {
 public:
  // kTables + 3m, + 3m + 1, + 3m + 2: the tables E, D and d of magnitude m (noise_models.cc)
  // kFlipExp: psaFlips' e^{±m·w} (last_layer.cc); kGemmParts: a split product's partial results (conv_step.cc gemm)
  enum Slot { kA, kAinv, kGp, kGm, kFlipExp, kGemmParts, kTables };
  float* get(size_t slot, size_t n) { return grow(buffers_, slot, n); }
  /**
   * get, with the array starting `phase` bytes past a 4 KiB boundary (a multiple of 4 below 4096): where arrays read
   * side by side must not share L1 sets (noise_models.cc kPhaseA …).
   */
  float* getAt(size_t slot, size_t n, size_t phase) {
    float* p = grow(buffers_, slot, n + 1024);
    const size_t mis = (phase - reinterpret_cast<uintptr_t>(p) % 4096 + 4096) % 4096;
    return p + mis / sizeof(float);
  }
  // psaFlips' partial sums (last_layer.cc)
  enum DoubleSlot { kFlipPartials, kFlipCorrection };
  double* getDoubles(DoubleSlot slot, size_t n) { return grow(doubles_, slot, n); }

 private:
  template <class T>
  static T* grow(std::vector<std::vector<T>>& buffers, size_t slot, size_t n) {
    if (buffers.size() <= slot) buffers.resize(slot + 1);
    std::vector<T>& b = buffers[slot];
    if (b.size() < n) b.resize(n);
    return b.data();
  }
  std::vector<std::vector<float>> buffers_;
  std::vector<std::vector<double>> doubles_;
};

/** The calling thread's workspace. */
Workspace& threadWorkspace();

}  // namespace sbn
