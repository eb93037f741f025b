// A whole straight-through (DSTE) training estimate of an all-dense network in one call (issue 16): the forward
// products, the Bernoulli states from the counter-based stream of sampling.cc (the states of the tfjs path's
// sampleStates for the same seeds), the output loss and its gradient, the backward products and the weight and bias
// gradients — the products with cblas_sgemm (OpenBLAS), so a step is eight BLAS calls and a few passes over
// rows × units arrays instead of ~70 TensorFlow.js ops. Built only when binding.gyp finds a CBLAS (SBN_HAVE_BLAS);
// the engine then chooses it (src/engine/estimators/straightThrough.ts) and keeps the tfjs path as the reference.
//
//   denseStep(x, sizes, groups, weights, biases, seeds, on, off, meanScale, noise, labels, loss)
//     → { loss: Float32Array [groups], weights: Float32Array[] ([groups·out·in] each), biases: Float32Array[] }
//   x [B·sizes[0]] row-major; weights[k] [sizes[k+1]·sizes[k]] (the dense layer's [out, in]); biases[k] [sizes[k+1]];
//   seeds[k] the counter stream of hidden layer k; rows are draw-major groups (row = g·N + n) as estimators' Batch.
#ifdef SBN_HAVE_BLAS
#include <cblas.h>
#include <node_api.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime.h"
#include "sampling.h"

namespace sbn {
namespace {

struct DenseStepInput {
  const float* x;
  std::vector<size_t> sizes;  // n0, n1, …, nL, K
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
 * The step's intermediate arrays, grow-only and kept per thread from call to call: fresh multi-megabyte buffers per
 * call cost page faults the OS zero-fills (docs/kernels.md "Memory").
 */
struct Workspace {
  std::vector<std::vector<float>> xs, deriv;
  std::vector<float> a, p, logits, e, g, scratch, rowLoss;
};

constexpr float kSqrt1_2 = 0.70710678118654752440f;
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;

/** e ← ∂E/∂a of one layer (rows × out) into its parameter gradients: per group, Wgrad = (e/N)ᵀ x and the mean of e. */
void paramGradient(const DenseStepInput& in, const float* e, const float* x, size_t nIn, size_t nOut,
                   std::vector<float>& scratch, float* gW, float* gb) {
  const size_t n = in.rows / in.groups;
  const float fn = static_cast<float>(n);
  scratch.resize(in.rows * nOut);
  for (size_t i = 0; i < in.rows * nOut; i++) scratch[i] = e[i] / fn;
  std::fill(gb, gb + in.groups * nOut, 0.0f);
  for (size_t g = 0; g < in.groups; g++) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, static_cast<int>(nOut), static_cast<int>(nIn),
                static_cast<int>(n), 1.0f, scratch.data() + g * n * nOut, static_cast<int>(nOut), x + g * n * nIn,
                static_cast<int>(nIn), 0.0f, gW + g * nOut * nIn, static_cast<int>(nIn));
    float* b = gb + g * nOut;
    for (size_t r = g * n; r < (g + 1) * n; r++)
      for (size_t j = 0; j < nOut; j++) b[j] += e[r * nOut + j];
    for (size_t j = 0; j < nOut; j++) b[j] /= fn;
  }
}

/** a = x Wᵀ + b for rows × nIn inputs and a weight [nOut, nIn]. */
void affine(const float* x, const float* w, const float* bias, size_t rows, size_t nIn, size_t nOut, float* a) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), static_cast<int>(nOut),
              static_cast<int>(nIn), 1.0f, x, static_cast<int>(nIn), w, static_cast<int>(nIn), 0.0f, a,
              static_cast<int>(nOut));
  for (size_t r = 0; r < rows; r++)
    for (size_t j = 0; j < nOut; j++) a[r * nOut + j] += bias[j];
}

void denseStep(const DenseStepInput& in, const DenseStepOutput& out) {
  // OpenBLAS's own pool follows the kernels' thread count (SBN_KERNEL_THREADS, setThreads)
  static std::atomic<int> blasThreads{0};
  const int threads = std::max(1, currentThreads());
  if (blasThreads.exchange(threads) != threads) openblas_set_num_threads(threads);
  const size_t L = in.sizes.size() - 2;  // hidden layers
  const size_t B = in.rows;
  thread_local Workspace ws;
  auto& xs = ws.xs;
  auto& deriv = ws.deriv;
  auto& a = ws.a;
  auto& p = ws.p;
  if (xs.size() < L + 1) xs.resize(L + 1);
  if (deriv.size() < L) deriv.resize(L);
  for (size_t k = 0; k < L; k++) {
    const size_t nIn = in.sizes[k], nOut = in.sizes[k + 1];
    const float* x = k == 0 ? in.x : xs[k].data();
    a.resize(B * nOut);
    p.resize(B * nOut);
    deriv[k].resize(B * nOut);
    affine(x, in.weights[k], in.biases[k], B, nIn, nOut, a.data());
    for (size_t i = 0; i < B * nOut; i++) {
      const float t = a[i];
      if (in.normalNoise) {
        p[i] = 0.5f * (1.0f + std::erf(t * kSqrt1_2));
        deriv[k][i] = kInvSqrt2Pi * std::exp(-0.5f * t * t) * in.meanScale;
      } else {
        const float s = 1.0f / (1.0f + std::exp(-t));
        p[i] = s;
        deriv[k][i] = s * (1.0f - s) * in.meanScale;
      }
    }
    xs[k + 1].resize(B * nOut);
    sampleStates(p.data(), B, 1, 1, nOut, in.seeds[k], in.on, in.off, xs[k + 1].data());
  }
  // output layer and loss
  const size_t nLast = in.sizes[L], K = in.sizes[L + 1];
  const float* xLast = L == 0 ? in.x : xs[L].data();
  auto& logits = ws.logits;
  auto& e = ws.e;
  auto& rowLoss = ws.rowLoss;
  logits.resize(B * K);
  e.resize(B * K);
  rowLoss.resize(B);
  affine(xLast, in.weights[L], in.biases[L], B, nLast, K, logits.data());
  for (size_t r = 0; r < B; r++) {
    const float* eta = logits.data() + r * K;
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
  const size_t n = B / in.groups;
  for (size_t g = 0; g < in.groups; g++) {
    float s = 0.0f;
    for (size_t r = g * n; r < (g + 1) * n; r++) s += rowLoss[r];
    out.loss[g] = s / static_cast<float>(n);
  }
  // backward: e holds ∂E/∂a of the layer being handled
  auto& scratch = ws.scratch;
  auto& g = ws.g;
  for (size_t k = L + 1; k-- > 0;) {
    const size_t nIn = in.sizes[k], nOut = in.sizes[k + 1];
    const float* x = k == 0 ? in.x : xs[k].data();
    if (k < L)
      for (size_t i = 0; i < B * nOut; i++) e[i] *= deriv[k][i];
    paramGradient(in, e.data(), x, nIn, nOut, scratch, out.weights[k], out.biases[k]);
    if (k == 0) break;
    g.resize(B * nIn);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(B), static_cast<int>(nIn),
                static_cast<int>(nOut), 1.0f, e.data(), static_cast<int>(nOut), in.weights[k], static_cast<int>(nIn),
                0.0f, g.data(), static_cast<int>(nIn));
    e.swap(g);
  }
}

// ---- N-API glue ----

napi_value fail(napi_env env, const std::string& msg) {
  napi_throw_type_error(env, nullptr, ("denseStep: " + msg).c_str());
  return nullptr;
}

bool f32(napi_env env, napi_value v, const float** data, size_t* length) {
  bool isTa = false;
  if (napi_is_typedarray(env, v, &isTa) != napi_ok || !isTa) return false;
  napi_typedarray_type type;
  void* raw = nullptr;
  if (napi_get_typedarray_info(env, v, &type, length, &raw, nullptr, nullptr) != napi_ok ||
      type != napi_float32_array)
    return false;
  *data = static_cast<const float*>(raw);
  return true;
}

bool number(napi_env env, napi_value v, double* out) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && t == napi_number && napi_get_value_double(env, v, out) == napi_ok;
}

bool arrayLength(napi_env env, napi_value v, uint32_t* n) {
  bool isArray = false;
  return napi_is_array(env, v, &isArray) == napi_ok && isArray && napi_get_array_length(env, v, n) == napi_ok;
}

bool text(napi_env env, napi_value v, std::string* out) {
  char buf[32];
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, buf, sizeof buf, &len) != napi_ok) return false;
  *out = std::string(buf, len);
  return true;
}

/** A new Float32Array of `length` values; *data points at them. */
napi_value newF32(napi_env env, size_t length, float** data) {
  napi_value buffer, array;
  void* raw = nullptr;
  if (napi_create_arraybuffer(env, length * sizeof(float), &raw, &buffer) != napi_ok) return nullptr;
  if (napi_create_typedarray(env, napi_float32_array, length, buffer, 0, &array) != napi_ok) return nullptr;
  *data = static_cast<float*>(raw);
  return array;
}

}  // namespace

napi_value DenseStep(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < 12) return fail(env, "expected 12 arguments");
  DenseStepInput in{};
  size_t xLength = 0;
  if (!f32(env, argv[0], &in.x, &xLength)) return fail(env, "x must be a Float32Array");
  uint32_t nSizes = 0;
  if (!arrayLength(env, argv[1], &nSizes) || nSizes < 2) return fail(env, "sizes must be an array of ≥ 2 numbers");
  for (uint32_t i = 0; i < nSizes; i++) {
    napi_value el;
    double s = 0;
    napi_get_element(env, argv[1], i, &el);
    if (!number(env, el, &s) || s < 1 || s != std::floor(s)) return fail(env, "sizes must be positive integers");
    in.sizes.push_back(static_cast<size_t>(s));
  }
  double groups = 0;
  if (!number(env, argv[2], &groups) || groups < 1 || groups != std::floor(groups))
    return fail(env, "groups must be a positive integer");
  in.groups = static_cast<size_t>(groups);
  if (xLength % in.sizes[0] != 0) return fail(env, "x's length is not a multiple of sizes[0]");
  in.rows = xLength / in.sizes[0];
  if (in.rows == 0 || in.rows % in.groups != 0) return fail(env, "groups must divide the rows of x");
  const size_t layers = nSizes - 1;
  uint32_t nW = 0, nB = 0, nSeeds = 0;
  if (!arrayLength(env, argv[3], &nW) || nW != layers) return fail(env, "weights must hold one array per layer");
  if (!arrayLength(env, argv[4], &nB) || nB != layers) return fail(env, "biases must hold one array per layer");
  if (!arrayLength(env, argv[5], &nSeeds) || nSeeds != layers - 1)
    return fail(env, "seeds must hold one number per hidden layer");
  for (uint32_t k = 0; k < layers; k++) {
    napi_value w, b;
    napi_get_element(env, argv[3], k, &w);
    napi_get_element(env, argv[4], k, &b);
    const float *wd, *bd;
    size_t wl = 0, bl = 0;
    if (!f32(env, w, &wd, &wl) || wl != in.sizes[k] * in.sizes[k + 1])
      return fail(env, "weights[" + std::to_string(k) + "] must be a Float32Array of out·in values");
    if (!f32(env, b, &bd, &bl) || bl != in.sizes[k + 1])
      return fail(env, "biases[" + std::to_string(k) + "] must be a Float32Array of out values");
    in.weights.push_back(wd);
    in.biases.push_back(bd);
  }
  for (uint32_t k = 0; k + 1 < layers; k++) {
    napi_value el;
    double s = 0;
    napi_get_element(env, argv[5], k, &el);
    if (!number(env, el, &s) || s < 0 || s >= 9007199254740992.0 || s != std::floor(s))
      return fail(env, "seeds must be integers in [0, 2^53)");
    in.seeds.push_back(static_cast<uint64_t>(s));
  }
  double on = 0, off = 0, meanScale = 0;
  if (!number(env, argv[6], &on) || !number(env, argv[7], &off) || !number(env, argv[8], &meanScale))
    return fail(env, "on, off and meanScale must be numbers");
  in.on = static_cast<float>(on);
  in.off = static_cast<float>(off);
  in.meanScale = static_cast<float>(meanScale);
  std::string noise, loss;
  if (!text(env, argv[9], &noise) || (noise != "logistic" && noise != "normal"))
    return fail(env, "noise must be 'logistic' or 'normal'");
  in.normalNoise = noise == "normal";
  size_t labelsLength = 0;
  if (!f32(env, argv[10], &in.labels, &labelsLength) || labelsLength != in.rows)
    return fail(env, "labels must be a Float32Array with one value per row");
  if (!text(env, argv[11], &loss) || (loss != "nll" && loss != "logistic"))
    return fail(env, "loss must be 'nll' or 'logistic'");
  in.nllLoss = loss == "nll";
  const size_t K = in.sizes.back();
  if (!in.nllLoss && K != 1) return fail(env, "the logistic loss needs one output");
  if (in.nllLoss)
    for (size_t r = 0; r < in.rows; r++) {
      const float y = in.labels[r];
      if (!(y >= 0 && y < static_cast<float>(K) && y == std::floor(y)))
        return fail(env, "labels must be class indices 0…" + std::to_string(K - 1));
    }
  DenseStepOutput out{};
  napi_value obj, lossArray, weights, biases;
  napi_create_object(env, &obj);
  napi_create_array_with_length(env, layers, &weights);
  napi_create_array_with_length(env, layers, &biases);
  if (!(lossArray = newF32(env, in.groups, &out.loss))) return nullptr;
  for (uint32_t k = 0; k < layers; k++) {
    float *w, *b;
    napi_value vw = newF32(env, in.groups * in.sizes[k + 1] * in.sizes[k], &w);
    napi_value vb = newF32(env, in.groups * in.sizes[k + 1], &b);
    if (!vw || !vb) return nullptr;
    napi_set_element(env, weights, k, vw);
    napi_set_element(env, biases, k, vb);
    out.weights.push_back(w);
    out.biases.push_back(b);
  }
  try {
    denseStep(in, out);
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, (std::string("denseStep: ") + e.what()).c_str());
    return nullptr;
  }
  napi_set_named_property(env, obj, "loss", lossArray);
  napi_set_named_property(env, obj, "weights", weights);
  napi_set_named_property(env, obj, "biases", biases);
  return obj;
}

}  // namespace sbn
#endif  // SBN_HAVE_BLAS
