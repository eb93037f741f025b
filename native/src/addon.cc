// sbn_kernels: the N-API glue — argument checks (napi_args.h) and the exported functions. The work is done
// elsewhere: drivers.cc (the PSA products' loops; noise_models.cc the per-connection sums; isa_*.cc the inner
// routines per instruction set, kernels.h the arithmetic), last_layer.cc (psaFlips), sampling.cc (bernoulli),
// runtime.cc (configuration and the thread pool), tf_devices.cc (tfDevices, preload).
//
//   psaDense(a, wT, shift, g, rows, nIn, nOut, noise) → Float32Array [rows·nIn]
//       λ[r,i] = Σ_j [F(a[r,j] + wT[i,j]·shift[r,i]) − F(a[r,j])]·g[r,j]
//   ratioConv(a, shift, g, w, B, H, W, C, Ho, Wo, F, K, stride, padding, noise) → Float32Array [B·H·W·C] (NHWC)
//       λ[b,h,x,c] = Σ_{taps (kh,kw) with h+p = s·ho+kh, x+p = s·wo+kw} Σ_f [F(a[b,ho,wo,f] + w[kh,kw,c,f]·δ) − F(a)]·g
//       with δ = shift[b,h,x,c] (NHWC a, g: [B,Ho,Wo,F]; w: [K,K,C,F]); padded inputs contribute nothing.
//   psaFlips(logits, w, shift, labels, rho, rows, n, K, loss) → { lambda, cSum, corr, rowLoss }: PSA's last layer
//       (docs/math.md §2.3.2) — η_i = η₀ + δ_i W[:, i] for every unit i, λ = f_i − f₀ [rows·n],
//       cSum = (1 − Σρ)∂ℓ(η₀) + Σ_i ρ_i ∂ℓ(η_i) [rows·K], corr[r,k,i] = ρ_i δ_i ∂ℓ(η_i)_k [rows·K·n],
//       rowLoss = (1 − Σρ) f₀ + Σ_i ρ_i f_i [rows];
//       loss 'nll' (labels: class indices) or 'logistic' (K = 1, labels ±1); float64 inside, scalar.
//       With a 10th argument `groups` (dividing rows), corr comes back as its mean over each group of consecutive
//       rows [groups·K·n] — what the output-layer gradient needs — without a rows·K·n array crossing to JS.
//   bernoulli(p, seed, offset) → Float32Array: x_i = 1 if u_{offset+i} < p_i else 0, where u_k is the k-th output of
//       SplitMix64 started from state `seed` (top 24 bits, in [0, 1)) — counter-based, so thread counts do not
//       matter; streamUniforms(n, seed, offset) → those u_k. Every binary state the engine samples comes from here
//       (or from src/engine/counterStream.ts, the JavaScript twin: the same numbers).
//   sampleStates(p, B, H, W, C, seed, on, off) → Float32Array [B·H·W·C]: states of an NHWC tensor (dense: H = W = 1)
//       from the same stream with units numbered channel-major, as the coding's on/off values, in one pass
//   sgdUpdate(p, g, v, hasVelocity, lr, momentum, nesterov, weightDecay) → Float32Array next p; v updated in place
//   adamUpdate(p, g, m, v, lr, β1, β2, 1 − β1, 1 − β2, ε, weightDecay, 1 − β1^t, 1 − β2^t) → next p; m, v in place
//       one fused pass per parameter, bit for bit the float32 ops of src/engine/train/optimizer.ts (optimizer.cc)
//   clipFinite(g, clip) → boolean: g clamped to [−clip, clip] in place (clip finite; NaN kept), whether all finite
//   info() → { isa, lanes, threads, isas, blasCore (the OpenBLAS kernels in use; builds with BLAS) }
//   setThreads(n) (0: default)      setIsa(name) → boolean
//   expThroughput(n, reps) → { gevalsPerSecond, ratioPerSecond, threads, isa }: G/s of 1/(1 + e^{−|x|}) and of
//       1/(1 + x·y) over L1-resident buffers — the per-connection floors of the exp and ratio forms
//   tfDevices(libPath) → [{ name, type, memoryBytes }]: the devices libtensorflow lists (tf_devices.cc)
//   preload(paths) → true: dlopen(RTLD_GLOBAL) of CUDA libraries before a GPU libtensorflow loads (tf_devices.cc)
//   denseStep(…) → a whole DSTE estimate of an all-dense network with cblas_sgemm (dense_step.cc; only when
//       binding.gyp found OpenBLAS); densePsaStep(…), the same arguments → a whole PSA estimate of such a network
//   convStep(…) → a whole DSTE estimate of a network of conv layers, then dense ones (dense_step.cc, conv_step.cc)
//   convPsaStep(…), the same arguments → a whole PSA estimate of such a network
//
// noise: 'logistic' (vectorised, float32) or 'normal' (scalar float64 erfc path).
// ISA: AVX-512F, else AVX2+FMA, else scalar, from the CPU at load time; SBN_KERNEL_ISA=scalar|avx2|avx512 or
// setIsa() picks a supported one.
// Determinism: every output element is computed by one thread, always with the same grouping and summation
// order, so results do not depend on the thread count (SBN_KERNEL_THREADS, default: hardware threads). The threads
// come from one pool per process, started on first use and joined when the last Node environment using the addon
// is torn down.
#include <node_api.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <string>

#include "drivers.h"
#include "last_layer.h"
#include "napi_args.h"
#include "runtime.h"
#include "optimizer.h"
#include "sampling.h"

#ifdef SBN_HAVE_BLAS
#include <cblas.h>  // openblas_get_corename
#endif

namespace sbn {
namespace {

napi_value PsaDense(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  if (!getArgs(env, info, 8, argv, "psaDense(a, wT, shift, g, rows, nIn, nOut, noise)")) return nullptr;
  F32 a, wT, shift, g;
  DenseShape s{};
  bool normal = false;
  if (!getF32(env, argv[0], "a", &a) || !getF32(env, argv[1], "wT", &wT) || !getF32(env, argv[2], "shift", &shift) ||
      !getF32(env, argv[3], "g", &g) || !getSize(env, argv[4], "rows", &s.rows, 0) ||
      !getSize(env, argv[5], "nIn", &s.nIn) || !getSize(env, argv[6], "nOut", &s.nOut) ||
      !getNoise(env, argv[7], &normal) ||
      !checkLength(env, a, s.rows * s.nOut, "a") || !checkLength(env, wT, s.nIn * s.nOut, "wT") ||
      !checkLength(env, shift, s.rows * s.nIn, "shift") || !checkLength(env, g, s.rows * s.nOut, "g")) {
    return nullptr;
  }
  float* out = nullptr;
  napi_value result = newF32(env, s.rows * s.nIn, &out);
  if (!result) return nullptr;
  return guarded(env, "psaDense", result, [&] {
    denseProduct(currentIsa(), normal, a.data, wT.data, shift.data, g.data, s, out);
  });
}

napi_value PsaFlips(napi_env env, napi_callback_info info) {
  napi_value argv[10];
  if (!getArgs(env, info, 10, argv, "psaFlips(logits, w, shift, labels, rho, rows, n, K, loss[, groups])", 1))
    return nullptr;
  F32 logits, w, shift, labels, rho;
  FlipsArgs A{};
  std::string loss;
  if (!getF32(env, argv[0], "logits", &logits) || !getF32(env, argv[1], "w", &w) ||
      !getF32(env, argv[2], "shift", &shift) || !getF32(env, argv[3], "labels", &labels) ||
      !getF32(env, argv[4], "rho", &rho) || !getSize(env, argv[5], "rows", &A.rows, 0) ||
      !getSize(env, argv[6], "n", &A.n) || !getSize(env, argv[7], "K", &A.K) ||
      !getString(env, argv[8], "loss", &loss)) {
    return nullptr;
  }
  if (loss != "nll" && loss != "logistic") {
    throwError(env, "loss must be 'nll' or 'logistic'", true);
    return nullptr;
  }
  size_t groups = 0;  // 0: corr per row
  napi_valuetype groupsType;
  napi_typeof(env, argv[9], &groupsType);
  if (groupsType != napi_undefined && !getSize(env, argv[9], "groups", &groups)) return nullptr;
  if (groups > 0 && A.rows % groups != 0) {
    throwError(env, "groups (" + std::to_string(groups) + ") must divide rows (" + std::to_string(A.rows) + ")", true);
    return nullptr;
  }
  A.logistic = loss == "logistic";
  if (A.logistic && A.K != 1) {
    throwError(env, "the logistic loss has K = 1", true);
    return nullptr;
  }
  if (!checkLength(env, logits, A.rows * A.K, "logits") || !checkLength(env, w, A.K * A.n, "w") ||
      !checkLength(env, shift, A.rows * A.n, "shift") || !checkLength(env, labels, A.rows, "labels") ||
      !checkLength(env, rho, A.rows * A.n, "rho")) {
    return nullptr;
  }
  for (size_t r = 0; r < A.rows; r++) {
    const float y = labels.data[r];
    const bool ok =
        A.logistic ? (y == 1.0f || y == -1.0f) : (y >= 0 && y < static_cast<float>(A.K) && y == std::floor(y));
    if (!ok) {
      throwError(env,
                 "labels[" + std::to_string(r) + "] = " + std::to_string(y) +
                     (A.logistic ? " is not ±1" : " is not a class index"),
                 true);
      return nullptr;
    }
  }
  A.logits = logits.data;
  A.w = w.data;
  A.shift = shift.data;
  A.labels = labels.data;
  A.rho = rho.data;
  A.groups = groups;
  napi_value obj, vLambda, vCSum, vCorr, vRowLoss;
  const size_t corrRows = groups > 0 ? groups : A.rows;
  if (!(vLambda = newF32(env, A.rows * A.n, &A.lambda)) || !(vCSum = newF32(env, A.rows * A.K, &A.cSum)) ||
      !(vCorr = newF32(env, corrRows * A.K * A.n, &A.corr)) || !(vRowLoss = newF32(env, A.rows, &A.rowLoss))) {
    return nullptr;
  }
  if (!guarded(env, "psaFlips", vRowLoss, [&] { singleFlips(A); })) return nullptr;
  napi_create_object(env, &obj);
  napi_set_named_property(env, obj, "lambda", vLambda);
  napi_set_named_property(env, obj, "cSum", vCSum);
  napi_set_named_property(env, obj, "corr", vCorr);
  napi_set_named_property(env, obj, "rowLoss", vRowLoss);
  return obj;
}

napi_value Bernoulli(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!getArgs(env, info, 3, argv, "bernoulli(p, seed, offset)")) return nullptr;
  F32 p;
  uint64_t seed = 0, offset = 0;
  if (!getF32(env, argv[0], "p", &p) || !getUint(env, argv[1], "seed", &seed) ||
      !getUint(env, argv[2], "offset", &offset)) {
    return nullptr;
  }
  float* out = nullptr;
  napi_value result = newF32(env, p.length, &out);
  if (!result) return nullptr;
  return guarded(env, "bernoulli", result, [&] { bernoulliSample(p.data, p.length, seed, offset, out); });
}

napi_value SampleStates(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  if (!getArgs(env, info, 8, argv, "sampleStates(p, B, H, W, C, seed, on, off)")) return nullptr;
  F32 p;
  size_t B = 0, H = 0, W = 0, C = 0;
  uint64_t seed = 0;
  float on = 0, off = 0;
  if (!getF32(env, argv[0], "p", &p) || !getSize(env, argv[1], "B", &B, 0) || !getSize(env, argv[2], "H", &H) ||
      !getSize(env, argv[3], "W", &W) || !getSize(env, argv[4], "C", &C) || !getUint(env, argv[5], "seed", &seed) ||
      !getFloat(env, argv[6], "on", &on) || !getFloat(env, argv[7], "off", &off) ||
      !checkLength(env, p, B * H * W * C, "p")) {
    return nullptr;
  }
  float* out = nullptr;
  napi_value result = newF32(env, p.length, &out);
  if (!result) return nullptr;
  return guarded(env, "sampleStates", result, [&] { sampleStates(p.data, B, H, W, C, seed, on, off, out); });
}

napi_value StreamUniforms(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!getArgs(env, info, 3, argv, "streamUniforms(n, seed, offset)")) return nullptr;
  size_t n = 0;
  uint64_t seed = 0, offset = 0;
  if (!getSize(env, argv[0], "n", &n, 0) || !getUint(env, argv[1], "seed", &seed) ||
      !getUint(env, argv[2], "offset", &offset)) {
    return nullptr;
  }
  float* out = nullptr;
  napi_value result = newF32(env, n, &out);
  if (!result) return nullptr;
  streamUniforms(n, seed, offset, out);
  return result;
}

napi_value SgdUpdate(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  if (!getArgs(env, info, 9, argv, "sgdUpdate(p, g, v, hasVelocity, lr, momentum, nesterov, weightDecay, out?)", 1))
    return nullptr;
  F32 p, g, v;
  SgdConfig c{};
  if (!getF32(env, argv[0], "p", &p) || !getF32(env, argv[1], "g", &g) || !getF32(env, argv[2], "v", &v) ||
      !getBool(env, argv[3], "hasVelocity", &c.hasVelocity) || !getFloat(env, argv[4], "lr", &c.lr) ||
      !getFloat(env, argv[5], "momentum", &c.momentum) || !getBool(env, argv[6], "nesterov", &c.nesterov) ||
      !getFloat(env, argv[7], "weightDecay", &c.weightDecay) || !checkLength(env, g, p.length, "g") ||
      (c.momentum != 0 && !checkLength(env, v, p.length, "v"))) {
    return nullptr;
  }
  float* next = nullptr;
  napi_value result;
  if (!outputF32(env, argv[8], p.length, "out", &result, &next)) return nullptr;
  sgdUpdate(c, p.data, g.data, v.data, next, p.length);
  return result;
}

napi_value ClipFinite(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!getArgs(env, info, 2, argv, "clipFinite(g, clip)")) return nullptr;
  F32 g;
  double clip = 0;
  if (!getF32(env, argv[0], "g", &g) || !readNumber(env, argv[1], &clip) || std::isnan(clip) || clip < 0) {
    throwError(env, "clip must be a number ≥ 0 (Infinity: no clipping)");
    return nullptr;
  }
  // float32 as the tfjs path's clip bounds; ∞ (no clipping) stays ∞
  const bool finite = clipFinite(g.data, g.length, static_cast<float>(clip));
  napi_value result;
  napi_get_boolean(env, finite, &result);
  return result;
}

napi_value AdamUpdate(napi_env env, napi_callback_info info) {
  napi_value argv[14];
  if (!getArgs(env, info, 14, argv,
               "adamUpdate(p, g, m, v, lr, beta1, beta2, oneMinusBeta1, oneMinusBeta2, epsilon, weightDecay, c1, "
               "c2, out?)",
               1))
    return nullptr;
  F32 p, g, m, v;
  AdamConfig c{};
  if (!getF32(env, argv[0], "p", &p) || !getF32(env, argv[1], "g", &g) || !getF32(env, argv[2], "m", &m) ||
      !getF32(env, argv[3], "v", &v) || !getFloat(env, argv[4], "lr", &c.lr) ||
      !getFloat(env, argv[5], "beta1", &c.beta1) || !getFloat(env, argv[6], "beta2", &c.beta2) ||
      !getFloat(env, argv[7], "oneMinusBeta1", &c.oneMinusBeta1) ||
      !getFloat(env, argv[8], "oneMinusBeta2", &c.oneMinusBeta2) || !getFloat(env, argv[9], "epsilon", &c.epsilon) ||
      !getFloat(env, argv[10], "weightDecay", &c.weightDecay) || !getFloat(env, argv[11], "c1", &c.c1) ||
      !getFloat(env, argv[12], "c2", &c.c2) || !checkLength(env, g, p.length, "g") ||
      !checkLength(env, m, p.length, "m") || !checkLength(env, v, p.length, "v")) {
    return nullptr;
  }
  float* next = nullptr;
  napi_value result;
  if (!outputF32(env, argv[13], p.length, "out", &result, &next)) return nullptr;
  adamUpdate(c, p.data, g.data, m.data, v.data, next, p.length);
  return result;
}

napi_value RatioConv(napi_env env, napi_callback_info info) {
  napi_value argv[15];
  if (!getArgs(env, info, 15, argv,
               "ratioConv(a, shift, g, w, B, H, W, C, Ho, Wo, F, K, stride, padding, noise)"))
    return nullptr;
  F32 a, shift, g, w;
  ConvShape s{};
  bool normal = false;
  if (!getF32(env, argv[0], "a", &a) || !getF32(env, argv[1], "shift", &shift) || !getF32(env, argv[2], "g", &g) ||
      !getF32(env, argv[3], "w", &w) || !getSize(env, argv[4], "B", &s.B, 0) || !getSize(env, argv[5], "H", &s.H) ||
      !getSize(env, argv[6], "W", &s.W) || !getSize(env, argv[7], "C", &s.C) || !getSize(env, argv[8], "Ho", &s.Ho) ||
      !getSize(env, argv[9], "Wo", &s.Wo) || !getSize(env, argv[10], "F", &s.F) || !getSize(env, argv[11], "K", &s.K) ||
      !getSize(env, argv[12], "stride", &s.stride) || !getSize(env, argv[13], "padding", &s.padding, 0) ||
      !getNoise(env, argv[14], &normal)) {
    return nullptr;
  }
  if ((s.H + 2 * s.padding < s.K) || (s.Ho != (s.H + 2 * s.padding - s.K) / s.stride + 1) ||
      (s.W + 2 * s.padding < s.K) || (s.Wo != (s.W + 2 * s.padding - s.K) / s.stride + 1)) {
    throwError(env, "Ho, Wo do not match H, W, K, stride, padding", true);
    return nullptr;
  }
  if (!checkLength(env, a, s.B * s.Ho * s.Wo * s.F, "a") || !checkLength(env, g, s.B * s.Ho * s.Wo * s.F, "g") ||
      !checkLength(env, shift, s.B * s.H * s.W * s.C, "shift") || !checkLength(env, w, s.K * s.K * s.C * s.F, "w")) {
    return nullptr;
  }
  float* out = nullptr;
  napi_value result = newF32(env, s.B * s.H * s.W * s.C, &out);
  if (!result) return nullptr;
  return guarded(env, "ratioConv", result, [&] {
    ratioConvolution(currentIsa(), normal, a.data, shift.data, g.data, w.data, s, out);
  });
}

napi_value makeString(napi_env env, const char* s) {
  napi_value v;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  return v;
}

napi_value makeNumber(napi_env env, double x) {
  napi_value v;
  napi_create_double(env, x, &v);
  return v;
}

napi_value Info(napi_env env, napi_callback_info) {
  napi_value obj, isas;
  napi_create_object(env, &obj);
  const Isa* isa = currentIsa();
  napi_set_named_property(env, obj, "isa", makeString(env, isa->name));
  napi_set_named_property(env, obj, "lanes", makeNumber(env, isa->lanes));
  napi_set_named_property(env, obj, "threads", makeNumber(env, currentThreads()));
  napi_create_array(env, &isas);
  uint32_t n = 0;
  for (const char* name : {"scalar", "avx2", "avx512"}) {
    if (isaByName(name)) napi_set_element(env, isas, n++, makeString(env, name));
  }
  napi_set_named_property(env, obj, "isas", isas);
#ifdef SBN_HAVE_BLAS
  napi_set_named_property(env, obj, "blasCore", makeString(env, openblas_get_corename()));
#endif
  return obj;
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int64_t n = 0;
  if (argc >= 1) napi_get_value_int64(env, argv[0], &n);
  return makeNumber(env, setCurrentThreads(n));
}

napi_value SetIsa(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  std::string name;
  if (argc < 1 || !getString(env, argv[0], "name", &name)) return nullptr;
  const Isa* isa = name == "auto" ? bestIsa() : isaByName(name);
  if (isa) setCurrentIsa(isa);
  napi_value v;
  napi_get_boolean(env, isa != nullptr, &v);
  return v;
}

napi_value ExpThroughput(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  size_t n = 4096, reps = 2000;
  if (argc >= 1 && !getSize(env, argv[0], "n", &n)) return nullptr;
  if (argc >= 2 && !getSize(env, argv[1], "reps", &reps)) return nullptr;
  n -= n % 32;
  if (n == 0) n = 32;
  const Isa* isa = currentIsa();
  const int threads = std::max(1, currentThreads());
  const ThroughputFloors floors = measureThroughputFloors(isa, threads, n, reps);
  napi_value obj;
  napi_create_object(env, &obj);
  napi_set_named_property(env, obj, "gevalsPerSecond", makeNumber(env, floors.expPerSecond));
  napi_set_named_property(env, obj, "ratioPerSecond", makeNumber(env, floors.ratioPerSecond));
  napi_set_named_property(env, obj, "threads", makeNumber(env, threads));
  napi_set_named_property(env, obj, "isa", makeString(env, isa->name));
  napi_set_named_property(env, obj, "checksum", makeNumber(env, floors.checksum));
  return obj;
}

}  // namespace

napi_value TfDevices(napi_env env, napi_callback_info info);  // tf_devices.cc
napi_value Preload(napi_env env, napi_callback_info info);    // tf_devices.cc
#ifdef SBN_HAVE_BLAS
napi_value DenseStep(napi_env env, napi_callback_info info);     // dense_step.cc (only with a CBLAS)
napi_value DensePsaStep(napi_env env, napi_callback_info info);  // dense_step.cc (only with a CBLAS)
napi_value ConvStep(napi_env env, napi_callback_info info);      // dense_step.cc (only with a CBLAS)
napi_value ConvPsaStep(napi_env env, napi_callback_info info);   // dense_step.cc (only with a CBLAS)
#endif

}  // namespace sbn

NAPI_MODULE_INIT() {
  // every environment holds the thread pool until it is torn down (runtime.h)
  sbn::holdPool();
  napi_add_env_cleanup_hook(env, [](void*) { sbn::releasePool(); }, nullptr);
  const napi_property_descriptor props[] = {
      {"psaDense", nullptr, sbn::PsaDense, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"ratioConv", nullptr, sbn::RatioConv, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"psaFlips", nullptr, sbn::PsaFlips, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"bernoulli", nullptr, sbn::Bernoulli, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"sampleStates", nullptr, sbn::SampleStates, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"streamUniforms", nullptr, sbn::StreamUniforms, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"sgdUpdate", nullptr, sbn::SgdUpdate, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"adamUpdate", nullptr, sbn::AdamUpdate, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"clipFinite", nullptr, sbn::ClipFinite, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"info", nullptr, sbn::Info, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setThreads", nullptr, sbn::SetThreads, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setIsa", nullptr, sbn::SetIsa, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"expThroughput", nullptr, sbn::ExpThroughput, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"tfDevices", nullptr, sbn::TfDevices, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"preload", nullptr, sbn::Preload, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
#ifdef SBN_HAVE_BLAS
      {"denseStep", nullptr, sbn::DenseStep, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"densePsaStep", nullptr, sbn::DensePsaStep, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"convStep", nullptr, sbn::ConvStep, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"convPsaStep", nullptr, sbn::ConvPsaStep, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
#endif
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}