// sbn_kernels: N-API entry points and the ISA-independent drivers (tables, threading, loops over rows, pixels
// and kernel taps). See kernels.h for the arithmetic.
//
//   psaDense(a, wT, shift, g, rows, nIn, nOut, noise) → Float32Array [rows·nIn]
//       λ[r,i] = Σ_j [F(a[r,j] + wT[i,j]·shift[r,i]) − F(a[r,j])]·g[r,j]
//   ratioConv(a, shift, g, w, B, H, W, C, Ho, Wo, F, K, stride, padding, noise) → Float32Array [B·H·W·C] (NHWC)
//       λ[b,h,x,c] = Σ_{taps (kh,kw) with h+p = s·ho+kh, x+p = s·wo+kw} Σ_f [F(a[b,ho,wo,f] + w[kh,kw,c,f]·δ) − F(a)]·g
//       with δ = shift[b,h,x,c] (NHWC a, g: [B,Ho,Wo,F]; w: [K,K,C,F]); padded inputs contribute nothing.
//   psaFlips(logits, w, shift, labels, rho, rows, n, K, loss) → { lambda, cSum, corr, rowLoss }: PSA's last layer
//       (docs/math.md §2.3.2) — η_i = η₀ + δ_i W[:, i] for every unit i, λ = f_i − f₀ [rows·n], cSum = (1 − Σρ)∂ℓ(η₀) + Σ_i ρ_i ∂ℓ(η_i)
//       [rows·K], corr[r,k,i] = ρ_i δ_i ∂ℓ(η_i)_k [rows·K·n], rowLoss = (1 − Σρ) f₀ + Σ_i ρ_i f_i [rows];
//       loss 'nll' (labels: class indices) or 'logistic' (K = 1, labels ±1); float64 inside, scalar.
//       With an 11th argument `groups` (dividing rows), corr comes back as its mean over each group of consecutive
//       rows [groups·K·n] — what the output-layer gradient needs — without a rows·K·n array crossing to JS.
//   bernoulli(p, seed, offset) → Float32Array: x_i = 1 if u_{offset+i} < p_i else 0, where u_k is the k-th output of
//       SplitMix64 started from state `seed` (top 24 bits, in [0, 1)) — counter-based, so thread counts do not
//       matter; streamUniforms(n, seed, offset) → those u_k. Every binary state the engine samples comes from here
//       (or from src/engine/counterStream.ts, the JavaScript twin: the same numbers).
//   info() → { isa, lanes, threads, isas }      setThreads(n) (0: default)      setIsa(name) → boolean
//   expThroughput(n, reps) → { gevalsPerSecond, ratioPerSecond, threads, isa }: G/s of 1/(1 + e^{−|x|}) and of
//       1/(1 + x·y) over L1-resident buffers — the per-connection floors of the exp and ratio forms
//   tfDevices(libPath) → [{ name, type, memoryBytes }]: the devices libtensorflow lists (tf_devices.cc)
//   preload(paths) → true: dlopen(RTLD_GLOBAL) of CUDA libraries before a GPU libtensorflow loads (tf_devices.cc)
//
// noise: 'logistic' (vectorised, float32) or 'normal' (scalar float64 erfc path).
// ISA: AVX-512F, else AVX2+FMA, else scalar, from the CPU at load time; SBN_KERNEL_ISA=scalar|avx2|avx512 or
// setIsa() picks a supported one.
// Determinism: every output element is computed by one thread, always with the same grouping and summation
// order, so results do not depend on the thread count (SBN_KERNEL_THREADS, default: hardware threads).
#include <node_api.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "kernels.h"

namespace sbn {
namespace {

constexpr double kSqrt1_2 = 0.70710678118654752440;

// ---- configuration ---------------------------------------------------------------------------------------

std::once_flag g_initOnce;
std::atomic<const Isa*> g_isa{nullptr};
std::atomic<int> g_threads{1};

int defaultThreads() {
  if (const char* env = std::getenv("SBN_KERNEL_THREADS")) {
    const long v = std::strtol(env, nullptr, 10);
    if (v > 0) return static_cast<int>(std::min(v, 1024L));
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(hw) : 1;
}

bool cpuHasAvx2() {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

bool cpuHasAvx512() {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  return cpuHasAvx2() && __builtin_cpu_supports("avx512f");
#else
  return false;
#endif
}

const Isa* isaByName(const std::string& name) {
  if (name == "scalar") return isaScalar();
  if (name == "avx2") return cpuHasAvx2() ? isaAvx2() : nullptr;
  if (name == "avx512") return cpuHasAvx512() ? isaAvx512() : nullptr;
  return nullptr;
}

const Isa* bestIsa() {
  if (const char* env = std::getenv("SBN_KERNEL_ISA")) {
    if (const Isa* isa = isaByName(env)) return isa;
  }
  if (cpuHasAvx512() && isaAvx512()) return isaAvx512();
  if (cpuHasAvx2() && isaAvx2()) return isaAvx2();
  return isaScalar();
}

void initOnce() {
  std::call_once(g_initOnce, [] {
    g_isa.store(bestIsa());
    g_threads.store(defaultThreads());
  });
}

// ---- threading -------------------------------------------------------------------------------------------

/**
 * Runs fn(begin, end) over [0, units) on up to g_threads threads (the caller is one of them). Chunks are handed
 * out dynamically (a busy core does not hold the others up), so which thread computes a unit varies from run to
 * run — the result must depend on the unit only, never on the chunking. `work` (connections) decides whether
 * threads pay off at all.
 */
template <class Fn>
void parallelFor(size_t units, double work, const Fn& fn) {
  size_t nt = static_cast<size_t>(std::max(1, g_threads.load()));
  nt = std::min(nt, units);
  nt = std::min(nt, static_cast<size_t>(std::max(1.0, work / 32768.0)));
  if (nt <= 1) {
    if (units > 0) fn(size_t{0}, units);
    return;
  }
  const size_t grain = std::max<size_t>(1, units / (16 * nt));  // about 16 chunks per thread
  std::atomic<size_t> next{0};
  std::mutex failMutex;
  std::exception_ptr failure;  // the first exception of any thread (bad_alloc), rethrown by the caller
  auto worker = [&] {
    try {
      for (;;) {
        const size_t b = next.fetch_add(grain);
        if (b >= units) return;
        fn(b, std::min(units, b + grain));
      }
    } catch (...) {
      next.store(units);
      std::lock_guard<std::mutex> lock(failMutex);
      if (!failure) failure = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(nt - 1);
  for (size_t t = 1; t < nt; t++) {
    try {
      pool.emplace_back(worker);
    } catch (const std::system_error&) {
      break;  // fewer threads: the remaining ones take the chunks
    }
  }
  worker();
  for (auto& th : pool) th.join();
  if (failure) std::rethrow_exception(failure);
}

// ---- shared pieces ---------------------------------------------------------------------------------------

/** The distinct non-zero |shift| values (≤ kMaxTables of them get q, d tables; more: built per use). */
constexpr int kMaxTables = 4;
struct Magnitudes {
  float mag[kMaxTables];
  int count = 0;
  bool generic = false;

  int indexOf(float m) const {
    for (int k = 0; k < count; k++) {
      if (mag[k] == m) return k;
    }
    return -1;
  }
};

Magnitudes scanMagnitudes(const float* shift, size_t n) {
  Magnitudes M;
  for (size_t i = 0; i < n && !M.generic; i++) {
    const float m = std::fabs(shift[i]);
    if (m == 0.0f || M.indexOf(m) >= 0) continue;
    if (M.count < kMaxTables) {
      M.mag[M.count++] = m;
    } else {
      M.generic = true;
    }
  }
  return M;
}

/**
 * Grow-only buffers reused from call to call, one set per calling thread. Fresh multi-megabyte vectors per call
 * cost more than the arithmetic: every new page is a fault the OS zero-fills (measured: ~11 ms of a 14 ms call
 * for 2048 × 512 outputs, and much of the system time of a training step).
 */
class Workspace {
 public:
  enum Slot { kCorr, kA, kAinv, kGp, kGm, kTables };  // kTables + 2m, kTables + 2m + 1: q, d of magnitude m
  float* get(size_t slot, size_t n) {
    if (buffers_.size() <= slot) buffers_.resize(slot + 1);
    std::vector<float>& b = buffers_[slot];
    if (b.size() < n) b.resize(n);
    return b.data();
  }

 private:
  std::vector<std::vector<float>> buffers_;
};
thread_local Workspace t_workspace;

/**
 * Logistic: per-output factors (A, A⁻¹, Gp, Gm; kernels.h), a per-row choice between the ratio form and the exp
 * form (|a| ≤ kRatioLimit over the whole row of n outputs), and per-|δ| weight tables q = ±e^{−|δ||w|},
 * d = 1 − e^{−|δ||w|} (built per use when there are more than kMaxTables distinct |δ|).
 */
struct Logistic {
  const Isa* isa;
  const float* a;
  const float* w;
  size_t rowLen;
  float *A, *Ainv, *gp, *gm;  // in t_workspace: valid for this call
  std::vector<unsigned char> ratioRow;
  Magnitudes mags;
  float* q[kMaxTables] = {};
  float* d[kMaxTables] = {};

  Logistic(const Isa* isa_, const float* a_, const float* g, size_t nA, size_t rowLen_, const float* w_, size_t nW,
           const float* shift, size_t nShift)
      : isa(isa_), a(a_), w(w_), rowLen(rowLen_), A(t_workspace.get(Workspace::kA, nA)),
        Ainv(t_workspace.get(Workspace::kAinv, nA)), gp(t_workspace.get(Workspace::kGp, nA)),
        gm(t_workspace.get(Workspace::kGm, nA)), ratioRow(nA / rowLen_),
        mags(scanMagnitudes(shift, nShift)) {
    const size_t rows = nA / rowLen;
    parallelFor(rows, static_cast<double>(nA) * 8, [&](size_t b, size_t e) {
      isa->prepOut((e - b) * rowLen, a + b * rowLen, g + b * rowLen, A + b * rowLen, Ainv + b * rowLen,
                   gp + b * rowLen, gm + b * rowLen);
      for (size_t r = b; r < e; r++) {
        bool ok = true;
        for (size_t j = r * rowLen; j < (r + 1) * rowLen; j++) ok = ok && std::fabs(a[j]) <= kRatioLimit;
        ratioRow[r] = ok;
      }
    });
    if (!mags.generic) {
      for (int k = 0; k < mags.count; k++) {
        q[k] = t_workspace.get(Workspace::kTables + 2 * static_cast<size_t>(k), nW);
        d[k] = t_workspace.get(Workspace::kTables + 2 * static_cast<size_t>(k) + 1, nW);
        const size_t chunk = 4096;
        parallelFor((nW + chunk - 1) / chunk, static_cast<double>(nW) * 8, [&](size_t b, size_t e) {
          const size_t off = b * chunk;
          isa->prepW(std::min(e * chunk, nW) - off, w + off, mags.mag[k], q[k] + off, d[k] + off);
        });
      }
    }
  }

  size_t scratchSize(size_t n) const { return mags.generic ? 2 * static_cast<size_t>(kMaxT) * kMaxR * n : 0; }

  /**
   * vals[k] += Σ_t Σ_j g (F(a + w δ_k) − F(a)) over T taps: the n = rowLen outputs at aOff[t] and input k's
   * weights at wOff[t·kMaxR + k].
   */
  void run(int n, int T, const size_t* aOff, const size_t* wOff, int R, const float* delta, float* vals, float* scratch) const {
    DotArgs x;
    x.n = n;
    x.T = T;
    x.R = R;
    for (int k = 0; k < R; k++) x.delta[k] = delta[k];
    bool ratio = true;
    for (int t = 0; t < T; t++) {
      const size_t ao = aOff[t];
      ratio = ratio && ratioRow[ao / rowLen];
      x.a[t] = a + ao;
      x.A[t] = A + ao;
      x.Ainv[t] = Ainv + ao;
      x.gp[t] = gp + ao;
      x.gm[t] = gm + ao;
      for (int k = 0; k < R; k++) {
        const size_t wo = wOff[t * kMaxR + k];
        x.w[t][k] = w + wo;
        if (mags.generic) {
          float* qs = scratch + static_cast<size_t>(2 * (t * kMaxR + k)) * n;
          isa->prepW(static_cast<size_t>(n), w + wo, std::fabs(delta[k]), qs, qs + n);
          x.q[t][k] = qs;
          x.d[t][k] = qs + n;
        } else {
          const int m = mags.indexOf(std::fabs(delta[k]));
          x.q[t][k] = q[m] + wo;
          x.d[t][k] = d[m] + wo;
        }
      }
    }
    (ratio ? isa->dotRatio : isa->dotExp)(x, vals);
  }
};

/** Normal noise: float64 erfc, with the difference of two upper tails when the pair sits on the upper side. */
struct Normal {
  const float* a;
  const float* g;
  const float* w;
  std::vector<double> phi, q;  // Φ(a), 1 − Φ(a)

  Normal(const float* a_, const float* g_, size_t nA, const float* w_) : a(a_), g(g_), w(w_), phi(nA), q(nA) {
    parallelFor(nA, static_cast<double>(nA) * 8, [&](size_t b, size_t e) {
      for (size_t j = b; j < e; j++) {
        phi[j] = 0.5 * std::erfc(-a[j] * kSqrt1_2);
        q[j] = 0.5 * std::erfc(a[j] * kSqrt1_2);
      }
    });
  }

  size_t scratchSize(size_t) const { return 0; }

  void run(int n, int T, const size_t* aOff, const size_t* wOff, int R, const float* delta, float* vals, float*) const {
    for (int k = 0; k < R; k++) {
      const double dk = delta[k];
      double acc = 0.0;
      for (int t = 0; t < T; t++) {
        const size_t ao = aOff[t];
        const float* ar = a + ao;
        const float* gr = g + ao;
        const float* wk = w + wOff[t * kMaxR + k];
        for (int j = 0; j < n; j++) {
          const double aj = ar[j];
          const double u = aj + static_cast<double>(wk[j]) * dk;
          const double diff = u + aj > 0 ? q[ao + j] - 0.5 * std::erfc(u * kSqrt1_2)
                                         : 0.5 * std::erfc(-u * kSqrt1_2) - phi[ao + j];
          acc += static_cast<double>(gr[j]) * diff;
        }
      }
      vals[k] += static_cast<float>(acc);
    }
  }
};

// ---- drivers ---------------------------------------------------------------------------------------------

struct DenseShape {
  size_t rows, nIn, nOut;
};

/**
 * Work unit: a group of consecutive inputs over a block of kDenseRowBlock rows. The group's weight tables (q and d,
 * 8 bytes per weight) stay in L1 while the block's rows pass over them — as many inputs as fit in kGroupTableBytes,
 * 4 to kMaxR — and the block's per-output factors (32 rows × n_out × 16 bytes) stay in L2 while the groups pass over
 * them. Streaming every input's tables from L2 once per row, as before, bounded the kernel: this order is 1.3×
 * faster at 256 × 512 × 512 and 1.8× at 2048 outputs. Groups of 8 at 512 outputs overflow L1 and groups of 2–3
 * reload the factors too often (both measured slower); small layers keep groups of 8 (fewer, longer calls).
 * Each output (r, i) is still one kernel sum in a fixed order: results are bit for bit those of any other order.
 */
constexpr size_t kGroupTableBytes = 16 << 10;
constexpr size_t kSmallTablesBytes = 256 << 10;  // all tables in L2: row by row, groups of kMaxR (fewest calls)
constexpr size_t kDenseRowBlock = 32;

template <class Kernel>
void denseDriver(const Kernel& K, const DenseShape& s, const float* shift, float* out) {
  const size_t tableBytes = s.nOut * 2 * sizeof(float);  // per input
  const bool small = s.nIn * tableBytes <= kSmallTablesBytes;
  // G inputs per kernel call; a unit covers `span` inputs (all of them for small layers) of RB rows
  const int G = small ? kMaxR : static_cast<int>(std::min<size_t>(kMaxR, std::max<size_t>(4, kGroupTableBytes / tableBytes)));
  const size_t span = small ? s.nIn : static_cast<size_t>(G);
  const size_t RB = small ? 1 : kDenseRowBlock;
  const size_t nSpans = (s.nIn + span - 1) / span;
  const size_t nBlocks = (s.rows + RB - 1) / RB;
  const double work = static_cast<double>(s.rows) * s.nIn * s.nOut;
  parallelFor(nBlocks * nSpans, work, [&](size_t ub, size_t ue) {
    std::vector<float> scratch(K.scratchSize(s.nOut));
    for (size_t u = ub; u < ue; u++) {
      const size_t r0 = (u / nSpans) * RB;
      const size_t r1 = std::min(s.rows, r0 + RB);
      const size_t i0 = (u % nSpans) * span;
      const size_t i1 = std::min(s.nIn, i0 + span);
      for (size_t r = r0; r < r1; r++) {
        const float* sr = shift + r * s.nIn;
        float* outr = out + r * s.nIn;
        const size_t aOff = r * s.nOut;
        size_t idx[kMaxR];
        size_t wOff[kMaxR];
        float delta[kMaxR];
        int R = 0;  // inputs with δ ≠ 0 collected for the next call (the others contribute exactly 0)
        auto flush = [&] {
          float vals[kMaxR] = {};
          K.run(static_cast<int>(s.nOut), 1, &aOff, wOff, R, delta, vals, scratch.data());
          for (int k = 0; k < R; k++) outr[idx[k]] = vals[k];
          R = 0;
        };
        for (size_t i = i0; i < i1; i++) {
          if (sr[i] == 0.0f) {
            outr[i] = 0.0f;
            continue;
          }
          idx[R] = i;
          wOff[R] = i * s.nOut;
          delta[R] = sr[i];
          if (++R == G) flush();
        }
        if (R > 0) flush();
      }
    }
  });
}

struct ConvShape {
  size_t B, H, W, C, Ho, Wo, F, K, stride, padding;
};

template <class Kernel>
void convDriver(const Kernel& Kn, const ConvShape& s, const float* shift, float* out) {
  const double taps = static_cast<double>(s.K * s.K) / static_cast<double>(s.stride * s.stride);
  const double work = static_cast<double>(s.B) * s.H * s.W * s.C * s.F * taps;
  parallelFor(s.B * s.H, work, [&](size_t ub, size_t ue) {
    std::vector<float> scratch(Kn.scratchSize(s.F));
    std::vector<size_t> rowTaps, colTaps;  // pairs (kernel index, output index)
    size_t aOff[kMaxT];
    size_t wOff[kMaxT * kMaxR];
    size_t tapW[kMaxT];  // (kh·K + kw)·C
    for (size_t u = ub; u < ue; u++) {
      const size_t b = u / s.H;
      const size_t h = u % s.H;
      rowTaps.clear();
      for (size_t kh = 0; kh < s.K; kh++) {
        const long hp = static_cast<long>(h + s.padding) - static_cast<long>(kh);
        if (hp < 0 || hp % static_cast<long>(s.stride) != 0) continue;
        const size_t ho = static_cast<size_t>(hp) / s.stride;
        if (ho >= s.Ho) continue;
        rowTaps.push_back(kh);
        rowTaps.push_back(ho);
      }
      for (size_t x = 0; x < s.W; x++) {
        colTaps.clear();
        for (size_t kw = 0; kw < s.K; kw++) {
          const long xp = static_cast<long>(x + s.padding) - static_cast<long>(kw);
          if (xp < 0 || xp % static_cast<long>(s.stride) != 0) continue;
          const size_t wo = static_cast<size_t>(xp) / s.stride;
          if (wo >= s.Wo) continue;
          colTaps.push_back(kw);
          colTaps.push_back(wo);
        }
        const size_t pix = ((b * s.H + h) * s.W + x) * s.C;
        const float* sp = shift + pix;
        float* op = out + pix;
        size_t idx[kMaxR];
        float delta[kMaxR];
        int R = 0;
        // every (row tap, column tap) pair, in a fixed order, kMaxT at a time
        auto flush = [&] {
          float vals[kMaxR] = {};
          int T = 0;
          auto call = [&] {
            for (int t = 0; t < T; t++) {
              for (int k = 0; k < R; k++) wOff[t * kMaxR + k] = (tapW[t] + idx[k]) * s.F;
            }
            Kn.run(static_cast<int>(s.F), T, aOff, wOff, R, delta, vals, scratch.data());
            T = 0;
          };
          for (size_t t = 0; t < rowTaps.size(); t += 2) {
            for (size_t v = 0; v < colTaps.size(); v += 2) {
              aOff[T] = ((b * s.Ho + rowTaps[t + 1]) * s.Wo + colTaps[v + 1]) * s.F;
              tapW[T] = (rowTaps[t] * s.K + colTaps[v]) * s.C;
              if (++T == kMaxT) call();
            }
          }
          if (T > 0) call();
          for (int k = 0; k < R; k++) op[idx[k]] = vals[k];
          R = 0;
        };
        for (size_t c = 0; c < s.C; c++) {
          if (sp[c] == 0.0f) {
            op[c] = 0.0f;
            continue;
          }
          idx[R] = c;
          delta[R] = sp[c];
          if (++R == kMaxR) flush();
        }
        if (R > 0) flush();
      }
    }
  });
}

// ---- PSA's last layer: single-flip losses (docs/math.md §2.3.2) ---------------------------------------------------

/** Inputs and outputs of psaFlips (row-major). */
struct FlipsArgs {
  const float* logits;  // [rows, K]   η₀
  const float* w;       // [K, n]      the output layer's weight
  const float* shift;   // [rows, n]   δ_i
  const float* labels;  // [rows]      class index (nll) or ±1 (logistic)
  const float* rho;     // [rows, n]   ρ_i
  size_t rows, n, K;
  bool logistic;
  float* lambda;   // [rows, n]     f_i − f₀
  float* cSum;     // [rows, K]     (1 − Σρ) ∂ℓ(η₀) + Σ_i ρ_i ∂ℓ(η_i)
  float* corr;     // [rows, K, n]  ρ_i δ_i ∂ℓ(η_i)
  float* rowLoss;  // [rows]        (1 − Σρ) f₀ + Σ_i ρ_i f_i
};

/** ℓ(η, y) and ∂ℓ/∂η (into g) of one row of K float32 logits, in float64; e: K scratch values. */
inline double flipLoss(const float* eta, size_t K, bool logistic, double y, size_t label, double* e, double* g) {
  if (logistic) {
    const double m = y * static_cast<double>(eta[0]);
    // softplus(−m) = max(−m, 0) + log(1 + e^{−|m|}); σ(−m) = 1/(1 + e^{m})
    const double t = std::exp(-std::fabs(m));
    const double loss = (m > 0 ? 0.0 : -m) + std::log1p(t);
    g[0] = -y * (m >= 0 ? t / (1 + t) : 1 / (1 + t));
    return loss;
  }
  double mx = eta[0];
  for (size_t k = 1; k < K; k++) mx = std::max(mx, static_cast<double>(eta[k]));
  double sum = 0;
  for (size_t k = 0; k < K; k++) {
    e[k] = std::exp(static_cast<double>(eta[k]) - mx);
    sum += e[k];
  }
  const double inv = 1 / sum;
  for (size_t k = 0; k < K; k++) g[k] = e[k] * inv;
  g[label] -= 1;
  return mx + std::log(sum) - static_cast<double>(eta[label]);
}

/**
 * e^x for x ≤ 0 in float32 (Cephes expf as in isa_avx2.cc: Cody–Waite reduction by ln 2, degree-5 polynomial,
 * about 1 ulp; clamped at −87.3), branch-free so that loops over it vectorise in this ISA-independent file.
 */
inline float expNegF(float x) {
  x += static_cast<float>(x < -87.3f) * (-87.3f - x);  // max(x, −87.3) as arithmetic: a select would not vectorise
  const int32_t i = static_cast<int32_t>(x * 1.44269504088896341f - 0.5f);  // round to nearest: x·log2(e) ≤ 0
  const float fx = static_cast<float>(i);
  x = x - fx * 0.693359375f;
  x = x - fx * -2.12194440e-4f;
  const float z = x * x;
  float y = 1.9875691500e-4f;
  y = y * x + 1.3981999507e-3f;
  y = y * x + 8.3334519073e-3f;
  y = y * x + 4.1665795894e-2f;
  y = y * x + 1.6666665459e-1f;
  y = y * x + 5.0000001201e-1f;
  y = y * z + x + 1.0f;
  const int32_t bits = (i + 127) * (1 << 23);
  float p;
  std::memcpy(&p, &bits, sizeof p);
  return y * p;
}

/**
 * log x for normal x > 0 in float32 (Cephes logf: x = m·2^e with m in [√½, √2), degree-9 polynomial in m − 1,
 * ln 2 split in two; about 1 ulp), branch-free so that loops over it vectorise. Here x = Σ_k e^{η_k − max} ∈ [1, K],
 * so its log is at most a few units and float32 leaves ~1e-7 absolute error on a flip loss (the float64 std::log
 * it replaces was a third of psaFlips' time).
 */
inline float logPosF(float x) {
  int32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  float e = static_cast<float>(((bits >> 23) & 0xff) - 126);
  bits = (bits & 0x007fffff) | 0x3f000000;  // mantissa in [0.5, 1)
  float m;
  std::memcpy(&m, &bits, sizeof m);
  const float lo = static_cast<float>(m < 0.707106781186547524f);  // then use 2m and e − 1
  e -= lo;
  m = m + m * lo - 1.0f;
  const float z = m * m;
  float y = 7.0376836292e-2f;
  y = y * m - 1.1514610310e-1f;
  y = y * m + 1.1676998740e-1f;
  y = y * m - 1.2420140846e-1f;
  y = y * m + 1.4249322787e-1f;
  y = y * m - 1.6668057665e-1f;
  y = y * m + 2.0000714765e-1f;
  y = y * m - 2.4999993993e-1f;
  y = y * m + 3.3333331174e-1f;
  y = y * m * z;
  y += -2.12194440e-4f * e;
  y += -0.5f * z;
  return m + y + 0.693359375f * e;
}

constexpr size_t kFlipBlock = 64;

// The last-layer loops are plain C++ written to auto-vectorise; compiled once per ISA (chosen when the addon loads)
// they run 16 lanes wide on AVX-512 instead of the 4 of the x86-64 baseline (psaFlips 2.4× faster at 256 × 512 × 10).
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__)) && defined(__linux__)
#define SBN_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2,fma", "default")))
#else
#define SBN_VECTOR_CLONES
#endif  // units i per block of the nll path

/**
 * Rows [b, e) of psaFlips, each by one thread with a fixed summation order (thread counts do not matter).
 * η_i = η₀ + δ_i W[:, i] is formed in float32 as the tfjs reference forms it. nll: blocks of kFlipBlock units,
 * K × block arrays, float32 max-shifted exponentials (vectorised), log and the sums over i in float64, ∂ℓ
 * accumulated per lane and summed over lanes at the end of the row. logistic (K = 1): float64 throughout.
 */
SBN_VECTOR_CLONES void flipsRows(const FlipsArgs& A, size_t b, size_t e) {
  const size_t K = A.K, n = A.n, B = kFlipBlock;
  std::vector<float> et(K * B), mx(B), sum(B), pd(B), pr(B);
  std::vector<double> accLane(K * B), g0(K), scratch(K), g(K);
  for (size_t r = b; r < e; r++) {
    const float* l0 = A.logits + r * K;
    const double y = A.labels[r];
    const size_t label = A.logistic ? 0 : static_cast<size_t>(y);
    const double f0 = flipLoss(l0, K, A.logistic, y, label, scratch.data(), g0.data());
    double rhoSum = 0, flipSum = 0;
    const float* sh = A.shift + r * n;
    const float* rh = A.rho + r * n;
    float* lam = A.lambda + r * n;
    float* corr = A.corr + r * K * n;
    if (A.logistic) {
      double acc = 0;
      for (size_t i = 0; i < n; i++) {
        const float eta = l0[0] + sh[i] * A.w[i];
        const double f = flipLoss(&eta, 1, true, y, 0, scratch.data(), g.data());
        const double p = rh[i];
        lam[i] = static_cast<float>(f - f0);
        rhoSum += p;
        flipSum += p * f;
        acc += p * g[0];
        corr[i] = static_cast<float>(p * static_cast<double>(sh[i]) * g[0]);
      }
      const double w0 = 1 - rhoSum;
      A.cSum[r] = static_cast<float>(w0 * g0[0] + acc);
      A.rowLoss[r] = static_cast<float>(w0 * f0 + flipSum);
      continue;
    }
    std::fill(accLane.begin(), accLane.end(), 0.0);
    for (size_t i0 = 0; i0 < n; i0 += B) {
      const size_t m = std::min(B, n - i0);
      const float* d = sh + i0;
      for (size_t k = 0; k < K; k++) {
        const float lk = l0[k];
        const float* wk = A.w + k * n + i0;
        float* ek = et.data() + k * B;
        for (size_t j = 0; j < m; j++) ek[j] = lk + d[j] * wk[j];
      }
      for (size_t j = 0; j < m; j++) mx[j] = et[j];
      for (size_t k = 1; k < K; k++) {
        const float* ek = et.data() + k * B;
        for (size_t j = 0; j < m; j++) mx[j] = ek[j] > mx[j] ? ek[j] : mx[j];
      }
      const float* ey = et.data() + label * B;
      for (size_t j = 0; j < m; j++) {
        // f_i = max + log Σ_k e^{η_k − max} − η_y, with η_y − max taken before the exponentials overwrite it
        pd[j] = ey[j] - mx[j];
        sum[j] = 0;
      }
      for (size_t k = 0; k < K; k++) {
        float* ek = et.data() + k * B;
        for (size_t j = 0; j < m; j++) {
          const float x = expNegF(ek[j] - mx[j]);
          ek[j] = x;
          sum[j] += x;
        }
      }
      for (size_t j = 0; j < m; j++) mx[j] = logPosF(sum[j]);  // mx is free again: now log Σ
      for (size_t j = 0; j < m; j++) {
        const double p = rh[i0 + j];
        const double f = static_cast<double>(mx[j]) - static_cast<double>(pd[j]);
        lam[i0 + j] = static_cast<float>(f - f0);
        rhoSum += p;
        flipSum += p * f;
        sum[j] = 1.0f / sum[j];  // now the reciprocal
        pr[j] = rh[i0 + j];
        pd[j] = rh[i0 + j] * d[j];
      }
      for (size_t k = 0; k < K; k++) {
        const float* ek = et.data() + k * B;
        const float oh = k == label ? 1.0f : 0.0f;
        double* ak = accLane.data() + k * B;
        float* ck = corr + k * n + i0;
        for (size_t j = 0; j < m; j++) {
          const float gk = ek[j] * sum[j] - oh;
          ck[j] = pd[j] * gk;
          ak[j] += static_cast<double>(pr[j] * gk);
        }
      }
    }
    const double w0 = 1 - rhoSum;
    for (size_t k = 0; k < K; k++) {
      double acc = 0;
      for (size_t j = 0; j < B; j++) acc += accLane[k * B + j];
      A.cSum[r * K + k] = static_cast<float>(w0 * g0[k] + acc);
    }
    A.rowLoss[r] = static_cast<float>(w0 * f0 + flipSum);
  }
}

// ---- Bernoulli sampling: a counter-based stream (issue #6 item 3) ------------------------------------------

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
  return static_cast<float>(mix64(seed + (k + 1) * kGolden) >> 40) * (1.0f / 16777216.0f);
}

// ---- N-API glue ------------------------------------------------------------------------------------------

struct F32 {
  float* data = nullptr;
  size_t length = 0;
};

bool throwError(napi_env env, const std::string& msg, bool range = false) {
  if (range) {
    napi_throw_range_error(env, nullptr, msg.c_str());
  } else {
    napi_throw_type_error(env, nullptr, msg.c_str());
  }
  return false;
}

bool getF32(napi_env env, napi_value v, const char* name, F32* out) {
  bool isTa = false;
  if (napi_is_typedarray(env, v, &isTa) != napi_ok || !isTa) return throwError(env, std::string(name) + " must be a Float32Array");
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr) != napi_ok || type != napi_float32_array) {
    return throwError(env, std::string(name) + " must be a Float32Array");
  }
  out->data = static_cast<float*>(data);
  out->length = length;
  return true;
}

bool getSize(napi_env env, napi_value v, const char* name, size_t* out, int64_t min = 1) {
  int64_t x = 0;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number || napi_get_value_int64(env, v, &x) != napi_ok) {
    return throwError(env, std::string(name) + " must be an integer");
  }
  if (x < min || x > (int64_t{1} << 31)) return throwError(env, std::string(name) + " out of range", true);
  *out = static_cast<size_t>(x);
  return true;
}

bool getString(napi_env env, napi_value v, const char* name, std::string* out) {
  char buf[64];
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, buf, sizeof buf, &len) != napi_ok) return throwError(env, std::string(name) + " must be a string");
  out->assign(buf, len);
  return true;
}

bool getNoise(napi_env env, napi_value v, bool* normal) {
  std::string s;
  if (!getString(env, v, "noise", &s)) return false;
  if (s != "logistic" && s != "normal") return throwError(env, "noise must be 'logistic' or 'normal'", true);
  *normal = s == "normal";
  return true;
}

bool checkLength(napi_env env, const F32& x, size_t expected, const char* name) {
  if (x.length != expected) {
    return throwError(env, std::string(name) + ": length " + std::to_string(x.length) + ", expected " + std::to_string(expected), true);
  }
  return true;
}

napi_value newF32(napi_env env, size_t length, float** data) {
  napi_value buffer, array;
  void* raw = nullptr;
  if (napi_create_arraybuffer(env, length * sizeof(float), &raw, &buffer) != napi_ok) return nullptr;
  if (napi_create_typedarray(env, napi_float32_array, length, buffer, 0, &array) != napi_ok) return nullptr;
  *data = static_cast<float*>(raw);
  return array;
}

napi_value PsaDense(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < 8) {
    throwError(env, "psaDense(a, wT, shift, g, rows, nIn, nOut, noise)");
    return nullptr;
  }
  F32 a, wT, shift, g;
  DenseShape s{};
  bool normal = false;
  if (!getF32(env, argv[0], "a", &a) || !getF32(env, argv[1], "wT", &wT) || !getF32(env, argv[2], "shift", &shift) ||
      !getF32(env, argv[3], "g", &g) || !getSize(env, argv[4], "rows", &s.rows, 0) || !getSize(env, argv[5], "nIn", &s.nIn) ||
      !getSize(env, argv[6], "nOut", &s.nOut) || !getNoise(env, argv[7], &normal) ||
      !checkLength(env, a, s.rows * s.nOut, "a") || !checkLength(env, wT, s.nIn * s.nOut, "wT") ||
      !checkLength(env, shift, s.rows * s.nIn, "shift") || !checkLength(env, g, s.rows * s.nOut, "g")) {
    return nullptr;
  }
  float* out = nullptr;
  napi_value result = newF32(env, s.rows * s.nIn, &out);
  if (!result) return nullptr;
  initOnce();
  try {
    if (normal) {
      Normal k(a.data, g.data, a.length, wT.data);
      denseDriver(k, s, shift.data, out);
    } else {
      Logistic k(g_isa.load(), a.data, g.data, a.length, s.nOut, wT.data, wT.length, shift.data, shift.length);
      denseDriver(k, s, shift.data, out);
    }
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, (std::string("psaDense: ") + e.what()).c_str());
    return nullptr;
  }
  return result;
}

napi_value PsaFlips(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < 9) {
    throwError(env, "psaFlips(logits, w, shift, labels, rho, rows, n, K, loss)");
    return nullptr;
  }
  F32 logits, w, shift, labels, rho;
  FlipsArgs A{};
  std::string loss;
  if (!getF32(env, argv[0], "logits", &logits) || !getF32(env, argv[1], "w", &w) || !getF32(env, argv[2], "shift", &shift) ||
      !getF32(env, argv[3], "labels", &labels) || !getF32(env, argv[4], "rho", &rho) || !getSize(env, argv[5], "rows", &A.rows, 0) ||
      !getSize(env, argv[6], "n", &A.n) || !getSize(env, argv[7], "K", &A.K) || !getString(env, argv[8], "loss", &loss)) {
    return nullptr;
  }
  if (loss != "nll" && loss != "logistic") {
    throwError(env, "loss must be 'nll' or 'logistic'", true);
    return nullptr;
  }
  size_t groups = 0;  // 0: corr per row
  if (argc >= 10) {
    napi_valuetype t;
    napi_typeof(env, argv[9], &t);
    if (t != napi_undefined && !getSize(env, argv[9], "groups", &groups)) return nullptr;
    if (groups > 0 && A.rows % groups != 0) {
      throwError(env, "groups (" + std::to_string(groups) + ") must divide rows (" + std::to_string(A.rows) + ")", true);
      return nullptr;
    }
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
    const bool ok = A.logistic ? (y == 1.0f || y == -1.0f) : (y >= 0 && y < static_cast<float>(A.K) && y == std::floor(y));
    if (!ok) {
      throwError(env, "labels[" + std::to_string(r) + "] = " + std::to_string(y) + (A.logistic ? " is not ±1" : " is not a class index"), true);
      return nullptr;
    }
  }
  A.logits = logits.data;
  A.w = w.data;
  A.shift = shift.data;
  A.labels = labels.data;
  A.rho = rho.data;
  napi_value obj, vLambda, vCSum, vCorr, vRowLoss;
  float* corrOut = nullptr;
  const size_t corrRows = groups > 0 ? groups : A.rows;
  if (!(vLambda = newF32(env, A.rows * A.n, &A.lambda)) || !(vCSum = newF32(env, A.rows * A.K, &A.cSum)) ||
      !(vCorr = newF32(env, corrRows * A.K * A.n, &corrOut)) || !(vRowLoss = newF32(env, A.rows, &A.rowLoss))) {
    return nullptr;
  }
  initOnce();
  try {
    A.corr = groups > 0 ? t_workspace.get(Workspace::kCorr, A.rows * A.K * A.n) : corrOut;
    parallelFor(A.rows, static_cast<double>(A.rows * A.n * A.K) * 16, [&](size_t b, size_t e) { flipsRows(A, b, e); });
    if (groups > 0) {
      // mean over each group's rows, summed in row order in float64 (one (group, k) per unit: thread-count free)
      const size_t per = A.rows / groups, n = A.n, K = A.K;
      parallelFor(groups * K, static_cast<double>(A.rows * K * n), [&](size_t b, size_t e) {
        std::vector<double> acc(n);
        for (size_t u = b; u < e; u++) {
          const size_t g = u / K, k = u % K;
          std::fill(acc.begin(), acc.end(), 0.0);
          for (size_t r = g * per; r < (g + 1) * per; r++) {
            const float* c = A.corr + (r * K + k) * n;
            for (size_t i = 0; i < n; i++) acc[i] += c[i];
          }
          float* o = corrOut + u * n;
          for (size_t i = 0; i < n; i++) o[i] = static_cast<float>(acc[i] / static_cast<double>(per));
        }
      });
    }
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, (std::string("psaFlips: ") + e.what()).c_str());
    return nullptr;
  }
  napi_create_object(env, &obj);
  napi_set_named_property(env, obj, "lambda", vLambda);
  napi_set_named_property(env, obj, "cSum", vCSum);
  napi_set_named_property(env, obj, "corr", vCorr);
  napi_set_named_property(env, obj, "rowLoss", vRowLoss);
  return obj;
}

bool getUint(napi_env env, napi_value v, const char* name, uint64_t* out) {
  napi_valuetype t;
  double x = 0;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number || napi_get_value_double(env, v, &x) != napi_ok ||
      !(x >= 0 && x <= 9007199254740991.0 && x == std::floor(x))) {
    return throwError(env, std::string(name) + " must be an integer in [0, 2^53)", true);
  }
  *out = static_cast<uint64_t>(x);
  return true;
}

napi_value Bernoulli(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < 3) {
    throwError(env, "bernoulli(p, seed, offset)");
    return nullptr;
  }
  F32 p;
  uint64_t seed = 0, offset = 0;
  if (!getF32(env, argv[0], "p", &p) || !getUint(env, argv[1], "seed", &seed) || !getUint(env, argv[2], "offset", &offset)) return nullptr;
  float* out = nullptr;
  napi_value result = newF32(env, p.length, &out);
  if (!result) return nullptr;
  initOnce();
  const float* pp = p.data;
  try {
    parallelFor(p.length, static_cast<double>(p.length) * 4, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; i++) out[i] = streamUniform(seed, offset + i) < pp[i] ? 1.0f : 0.0f;
    });
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, (std::string("bernoulli: ") + e.what()).c_str());
    return nullptr;
  }
  return result;
}

napi_value StreamUniforms(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  size_t n = 0;
  uint64_t seed = 0, offset = 0;
  if (argc < 3) {
    throwError(env, "streamUniforms(n, seed, offset)");
    return nullptr;
  }
  if (!getSize(env, argv[0], "n", &n, 0) || !getUint(env, argv[1], "seed", &seed) || !getUint(env, argv[2], "offset", &offset)) return nullptr;
  float* out = nullptr;
  napi_value result = newF32(env, n, &out);
  if (!result) return nullptr;
  for (size_t i = 0; i < n; i++) out[i] = streamUniform(seed, offset + i);
  return result;
}

napi_value RatioConv(napi_env env, napi_callback_info info) {
  size_t argc = 15;
  napi_value argv[15];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc < 15) {
    throwError(env, "ratioConv(a, shift, g, w, B, H, W, C, Ho, Wo, F, K, stride, padding, noise)");
    return nullptr;
  }
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
  initOnce();
  try {
    if (normal) {
      Normal k(a.data, g.data, a.length, w.data);
      convDriver(k, s, shift.data, out);
    } else {
      Logistic k(g_isa.load(), a.data, g.data, a.length, s.F, w.data, w.length, shift.data, shift.length);
      convDriver(k, s, shift.data, out);
    }
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, (std::string("ratioConv: ") + e.what()).c_str());
    return nullptr;
  }
  return result;
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
  initOnce();
  napi_value obj, isas;
  napi_create_object(env, &obj);
  const Isa* isa = g_isa.load();
  napi_set_named_property(env, obj, "isa", makeString(env, isa->name));
  napi_set_named_property(env, obj, "lanes", makeNumber(env, isa->lanes));
  napi_set_named_property(env, obj, "threads", makeNumber(env, g_threads.load()));
  napi_create_array(env, &isas);
  uint32_t n = 0;
  for (const char* name : {"scalar", "avx2", "avx512"}) {
    if (isaByName(name)) napi_set_element(env, isas, n++, makeString(env, name));
  }
  napi_set_named_property(env, obj, "isas", isas);
  return obj;
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  initOnce();
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int64_t n = 0;
  if (argc >= 1) napi_get_value_int64(env, argv[0], &n);
  g_threads.store(n > 0 ? static_cast<int>(std::min<int64_t>(n, 1024)) : defaultThreads());
  return makeNumber(env, g_threads.load());
}

napi_value SetIsa(napi_env env, napi_callback_info info) {
  initOnce();
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  std::string name;
  if (argc < 1 || !getString(env, argv[0], "name", &name)) return nullptr;
  const Isa* isa = name == "auto" ? bestIsa() : isaByName(name);
  if (isa) g_isa.store(isa);
  napi_value v;
  napi_get_boolean(env, isa != nullptr, &v);
  return v;
}

napi_value ExpThroughput(napi_env env, napi_callback_info info) {
  initOnce();
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  size_t n = 4096, reps = 2000;
  if (argc >= 1 && !getSize(env, argv[0], "n", &n)) return nullptr;
  if (argc >= 2 && !getSize(env, argv[1], "reps", &reps)) return nullptr;
  n -= n % 32;
  if (n == 0) n = 32;
  const Isa* isa = g_isa.load();
  const int threads = std::max(1, g_threads.load());
  std::vector<float> x(n), y(n);
  for (size_t j = 0; j < n; j++) {
    x[j] = -8.0f + 16.0f * static_cast<float>(j) / static_cast<float>(n);
    y[j] = static_cast<float>(j % 7) * 0.1f;
  }
  napi_value obj;
  napi_create_object(env, &obj);
  float total = 0;
  for (bool ratio : {false, true}) {
    std::vector<float> sink(static_cast<size_t>(threads));
    const auto t0 = std::chrono::steady_clock::now();
    // one chunk per thread, each over its own copy of the buffers
    parallelFor(static_cast<size_t>(threads), 1e18, [&](size_t b, size_t e) {
      std::vector<float> lx(x), ly(y);
      for (size_t t = b; t < e; t++) sink[t] = isa->expBench(n, lx.data(), ly.data(), static_cast<int>(reps), ratio);
    });
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    napi_set_named_property(env, obj, ratio ? "ratioPerSecond" : "gevalsPerSecond",
                            makeNumber(env, static_cast<double>(n) * reps * threads / secs / 1e9));
    for (float v : sink) total += v;
  }
  napi_set_named_property(env, obj, "threads", makeNumber(env, threads));
  napi_set_named_property(env, obj, "isa", makeString(env, isa->name));
  napi_set_named_property(env, obj, "checksum", makeNumber(env, total));
  return obj;
}

}  // namespace

napi_value TfDevices(napi_env env, napi_callback_info info);  // tf_devices.cc
napi_value Preload(napi_env env, napi_callback_info info);    // tf_devices.cc

}  // namespace sbn

NAPI_MODULE_INIT() {
  const napi_property_descriptor props[] = {
      {"psaDense", nullptr, sbn::PsaDense, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"ratioConv", nullptr, sbn::RatioConv, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"psaFlips", nullptr, sbn::PsaFlips, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"bernoulli", nullptr, sbn::Bernoulli, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"streamUniforms", nullptr, sbn::StreamUniforms, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"info", nullptr, sbn::Info, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setThreads", nullptr, sbn::SetThreads, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setIsa", nullptr, sbn::SetIsa, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"expThroughput", nullptr, sbn::ExpThroughput, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"tfDevices", nullptr, sbn::TfDevices, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"preload", nullptr, sbn::Preload, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
