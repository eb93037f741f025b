// Whole training estimates in one call each (issue 16): DSTE of an all-dense network (denseStep) or of conv layers
// followed by dense ones (convStep), and PSA of either (densePsaStep, convPsaStep). They run the same forward — the
// products with OpenBLAS's sgemm in blocks on the kernels' pool (conv_step.cc gemm), the Bernoulli states from the
// counter-based stream of sampling.cc (the states of the tfjs path's sampleStates for the same seeds) — and write the
// weight and bias gradients per draw with BLAS; they differ in the output layer and the backward pass:
//  - DSTE: the output loss and its gradient, backward products e W through F'(a)·meanScale (~70 TensorFlow.js ops
//    and their read-backs before);
//  - PSA (docs/math.md §2.3.3): the output layer's flip average by psaFlips' code (last_layer.cc singleFlips), the
//    hidden layers' λ by the Δ-matrix product of drivers.cc (denseProduct; a conv layer's by ratioConvolution),
//    e = λ·(−x̂)·F'(a) (~85 ops before).
// A conv layer runs as im2col + sgemm forward, sgemm + col2im backward and sgemm over the patches for its weight
// gradient (conv_step.cc); the rest of the step is the same code for both kinds of layer.
// Built only when binding.gyp finds a CBLAS (SBN_HAVE_BLAS); the engine then chooses them
// (src/engine/estimators/denseStep.ts) and keeps the tfjs paths as the reference.
//
//   denseStep(x, sizes, groups, weights, biases, seeds, on, off, meanScale, noise, labels, loss, out?)
//     → { loss: Float32Array [groups], weights: Float32Array[] ([groups·out·in] each), biases: Float32Array[] }
//     (new arrays, or `out`, an object of that shape, filled in)
//   densePsaStep(the same arguments) → the same (PSA needs a hidden layer); convPsaStep(convStep's) likewise
//   x [B·sizes[0]] row-major; weights[k] [sizes[k+1]·sizes[k]] (the dense layer's [out, in]); biases[k] [sizes[k+1]];
//   seeds[k] the counter stream of hidden layer k; rows are draw-major groups (row = g·N + n) as estimators' Batch.
//   convStep(x, layers, …the rest as denseStep) → the same: layers[k] = [C, H, W, out, kernel, stride, padding]
//   (kernel 0: a dense layer of `out` units reading its [C, H, W] input channel-major; else a conv layer of `out`
//   filters, weight [K, K, C, out]); x [B·H·W·C] NHWC; the last layer dense (the output layer).
#ifdef SBN_HAVE_BLAS
#include <cblas.h>
#include <node_api.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "conv_step.h"
#include "drivers.h"
#include "last_layer.h"
#include "napi_args.h"
#include "runtime.h"
#include "sampling.h"

namespace sbn {
namespace {

struct DenseStepInput {
  const float* x;
  std::vector<size_t> sizes;      // n0, n1, …, nL, K: each layer's input units, then the output's
  std::vector<StepLayer> layers;  // the affine layers' shapes (all dense for denseStep and densePsaStep)
  size_t rows, groups;
  std::vector<const float*> weights, biases;
  std::vector<uint64_t> seeds;
  float on, off, meanScale;
  bool normalNoise;
  const float* labels;
  bool nllLoss;
};

/** Where the results go (the caller's arrays: the ArrayBuffers handed to JavaScript, so nothing is copied). */
struct DenseStepOutput {
  float* loss;                          // [groups]
  std::vector<float*> weights, biases;  // [groups·out·in], [groups·out] per layer
};

/**
 * A step's intermediate arrays, grow-only and kept per thread from call to call: fresh multi-megabyte buffers per
 * call cost page faults the OS zero-fills (docs/kernels.md "Memory").
 */
struct StepWorkspace {
  std::vector<StepBuffer> xs, as, deriv;  // per layer: states, pre-activations, F'(a)·scale
  std::vector<StepBuffer> cols, flat;     // per layer: conv patches, a dense layer's channel-major input
  StepBuffer p, logits, e, g, scratch, rowLoss;
  StepBuffer shift, rho, lambda, cSum, corrMean, wT, pFlat;  // PSA's
};

constexpr float kSqrt1_2 = 0.70710678118654752440f;
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;

/** out[g] = the mean of values over the rows of draw g. */
void groupMeans(const DenseStepInput& in, const float* values, float* out) {
  const size_t n = in.rows / in.groups;
  for (size_t g = 0; g < in.groups; g++) {
    float s = 0.0f;
    for (size_t r = g * n; r < (g + 1) * n; r++) s += values[r];
    out[g] = s / static_cast<float>(n);
  }
}

/** e ← ∂E/∂a of one layer (rows × out) into its parameter gradients: per group, Wgrad = (e/N)ᵀ x and the mean of e. */
void paramGradient(const DenseStepInput& in, const float* e, const float* x, size_t nIn, size_t nOut,
                   StepBuffer& scratch, float* gW, float* gb) {
  const size_t n = in.rows / in.groups;
  const float fn = static_cast<float>(n);
  scratch.resize(in.rows * nOut);
  for (size_t i = 0; i < in.rows * nOut; i++) scratch[i] = e[i] / fn;
  std::fill(gb, gb + in.groups * nOut, 0.0f);
  for (size_t g = 0; g < in.groups; g++) {
    gemm(true, false, nOut, nIn, n, 1.0f, scratch.data() + g * n * nOut, nOut, x + g * n * nIn, nIn,
         gW + g * nOut * nIn, nIn);
    float* b = gb + g * nOut;
    for (size_t r = g * n; r < (g + 1) * n; r++)
      for (size_t j = 0; j < nOut; j++) b[j] += e[r * nOut + j];
    for (size_t j = 0; j < nOut; j++) b[j] /= fn;
  }
}

/** a[r, j] += bias[j] over rows × n, rows split over the pool. */
void addBias(float* a, size_t rows, size_t n, const float* bias) {
  parallelFor(rows, static_cast<double>(rows * n), [=](size_t b, size_t e) {
    for (size_t r = b; r < e; r++)
      for (size_t j = 0; j < n; j++) a[r * n + j] += bias[j];
  });
}

/** a = x Wᵀ + b for rows × nIn inputs and a weight [nOut, nIn]. */
void affine(const float* x, const float* w, const float* bias, size_t rows, size_t nIn, size_t nOut, float* a) {
  gemm(false, true, rows, nOut, nIn, 1.0f, x, nIn, w, nIn, a, nOut);
  addBias(a, rows, nOut, bias);
}

/** The input of layer k: the batch, or the states of hidden layer k − 1. */
const float* layerInput(const DenseStepInput& in, const StepWorkspace& ws, size_t k) {
  return k == 0 ? in.x : ws.xs[k].data();
}

/** The rows a dense layer k multiplies: its input, or that input flattened channel-major (after a conv layer). */
const float* denseRows(const DenseStepInput& in, const StepWorkspace& ws, size_t k) {
  return in.layers[k].flattens() ? ws.flat[k].data() : layerInput(in, ws, k);
}

/**
 * a = layer k's affine map of its input (NHWC out of a conv layer): a dense layer's product, or a conv layer's
 * patches (kept in cols[k] for the weight gradient) times its [K·K·C, out] weight, plus the bias.
 */
void layerForward(const DenseStepInput& in, StepWorkspace& ws, size_t k, float* a) {
  const StepLayer& l = in.layers[k];
  const size_t B = in.rows;
  if (!l.conv()) {
    if (l.flattens()) toChannelMajor(l, layerInput(in, ws, k), B, ws.flat[k]);
    affine(denseRows(in, ws, k), in.weights[k], in.biases[k], B, l.nIn(), l.outC, a);
    return;
  }
  im2col(l, layerInput(in, ws, k), B, ws.cols[k]);
  const size_t positions = B * l.outH * l.outW, F = l.outC;
  gemm(false, false, positions, F, l.patch(), 1.0f, ws.cols[k].data(), l.patch(), in.weights[k], F, a, F);
  addBias(a, positions, F, in.biases[k]);
}

/**
 * Forward through the hidden layers: per layer the pre-activation as[k], deriv[k] = F'(a)·derivScale and the states
 * xs[k + 1] sampled from F(a) with the layer's seed; on return p holds the last hidden layer's F(a). Then the output
 * layer's logits.
 */
void forward(const DenseStepInput& in, float derivScale, StepWorkspace& ws) {
  const size_t L = in.sizes.size() - 2, B = in.rows;
  if (ws.xs.size() < L + 1) ws.xs.resize(L + 1);
  if (ws.as.size() < L) ws.as.resize(L);
  if (ws.deriv.size() < L) ws.deriv.resize(L);
  if (ws.cols.size() < L + 1) ws.cols.resize(L + 1);
  if (ws.flat.size() < L + 1) ws.flat.resize(L + 1);
  for (size_t k = 0; k < L; k++) {
    const StepLayer& l = in.layers[k];
    const size_t nOut = l.nOut();
    auto& a = ws.as[k];
    auto& deriv = ws.deriv[k];
    a.resize(B * nOut);
    ws.p.resize(B * nOut);
    deriv.resize(B * nOut);
    layerForward(in, ws, k, a.data());
    // F(a) and F'(a) on every thread: logistic by the ISA's vector exp (the scalar form was 8 % of a CIFAR_S1 DSTE
    // step), normal by a scalar erf and exp per unit
    const bool normal = in.normalNoise;
    const Isa* isa = currentIsa();
    const float* av = a.data();
    float *pv = ws.p.data(), *dv = deriv.data();
    parallelFor(B * nOut, static_cast<double>(B * nOut) * (normal ? 16 : 2), [=](size_t b, size_t e) {
      if (!normal) return isa->logistic(e - b, av + b, derivScale, pv + b, dv + b);
      for (size_t i = b; i < e; i++) {
        const float t = av[i];
        pv[i] = 0.5f * (1.0f + std::erf(t * kSqrt1_2));
        dv[i] = kInvSqrt2Pi * std::exp(-0.5f * t * t) * derivScale;
      }
    });
    ws.xs[k + 1].resize(B * nOut);
    sampleStates(ws.p.data(), B, l.outH, l.outW, l.outC, in.seeds[k], in.on, in.off, ws.xs[k + 1].data());
  }
  ws.logits.resize(B * in.sizes[L + 1]);
  layerForward(in, ws, L, ws.logits.data());
}

/** e = ∂E/∂a of layer k into its parameter gradients; then, unless k = 0, e ← ∂E/∂(layer k's input) in its layout. */
void layerBackward(const DenseStepInput& in, const DenseStepOutput& out, StepWorkspace& ws, size_t k) {
  const StepLayer& l = in.layers[k];
  const size_t B = in.rows;
  auto& e = ws.e;
  if (l.conv())
    convParamGradient(l, e.data(), ws.cols[k].data(), B, in.groups, out.weights[k], out.biases[k]);
  else
    paramGradient(in, e.data(), denseRows(in, ws, k), l.nIn(), l.outC, ws.scratch, out.weights[k], out.biases[k]);
  if (k == 0) return;
  if (l.conv()) {
    // the patches' gradient e Wᵀ [positions, K·K·C], folded back onto the input
    const size_t positions = B * l.outH * l.outW;
    ws.scratch.resize(positions * l.patch());
    gemm(false, true, positions, l.patch(), l.outC, 1.0f, e.data(), l.outC, in.weights[k], l.outC, ws.scratch.data(),
         l.patch());
    ws.g.resize(B * l.nIn());
    col2im(l, ws.scratch.data(), B, ws.g.data());
    e.swap(ws.g);
    return;
  }
  const size_t nIn = l.nIn(), nOut = l.outC;
  ws.g.resize(B * nIn);
  gemm(false, false, B, nIn, nOut, 1.0f, e.data(), nOut, in.weights[k], nIn, ws.g.data(), nIn);
  if (l.flattens())
    fromChannelMajor(l, ws.g.data(), B, e);
  else
    e.swap(ws.g);
}

void dsteStep(const DenseStepInput& in, const DenseStepOutput& out) {
  const size_t L = in.sizes.size() - 2;  // hidden layers
  const size_t B = in.rows;
  thread_local StepWorkspace ws;
  forward(in, in.meanScale, ws);
  // the output layer's loss and e = ∂ℓ/∂η
  const size_t K = in.sizes[L + 1];
  auto& e = ws.e;
  auto& rowLoss = ws.rowLoss;
  e.resize(B * K);
  rowLoss.resize(B);
  for (size_t r = 0; r < B; r++) {
    const float* eta = ws.logits.data() + r * K;
    float* d = e.data() + r * K;
    const float y = in.labels[r];
    if (!in.nllLoss) {
      const float m = y * eta[0];
      // softplus(−m) stably, and −y σ(−m)
      rowLoss[r] = std::max(-m, 0.0f) + std::log1p(std::exp(-std::fabs(m)));
      d[0] = -y / (1.0f + std::exp(m));
      continue;
    }
    const size_t label = static_cast<size_t>(y);
    float mx = eta[0];
    for (size_t c = 1; c < K; c++) mx = std::max(mx, eta[c]);
    float sum = 0.0f;
    for (size_t c = 0; c < K; c++) sum += std::exp(eta[c] - mx);
    const float lse = mx + std::log(sum);
    for (size_t c = 0; c < K; c++) d[c] = std::exp(eta[c] - lse) - (c == label ? 1.0f : 0.0f);
    rowLoss[r] = lse - eta[label];
  }
  groupMeans(in, rowLoss.data(), out.loss);
  // backward: e holds ∂E/∂a of the layer being handled
  for (size_t k = L + 1; k-- > 0;) {
    const size_t nOut = in.sizes[k + 1];
    if (k < L) {
      float* ev = e.data();
      const float* dv = ws.deriv[k].data();
      forElements(B * nOut, [=](size_t b, size_t end) {
        for (size_t i = b; i < end; i++) ev[i] *= dv[i];
      });
    }
    layerBackward(in, out, ws, k);
  }
}

/** out = ifOn where x is the coding's on value, ifOff elsewhere. */
SBN_VECTOR_CLONES void selectBy(const float* __restrict x, size_t count, float on, float ifOn, float ifOff,
                                  float* __restrict out) {
  for (size_t i = 0; i < count; i++) out[i] = x[i] == on ? ifOn : ifOff;
}

/** δ = x↓ − x, how each state changes when it flips (the coding's flipShift: off − on where on, else on − off). */
void flipShift(const DenseStepInput& in, const float* x, size_t count, StepBuffer& shift) {
  shift.resize(count);
  float* out = shift.data();
  forElements(count, [&](size_t b, size_t e) { selectBy(x + b, e - b, in.on, in.off - in.on, in.on - in.off, out + b); });
}

/** ρ_i = (1 − π_i)/n with π_i the probability of the sampled state: p_i where x_i is on, 1 − p_i where not. */
SBN_VECTOR_CLONES void flipWeights(const float* __restrict x, const float* __restrict p, size_t count, float on,
                                   float n, float* __restrict rho) {
  for (size_t i = 0; i < count; i++) {
    const float pi = x[i] == on ? p[i] : 1.0f - p[i];
    rho[i] = (1.0f - pi) / n;
  }
}

/** g = −x̂·λ (−λ where the unit is on) and e = g·F′(a). */
SBN_VECTOR_CLONES void flippedGradient(const float* __restrict x, const float* __restrict lambda,
                                       const float* __restrict deriv, size_t count, float on, float* __restrict g,
                                       float* __restrict e) {
  for (size_t i = 0; i < count; i++) {
    const float gi = x[i] == on ? -lambda[i] : lambda[i];
    g[i] = gi;
    e[i] = gi * deriv[i];
  }
}

/** e = −x̂·λ·F′(a) alone: flippedGradient for the first layer, whose input is never flipped (no g to write). */
SBN_VECTOR_CLONES void flippedDerivative(const float* __restrict x, const float* __restrict lambda,
                                         const float* __restrict deriv, size_t count, float on, float* __restrict e) {
  for (size_t i = 0; i < count; i++) e[i] = (x[i] == on ? -lambda[i] : lambda[i]) * deriv[i];
}

/**
 * wT [nIn, nOut] = w [nOut, nIn] transposed (the Δ product reads Wᵀ row by row):
 * OpenBLAS's omatcopy, 4× faster than a tiled loop here.
 */
void transpose(const float* w, size_t nOut, size_t nIn, StepBuffer& wT) {
  wT.resize(nOut * nIn);
  cblas_somatcopy(CblasRowMajor, CblasTrans, static_cast<int>(nOut), static_cast<int>(nIn), 1.0f, w,
                  static_cast<int>(nIn), wT.data(), static_cast<int>(nOut));
}

/**
 * PSA (src/engine/estimators/psa.ts, the reference, op for op): the last layer flip-averaged over every single flip
 * of the last hidden layer with ρ_i = (1 − π_i)/n (π the probability of the sampled state), then per hidden layer
 * e = λ·(−x̂)·F'(a) and λ ← Δ (−x̂ λ) with Δ_ij = F(a_j + W_ji δ_i) − F(a_j): the Δ-matrix product of a dense layer
 * (denseProduct), the ratio convolution of a conv layer (ratioConvolution, the kernel the tfjs path calls). A dense
 * layer after conv layers flips its input in the channel-major order it reads it in (its λ goes back to NHWC).
 */
void psaStep(const DenseStepInput& in, const DenseStepOutput& out) {
  const size_t L = in.sizes.size() - 2;  // hidden layers, ≥ 1
  const size_t B = in.rows;
  thread_local StepWorkspace ws;
  forward(in, 1.0f, ws);
  // the last layer (docs/math.md §2.3.2), on the states as the output layer reads them
  const StepLayer& output = in.layers[L];
  const size_t n = in.sizes[L], K = in.sizes[L + 1];
  const float* xL = denseRows(in, ws, L);
  const float* pL = ws.p.data();
  if (output.flattens()) {
    toChannelMajor(output, ws.p.data(), B, ws.pFlat);
    pL = ws.pFlat.data();
  }
  flipShift(in, xL, B * n, ws.shift);
  ws.rho.resize(B * n);
  // ws is thread_local: the pool's threads get its arrays' pointers, never the name
  float* rho = ws.rho.data();
  forElements(B * n, [=, &in](size_t b, size_t e) {
    flipWeights(xL + b, pL + b, e - b, in.on, static_cast<float>(n), rho + b);
  });
  ws.lambda.resize(B * n);
  ws.cSum.resize(B * K);
  ws.corrMean.resize(in.groups * K * n);
  ws.rowLoss.resize(B);
  FlipsArgs flips{};
  flips.logits = ws.logits.data();
  flips.w = in.weights[L];
  flips.shift = ws.shift.data();
  flips.labels = in.labels;
  flips.rho = ws.rho.data();
  flips.rows = B;
  flips.n = n;
  flips.K = K;
  flips.logistic = !in.nllLoss;
  flips.groups = in.groups;
  flips.lambda = ws.lambda.data();
  flips.cSum = ws.cSum.data();
  flips.corr = ws.corrMean.data();
  flips.rowLoss = ws.rowLoss.data();
  singleFlips(flips);
  groupMeans(in, ws.rowLoss.data(), out.loss);
  // output parameters: Σ over base and flipped states = (Σ_i c_i) xᵀ + the mean correction [c_i δ_i]
  paramGradient(in, ws.cSum.data(), xL, n, K, ws.scratch, out.weights[L], out.biases[L]);
  float* wOut = out.weights[L];
  const float* corr = ws.corrMean.data();
  forElements(in.groups * K * n, [=](size_t b, size_t e) {
    for (size_t i = b; i < e; i++) wOut[i] += corr[i];
  });
  if (output.flattens()) {
    fromChannelMajor(output, ws.lambda.data(), B, ws.scratch);
    ws.lambda.swap(ws.scratch);
  }
  // hidden layers (docs/math.md §2.3.3 steps 4–5); λ is in the NHWC layout of layer k's output
  for (size_t k = L; k-- > 0;) {
    const StepLayer& l = in.layers[k];
    const size_t nOut = l.nOut();
    const float* xOut = ws.xs[k + 1].data();
    ws.g.resize(B * nOut);
    ws.e.resize(B * nOut);
    const float *lam = ws.lambda.data(), *deriv = ws.deriv[k].data();
    float *gv = ws.g.data(), *ev = ws.e.data();
    forElements(B * nOut, [=, &in](size_t b, size_t e) {
      if (k == 0) {
        flippedDerivative(xOut + b, lam + b, deriv + b, e - b, in.on, ev + b);
      } else {
        flippedGradient(xOut + b, lam + b, deriv + b, e - b, in.on, gv + b, ev + b);
      }
    });
    if (l.conv())
      convParamGradient(l, ws.e.data(), ws.cols[k].data(), B, in.groups, out.weights[k], out.biases[k]);
    else
      paramGradient(in, ws.e.data(), denseRows(in, ws, k), l.nIn(), l.outC, ws.scratch, out.weights[k],
                    out.biases[k]);
    if (k == 0) break;  // the input is never flipped
    const size_t nIn = l.nIn();
    ws.lambda.resize(B * nIn);
    if (l.conv()) {
      flipShift(in, ws.xs[k].data(), B * nIn, ws.shift);
      const ConvShape shape{B, l.H, l.W, l.C, l.outH, l.outW, l.outC, l.kernel, l.stride, l.padding};
      ratioConvolution(currentIsa(), in.normalNoise, ws.as[k].data(), ws.shift.data(), ws.g.data(), in.weights[k],
                       shape, ws.lambda.data());
      continue;
    }
    flipShift(in, denseRows(in, ws, k), B * nIn, ws.shift);
    transpose(in.weights[k], l.outC, nIn, ws.wT);
    denseProduct(currentIsa(), in.normalNoise, ws.as[k].data(), ws.wT.data(), ws.shift.data(), ws.g.data(),
                 DenseShape{B, nIn, l.outC}, ws.lambda.data());
    if (l.flattens()) {
      fromChannelMajor(l, ws.lambda.data(), B, ws.scratch);
      ws.lambda.swap(ws.scratch);
    }
  }
}

// ---- N-API glue ----

bool fail(napi_env env, const char* name, const std::string& msg) {
  return throwError(env, std::string(name) + ": " + msg);
}

/** A whole number ≥ min from element i of the array v; false if it is not one. */
bool readCount(napi_env env, napi_value v, uint32_t i, double min, size_t* out) {
  napi_value el;
  double s = 0;
  if (napi_get_element(env, v, i, &el) != napi_ok || !readNumber(env, el, &s) || s < min || s != std::floor(s))
    return false;
  *out = static_cast<size_t>(s);
  return true;
}

/** denseStep's sizes [n0, …, K] into in->sizes and in->layers (dense layers of flat inputs). */
bool readSizes(napi_env env, const char* name, napi_value v, DenseStepInput* in) {
  uint32_t nSizes = 0;
  if (!readArrayLength(env, v, &nSizes) || nSizes < 2)
    return fail(env, name, "sizes must be an array of ≥ 2 numbers");
  in->sizes.resize(nSizes);
  for (uint32_t i = 0; i < nSizes; i++)
    if (!readCount(env, v, i, 1, &in->sizes[i])) return fail(env, name, "sizes must be positive integers");
  for (uint32_t k = 0; k + 1 < nSizes; k++) in->layers.push_back({in->sizes[k], 1, 1, in->sizes[k + 1], 1, 1, 0, 0, 0});
  return true;
}

/**
 * convStep's layers ([C, H, W, out, kernel, stride, padding] each) into in->layers and in->sizes, checked: each
 * layer reads the previous one's output, a conv layer's output is not empty, the last layer is dense.
 */
bool readLayers(napi_env env, const char* name, napi_value v, DenseStepInput* in) {
  uint32_t n = 0;
  if (!readArrayLength(env, v, &n) || n < 1) return fail(env, name, "layers must be a non-empty array");
  for (uint32_t k = 0; k < n; k++) {
    const std::string which = "layers[" + std::to_string(k) + "]";
    napi_value el;
    uint32_t fields = 0;
    napi_get_element(env, v, k, &el);
    size_t f[7] = {};
    bool ok = readArrayLength(env, el, &fields) && fields == 7;
    for (uint32_t i = 0; ok && i < 7; i++) ok = readCount(env, el, i, i < 4 ? 1 : 0, &f[i]);
    if (!ok) return fail(env, name, which + " must be [C, H, W, out, kernel, stride, padding] of whole numbers");
    StepLayer l{f[0], f[1], f[2], f[3], 1, 1, f[4], f[5], f[6]};
    if (l.conv()) {
      if (l.stride < 1 || l.H + 2 * l.padding < l.kernel || l.W + 2 * l.padding < l.kernel)
        return fail(env, name, which + ": the convolution has no output (stride ≥ 1, kernel ≤ size + 2·padding)");
      l.outH = (l.H + 2 * l.padding - l.kernel) / l.stride + 1;
      l.outW = (l.W + 2 * l.padding - l.kernel) / l.stride + 1;
    } else if (l.stride != 0 || l.padding != 0) {
      return fail(env, name, which + ": a dense layer (kernel 0) has stride and padding 0");
    }
    if (k > 0) {
      const StepLayer& p = in->layers.back();
      if (l.C != p.outC || l.H != p.outH || l.W != p.outW)
        return fail(env, name, which + " must read layers[" + std::to_string(k - 1) + "]'s output");
    }
    in->layers.push_back(l);
  }
  if (in->layers.back().conv()) return fail(env, name, "the last layer (the output) must be dense");
  for (const StepLayer& l : in->layers) in->sizes.push_back(l.nIn());
  in->sizes.push_back(in->layers.back().outC);
  return true;
}

/**
 * The arguments of denseStep / densePsaStep / convStep (`name`; `spatial`: convStep's layers instead of sizes),
 * checked, into *in; false with a JavaScript error thrown.
 */
bool readInput(napi_env env, const char* name, const napi_value* argv, size_t minLayers, bool spatial,
               DenseStepInput* in) {
  F32 x;
  if (!readF32(env, argv[0], &x)) return fail(env, name, "x must be a Float32Array");
  in->x = x.data;
  if (!(spatial ? readLayers(env, name, argv[1], in) : readSizes(env, name, argv[1], in))) return false;
  const size_t layers = in->layers.size();
  if (layers < minLayers)
    return fail(env, name, "needs at least one hidden layer");
  double groups = 0;
  if (!readNumber(env, argv[2], &groups) || groups < 1 || groups != std::floor(groups))
    return fail(env, name, "groups must be a positive integer");
  in->groups = static_cast<size_t>(groups);
  if (x.length % in->sizes[0] != 0) return fail(env, name, "x's length is not a multiple of sizes[0]");
  in->rows = x.length / in->sizes[0];
  if (in->rows == 0 || in->rows % in->groups != 0) return fail(env, name, "groups must divide the rows of x");
  uint32_t nW = 0, nB = 0, nSeeds = 0;
  if (!readArrayLength(env, argv[3], &nW) || nW != layers)
    return fail(env, name, "weights must hold one array per layer");
  if (!readArrayLength(env, argv[4], &nB) || nB != layers)
    return fail(env, name, "biases must hold one array per layer");
  if (!readArrayLength(env, argv[5], &nSeeds) || nSeeds != layers - 1)
    return fail(env, name, "seeds must hold one number per hidden layer");
  for (uint32_t k = 0; k < layers; k++) {
    napi_value w, b;
    napi_get_element(env, argv[3], k, &w);
    napi_get_element(env, argv[4], k, &b);
    F32 wd, bd;
    if (!readF32(env, w, &wd) || wd.length != in->layers[k].weightSize())
      return fail(env, name,
                  "weights[" + std::to_string(k) + "] must be a Float32Array of " +
                      (in->layers[k].conv() ? "K·K·C·out" : "out·in") + " values");
    if (!readF32(env, b, &bd) || bd.length != in->layers[k].outC)
      return fail(env, name, "biases[" + std::to_string(k) + "] must be a Float32Array of out values");
    in->weights.push_back(wd.data);
    in->biases.push_back(bd.data);
  }
  for (uint32_t k = 0; k + 1 < layers; k++) {
    napi_value el;
    uint64_t seed = 0;
    napi_get_element(env, argv[5], k, &el);
    if (!readUint53(env, el, &seed)) return fail(env, name, "seeds must be integers in [0, 2^53)");
    in->seeds.push_back(seed);
  }
  double on = 0, off = 0, meanScale = 0;
  if (!readNumber(env, argv[6], &on) || !readNumber(env, argv[7], &off) || !readNumber(env, argv[8], &meanScale))
    return fail(env, name, "on, off and meanScale must be numbers");
  in->on = static_cast<float>(on);
  in->off = static_cast<float>(off);
  in->meanScale = static_cast<float>(meanScale);
  std::string noise, loss;
  if (!readString(env, argv[9], &noise) || (noise != "logistic" && noise != "normal"))
    return fail(env, name, "noise must be 'logistic' or 'normal'");
  in->normalNoise = noise == "normal";
  F32 labels;
  if (!readF32(env, argv[10], &labels) || labels.length != in->rows)
    return fail(env, name, "labels must be a Float32Array with one value per row");
  in->labels = labels.data;
  if (!readString(env, argv[11], &loss) || (loss != "nll" && loss != "logistic"))
    return fail(env, name, "loss must be 'nll' or 'logistic'");
  in->nllLoss = loss == "nll";
  const size_t K = in->sizes.back();
  if (!in->nllLoss && K != 1) return fail(env, name, "the logistic loss needs one output");
  for (size_t r = 0; r < in->rows; r++) {
    const float y = in->labels[r];
    const bool ok = in->nllLoss ? y >= 0 && y < static_cast<float>(K) && y == std::floor(y) : y == 1.0f || y == -1.0f;
    if (!ok)
      return fail(env, name,
                  in->nllLoss ? "labels must be class indices 0…" + std::to_string(K - 1) : "labels must be ±1");
  }
  return true;
}

/** out's array `key` (one Float32Array, or element k of an array of them) of `length` values into *data. */
bool outputArray(napi_env env, const char* name, napi_value out, const char* key, int64_t k, size_t length,
                 float** data) {
  napi_value v;
  if (napi_get_named_property(env, out, key, &v) != napi_ok) return false;
  const std::string label = std::string("out.") + key + (k >= 0 ? "[" + std::to_string(k) + "]" : "");
  if (k >= 0 && napi_get_element(env, v, static_cast<uint32_t>(k), &v) != napi_ok)
    return fail(env, name, label + " is missing");
  F32 a;
  if (!readF32(env, v, &a) || a.length != length)
    return fail(env, name, label + " must be a Float32Array of " + std::to_string(length) + " values");
  *data = a.data;
  return true;
}

/**
 * Whether an output range overlaps an input or another output: the inputs (the parameters above all) are read after
 * gradients are written, so a shared array would corrupt the step.
 */
bool outputsOverlap(const DenseStepInput& in, const DenseStepOutput& out) {
  struct Range {
    const float *begin, *end;
  };
  const size_t layers = in.sizes.size() - 1;
  std::vector<Range> inputs{{in.x, in.x + in.rows * in.sizes[0]}, {in.labels, in.labels + in.rows}};
  std::vector<Range> outputs{{out.loss, out.loss + in.groups}};
  for (size_t k = 0; k < layers; k++) {
    const size_t w = in.layers[k].weightSize(), b = in.layers[k].outC;
    inputs.push_back({in.weights[k], in.weights[k] + w});
    inputs.push_back({in.biases[k], in.biases[k] + b});
    outputs.push_back({out.weights[k], out.weights[k] + in.groups * w});
    outputs.push_back({out.biases[k], out.biases[k] + in.groups * b});
  }
  const auto meet = [](const Range& a, const Range& b) { return a.begin < b.end && b.begin < a.end; };
  for (size_t i = 0; i < outputs.size(); i++) {
    for (const Range& r : inputs)
      if (meet(outputs[i], r)) return true;
    for (size_t j = i + 1; j < outputs.size(); j++)
      if (meet(outputs[i], outputs[j])) return true;
  }
  return false;
}

/**
 * Reads the arguments, runs `step` and returns { loss, weights, biases }: new arrays, or the caller's `out` (an
 * object of that shape, argument 13, reused from step to step — no fresh pages per call) filled in.
 */
napi_value runStep(napi_env env, napi_callback_info info, const char* name, size_t minLayers, bool spatial,
                   void (*step)(const DenseStepInput&, const DenseStepOutput&)) {
  napi_value argv[13];
  const std::string usage = std::string(name) + "(x, " + (spatial ? "layers" : "sizes") +
                            ", groups, weights, biases, seeds, on, off, meanScale, noise, labels, loss, out?)";
  if (!getArgs(env, info, 13, argv, usage.c_str(), 1)) return nullptr;
  DenseStepInput in{};
  if (!readInput(env, name, argv, minLayers, spatial, &in)) return nullptr;
  const size_t layers = in.sizes.size() - 1;
  DenseStepOutput out{};
  out.weights.resize(layers);
  out.biases.resize(layers);
  napi_valuetype outType;
  napi_typeof(env, argv[12], &outType);
  napi_value obj = argv[12];
  if (outType == napi_object) {
    if (!outputArray(env, name, obj, "loss", -1, in.groups, &out.loss)) return nullptr;
    for (uint32_t k = 0; k < layers; k++) {
      if (!outputArray(env, name, obj, "weights", k, in.groups * in.layers[k].weightSize(), &out.weights[k]) ||
          !outputArray(env, name, obj, "biases", k, in.groups * in.layers[k].outC, &out.biases[k]))
        return nullptr;
    }
    if (outputsOverlap(in, out)) {
      fail(env, name, "out must not share memory with the inputs or with itself");
      return nullptr;
    }
    return guarded(env, name, obj, [&] { step(in, out); });
  }
  if (outType != napi_undefined) {
    fail(env, name, "out must be { loss, weights, biases } or undefined");
    return nullptr;
  }
  napi_value lossArray, weights, biases;
  napi_create_object(env, &obj);
  napi_create_array_with_length(env, layers, &weights);
  napi_create_array_with_length(env, layers, &biases);
  if (!(lossArray = newF32(env, in.groups, &out.loss))) return nullptr;
  for (uint32_t k = 0; k < layers; k++) {
    napi_value vw = newF32(env, in.groups * in.layers[k].weightSize(), &out.weights[k]);
    napi_value vb = newF32(env, in.groups * in.layers[k].outC, &out.biases[k]);
    if (!vw || !vb) return nullptr;
    napi_set_element(env, weights, k, vw);
    napi_set_element(env, biases, k, vb);
  }
  if (!guarded(env, name, obj, [&] { step(in, out); })) return nullptr;
  napi_set_named_property(env, obj, "loss", lossArray);
  napi_set_named_property(env, obj, "weights", weights);
  napi_set_named_property(env, obj, "biases", biases);
  return obj;
}

}  // namespace

napi_value DenseStep(napi_env env, napi_callback_info info) {
  return runStep(env, info, "denseStep", 1, false, dsteStep);
}

napi_value DensePsaStep(napi_env env, napi_callback_info info) {
  return runStep(env, info, "densePsaStep", 2, false, psaStep);
}

napi_value ConvStep(napi_env env, napi_callback_info info) { return runStep(env, info, "convStep", 1, true, dsteStep); }

napi_value ConvPsaStep(napi_env env, napi_callback_info info) {
  return runStep(env, info, "convPsaStep", 2, true, psaStep);
}

}  // namespace sbn
#endif  // SBN_HAVE_BLAS
