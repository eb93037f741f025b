// The BLAS pieces of the native steps (conv_step.h). The products and the loops over images run on the kernels'
// thread pool; each value is written by one thread in an order fixed by the shapes, so results do not depend on the
// thread count.
#ifdef SBN_HAVE_BLAS
#include "conv_step.h"

#include <cblas.h>

#include <algorithm>
#include <cstring>

#include "runtime.h"

namespace sbn {
namespace {

/** OpenBLAS's own threads stay off: the pool runs the blocks (gemm). */
void singleThreadedBlas() {
  static const bool once = (openblas_set_num_threads(1), true);
  (void)once;
}

// Blocks of at least 256 rows or 256 columns, at most kGemmBlocks of them, of even sizes that are multiples of the
// AVX-512 kernels' 16: every block packs the other operand again (with blocks of 256 rows a CIFAR_S1 layer's 12 544
// rows packed its weights 49 times per product; with blocks of 64 columns the dense 784-512-512-10 net at batch 256
// packed its batch 8 times per forward product, and its four products took 4.6 ms at one thread against 4.1 with
// 256), and blocks of uneven size leave a thread idle at the end (864 rows as 256 + 256 + 256 + 96 on 2 threads: 512
// against 352). The sizes follow from the shape alone (conv_step.h).
constexpr size_t kGemmRows = 256, kGemmCols = 256, kGemmAlign = 16, kGemmBlocks = 16;

constexpr size_t ceilDiv(size_t a, size_t b) { return (a + b - 1) / b; }

// A product whose inner dimension is long and whose result is small — a conv layer's weight gradient, colsᵀ · e over
// every position of the batch (CIFAR_S1 layer 2: [864, 96] over 12 544) — is split along the inner dimension instead:
// blocks of rows re-packed all of e for each of their 4 blocks, blocks of the inner dimension pack each slice once.
// The partial results are added in block order (the split follows from the shape alone, as above).
constexpr size_t kSplitInner = 2048;

bool splitsInner(size_t M, size_t N, size_t K) { return K >= 2 * kSplitInner && K >= 4 * std::max(M, N); }

void gemmSplitInner(bool transA, bool transB, size_t M, size_t N, size_t K, float alpha, const float* A, size_t lda,
                    const float* B, size_t ldb, float* C, size_t ldc) {
  size_t parts0 = 1;  // a power of two: even shares on 2, 4, 8, 16 threads
  while (parts0 < kGemmBlocks && parts0 * kSplitInner < K) parts0 *= 2;
  const size_t slice = ceilDiv(ceilDiv(K, parts0), kGemmAlign) * kGemmAlign;
  const size_t parts = ceilDiv(K, slice);
  float* partial = threadWorkspace().get(Workspace::kGemmParts, parts * M * N);
  parallelFor(parts, static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K), [&](size_t b, size_t e) {
    for (size_t p = b; p < e; p++) {
      const size_t k0 = p * slice, len = std::min(slice, K - k0);
      // op(A)'s columns k0 … and op(B)'s rows k0 …
      const float* a = A + (transA ? k0 * lda : k0);
      const float* bm = B + (transB ? k0 : k0 * ldb);
      cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                  static_cast<int>(M), static_cast<int>(N), static_cast<int>(len), alpha, a, static_cast<int>(lda), bm,
                  static_cast<int>(ldb), 0.0f, partial + p * M * N, static_cast<int>(N));
    }
  });
  parallelFor(M, static_cast<double>(M * N * parts), [&](size_t b, size_t e) {
    for (size_t i = b; i < e; i++) {
      float* c = C + i * ldc;
      std::copy_n(partial + i * N, N, c);
      for (size_t p = 1; p < parts; p++) {
        const float* q = partial + (p * M + i) * N;
        for (size_t j = 0; j < N; j++) c[j] += q[j];
      }
    }
  });
}

}  // namespace

void gemm(bool transA, bool transB, size_t M, size_t N, size_t K, float alpha, const float* A, size_t lda,
          const float* B, size_t ldb, float* C, size_t ldc) {
  singleThreadedBlas();
  if (splitsInner(M, N, K)) return gemmSplitInner(transA, transB, M, N, K, alpha, A, lda, B, ldb, C, ldc);
  const bool byRows = M >= N;
  const size_t dim = byRows ? M : N;
  const size_t target = std::max(byRows ? kGemmRows : kGemmCols, ceilDiv(dim, kGemmBlocks));
  const size_t block = ceilDiv(ceilDiv(dim, ceilDiv(dim, target)), kGemmAlign) * kGemmAlign;
  const size_t blocks = ceilDiv(dim, block);
  const double work = static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  parallelFor(blocks, work, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; i++) {
      const size_t start = i * block, size = std::min(block, dim - start);
      // a block of rows reads the matching rows of op(A); a block of columns the matching columns of op(B)
      const float* a = byRows ? A + (transA ? start : start * lda) : A;
      const float* bm = byRows ? B : B + (transB ? start * ldb : start);
      cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                  static_cast<int>(byRows ? size : M), static_cast<int>(byRows ? N : size), static_cast<int>(K), alpha,
                  a, static_cast<int>(lda), bm, static_cast<int>(ldb), 0.0f, C + (byRows ? start * ldc : start),
                  static_cast<int>(ldc));
    }
  });
}

void im2col(const StepLayer& l, const float* x, size_t B, StepBuffer& cols) {
  const size_t P = l.patch(), positions = l.outH * l.outW, K = l.kernel;
  cols.resize(B * positions * P);
  const long H = static_cast<long>(l.H), W = static_cast<long>(l.W), pad = static_cast<long>(l.padding);
  parallelFor(B, static_cast<double>(B * positions * P), [&](size_t begin, size_t end) {
    for (size_t b = begin; b < end; b++)
      for (size_t ho = 0; ho < l.outH; ho++)
        for (size_t wo = 0; wo < l.outW; wo++) {
          float* row = cols.data() + ((b * l.outH + ho) * l.outW + wo) * P;
          for (size_t kh = 0; kh < K; kh++) {
            const long h = static_cast<long>(ho * l.stride + kh) - pad;
            for (size_t kw = 0; kw < K; kw++) {
              const long w = static_cast<long>(wo * l.stride + kw) - pad;
              float* tap = row + (kh * K + kw) * l.C;
              if (h < 0 || h >= H || w < 0 || w >= W)
                std::fill(tap, tap + l.C, 0.0f);
              else
                std::memcpy(tap, x + ((b * l.H + static_cast<size_t>(h)) * l.W + static_cast<size_t>(w)) * l.C,
                            l.C * sizeof(float));
            }
          }
        }
  });
}

void col2im(const StepLayer& l, const float* cols, size_t B, float* x) {
  const size_t P = l.patch(), positions = l.outH * l.outW, K = l.kernel, image = l.nIn();
  const long H = static_cast<long>(l.H), W = static_cast<long>(l.W), pad = static_cast<long>(l.padding);
  parallelFor(B, static_cast<double>(B * positions * P), [&](size_t begin, size_t end) {
    std::fill(x + begin * image, x + end * image, 0.0f);
    for (size_t b = begin; b < end; b++)
      for (size_t ho = 0; ho < l.outH; ho++)
        for (size_t wo = 0; wo < l.outW; wo++) {
          const float* row = cols + ((b * l.outH + ho) * l.outW + wo) * P;
          for (size_t kh = 0; kh < K; kh++) {
            const long h = static_cast<long>(ho * l.stride + kh) - pad;
            if (h < 0 || h >= H) continue;
            for (size_t kw = 0; kw < K; kw++) {
              const long w = static_cast<long>(wo * l.stride + kw) - pad;
              if (w < 0 || w >= W) continue;
              const float* tap = row + (kh * K + kw) * l.C;
              float* dst = x + ((b * l.H + static_cast<size_t>(h)) * l.W + static_cast<size_t>(w)) * l.C;
              for (size_t c = 0; c < l.C; c++) dst[c] += tap[c];
            }
          }
        }
  });
}

void convParamGradient(const StepLayer& l, const float* e, const float* cols, size_t rows, size_t groups, float* gW,
                       float* gb) {
  const size_t n = rows / groups, perDraw = n * l.outH * l.outW, P = l.patch(), F = l.outC;
  const float fn = static_cast<float>(n);
  for (size_t g = 0; g < groups; g++) {
    // the sums over the draw's positions, then / n as the tfjs path's tf.div (the same rounding)
    float* w = gW + g * P * F;
    gemm(true, false, P, F, perDraw, 1.0f, cols + g * perDraw * P, P, e + g * perDraw * F, F, w, F);
    for (size_t i = 0; i < P * F; i++) w[i] /= fn;
    float* b = gb + g * F;
    std::fill(b, b + F, 0.0f);
    for (size_t r = g * perDraw; r < (g + 1) * perDraw; r++)
      for (size_t f = 0; f < F; f++) b[f] += e[r * F + f];
    for (size_t f = 0; f < F; f++) b[f] /= fn;
  }
}

// The two layouts' transposes run per image on the pool, each with the channel index innermost: measured on 16 images
// of CIFAR_S1's [784, 96], that order takes 0.7 (to channel-major) and 0.5 ms (back) where the other took 1.2 and
// 2.1, and 16 × 16 tiles 0.7–0.95.
void toChannelMajor(const StepLayer& l, const float* x, size_t B, StepBuffer& out) {
  const size_t HW = l.H * l.W, C = l.C;
  out.resize(B * HW * C);
  float* o = out.data();
  parallelFor(B, static_cast<double>(B * HW * C), [=](size_t b0, size_t b1) {
    for (size_t b = b0; b < b1; b++)
      for (size_t hw = 0; hw < HW; hw++)
        for (size_t c = 0; c < C; c++) o[(b * C + c) * HW + hw] = x[(b * HW + hw) * C + c];
  });
}

void fromChannelMajor(const StepLayer& l, const float* v, size_t B, StepBuffer& out) {
  const size_t HW = l.H * l.W, C = l.C;
  out.resize(B * HW * C);
  float* o = out.data();
  parallelFor(B, static_cast<double>(B * HW * C), [=](size_t b0, size_t b1) {
    for (size_t b = b0; b < b1; b++)
      for (size_t hw = 0; hw < HW; hw++)
        for (size_t c = 0; c < C; c++) o[(b * HW + hw) * C + c] = v[(b * C + c) * HW + hw];
  });
}

}  // namespace sbn
#endif  // SBN_HAVE_BLAS
