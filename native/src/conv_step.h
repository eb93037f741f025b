// The BLAS pieces of the native steps (conv_step.cc; the steps themselves are dense_step.cc's): the products on the
// kernels' thread pool, a layer's shape, the unfolding of NHWC states into patches (im2col) and its transpose
// (col2im), the per-draw weight and bias gradients of a conv layer, and the channel-major flatten of conv states that
// a dense layer after them reads (docs/math.md §4.2). Built only with a CBLAS (SBN_HAVE_BLAS).
#pragma once
#include <cstddef>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace sbn {

/**
 * std::allocator, except that a vector's resize leaves new floats uninitialised instead of zeroing them. The steps'
 * buffers are written in full before they are read, and they shrink and grow within their capacity from layer to
 * layer (the scratch of a dense layer's gradient, then a conv layer's patch gradient): zeroing them again on every
 * growth cost about 7 % of CIFAR_S1's DSTE step in memset (docs/kernels.md "Memory").
 */
template <class T>
struct UninitAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = UninitAllocator<U>;
  };
  UninitAllocator() = default;
  template <class U>
  UninitAllocator(const UninitAllocator<U>&) noexcept {}
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    if constexpr (sizeof...(Args) == 0)
      ::new (static_cast<void*>(p)) U;  // default-initialised: no zeroing
    else
      ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
/** A step's working array (see UninitAllocator: contents undefined after a resize until written). */
using StepBuffer = std::vector<float, UninitAllocator<float>>;

/**
 * C [M, N] = alpha·op(A)·op(B) (row-major; op transposes where asked; lda, ldb, ldc as cblas_sgemm's), in fixed
 * blocks of C — of rows when M ≥ N, else of columns — each by single-threaded OpenBLAS on the kernels' thread pool.
 * OpenBLAS's own threads block K by the thread count (a [64, 784] · [784, 512] product differs in its last bits
 * between 1 and 2 threads), and an element's bits may depend on the block that holds it (OpenBLAS picks kernels by
 * the block's shape); blocks fixed by the shape alone make every result independent of the thread count.
 */
void gemm(bool transA, bool transB, size_t M, size_t N, size_t K, float alpha, const float* A, size_t lda,
          const float* B, size_t ldb, float* C, size_t ldc);

/**
 * One affine layer of a step: input [H, W, C] per example (NHWC; a dense layer's flat input has C = n, H = W = 1),
 * output [outH, outW, outC]. kernel 0: dense ([outC, C·H·W] weight, reading its input flattened channel-major);
 * else a K × K convolution with stride and zero padding ([K, K, C, outC] weight, the engine's layout).
 */
struct StepLayer {
  size_t C, H, W, outC, outH, outW, kernel, stride, padding;
  bool conv() const { return kernel > 0; }
  size_t nIn() const { return C * H * W; }
  size_t nOut() const { return outC * outH * outW; }
  /** A conv layer's patch length K·K·C. */
  size_t patch() const { return kernel * kernel * C; }
  size_t weightSize() const { return conv() ? patch() * outC : outC * nIn(); }
  /** A dense layer after a conv layer: its input is read channel-major (C, H, W). */
  bool flattens() const { return !conv() && H * W > 1; }
};

/** cols [B·outH·outW, K·K·C] ← the patch each output position sees, taps (kh, kw, c) in the weight's order. */
void im2col(const StepLayer& l, const float* x, size_t B, StepBuffer& cols);

/** x [B·H·W·C] ← the sum over the patches that saw each input (im2col's transpose); padding dropped. */
void col2im(const StepLayer& l, const float* cols, size_t B, float* x);

/**
 * A conv layer's parameter gradients from e = ∂E/∂a [rows·outH·outW, outC] and the patches it saw: per draw g of
 * `groups` (rows draw-major) gW[g] = colsᵀ e / n and gb[g] = Σ e / n over the draw's n rows and every position.
 */
void convParamGradient(const StepLayer& l, const float* e, const float* cols, size_t rows, size_t groups, float* gW,
                       float* gb);

/** out [B, C·H·W] ← NHWC x [B, H, W, C] flattened channel-major; fromChannelMajor is its inverse. */
void toChannelMajor(const StepLayer& l, const float* x, size_t B, StepBuffer& out);
void fromChannelMajor(const StepLayer& l, const float* v, size_t B, StepBuffer& out);

}  // namespace sbn
