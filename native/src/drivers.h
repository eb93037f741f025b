// The PSA products' drivers (drivers.cc): the loops over rows, pixels and kernel taps that hand groups of
// connections to a noise model (noise_models.h), split over the thread pool so that every output element is
// computed by one thread in a fixed order (results do not depend on the thread count).
#pragma once
#include <cstddef>

#include "kernels.h"

namespace sbn {

struct DenseShape {
  size_t rows, nIn, nOut;
};

/** NHWC input [B, H, W, C], output [B, Ho, Wo, F], kernel [K, K, C, F], zero padding. */
struct ConvShape {
  size_t B, H, W, C, Ho, Wo, F, K, stride, padding;
};

/**
 * λ[r,i] = Σ_j [F(a[r,j] + wT[i,j]·shift[r,i]) − F(a[r,j])]·g[r,j]: a, g [rows·nOut], wT [nIn·nOut],
 * shift [rows·nIn], out [rows·nIn]. Normal noise when `normal`, else logistic on `isa`.
 */
void denseProduct(const Isa* isa, bool normal, const float* a, const float* wT, const float* shift, const float* g,
                  const DenseShape& s, float* out);

/**
 * The ratio convolution: λ[b,h,x,c] summed over every (kernel tap, output position) input (h, x) feeds, with
 * δ = shift[b,h,x,c]; a, g [B·Ho·Wo·F], shift and out [B·H·W·C], w [K·K·C·F].
 */
void ratioConvolution(const Isa* isa, bool normal, const float* a, const float* shift, const float* g,
                      const float* w, const ConvShape& s, float* out);

/** G evaluations per second of the two per-connection floors (Isa::expBench), measured on `threads` threads. */
struct ThroughputFloors {
  double expPerSecond, ratioPerSecond;
  float checksum;  // the benchmark's sums, so that nothing is optimised away
};
ThroughputFloors measureThroughputFloors(const Isa* isa, int threads, size_t n, size_t reps);

}  // namespace sbn
