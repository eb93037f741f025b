// The PSA products' drivers (drivers.h).
#include "drivers.h"

#include <algorithm>
#include <cmath>
#include <chrono>
#include <vector>

#include "noise_models.h"
#include "runtime.h"

namespace sbn {
namespace {

/**
 * Work unit: a group of consecutive inputs over a block of kDenseRowBlock rows. The group's weight tables (E and D,
 * 8 bytes per weight) stay in L1 while the block's rows pass over them — as many inputs as fit in kGroupTableBytes,
 * 4 to kMaxR — and the block's per-output factors (32 rows × n_out × 16 bytes) stay in L2 while the groups pass over
 * them. Streaming every input's tables from L2 once per row, as before, bounded the kernel: this order is 1.3×
 * faster at 256 × 512 × 512 and 1.8× at 2048 outputs. Calls of 8 inputs at 512 outputs overflowed L1 and calls of 2–3
 * reload the factors too often (both measured slower); small layers keep calls of 8 (fewer, longer calls). A unit
 * spans 2G inputs, split by the sign of δ into calls of about G each (one-sign kernels: no blend per connection).
 * Where G is kMaxR (≤ 256 outputs), two rows share each call (Kernel::runPair: each table row read serves both),
 * split four ways by their two signs into calls of about 4: 1.12× at the Fashion example's 64 × 1568 × 256; at 512
 * outputs (G = 4) the calls of about 2 would lose (0.94–0.97× measured). Each output (r, i) is still one kernel sum
 * in a fixed order: results are bit for bit those of any other order.
 */
constexpr size_t kGroupTableBytes = 16 << 10;
constexpr size_t kSmallTablesBytes = 256 << 10;  // all tables in L2: row by row, groups of kMaxR (fewest calls)
constexpr size_t kDenseRowBlock = 32;
/**
 * Output channels from which the conv driver groups a pixel's input channels by the sign of δ (one-sign kernel
 * calls, no blend per connection): with fewer, the extra, shorter calls cost more than the blends (16 channels:
 * 0.8× measured; 96: 1.1×).
 */
constexpr size_t kSignSplitOutputs = 32;

constexpr size_t kNoTap = 0;  // a dense call's one tap: the inputs' own weight rows

/**
 * Channels per pair call (two pixels): with one reciprocal for two vectors the pair kernel's 8 inputs (16 sums and 8
 * factor rows held in registers) spill; 6 made CIFAR_S1 layer 2's ratio convolution 1.03–1.05× faster, bit for bit
 * (before that change, 6 lost: 0.87–0.94×).
 */
constexpr size_t kPairR = 6;

/**
 * One row's inputs collected into kernel calls of up to G inputs: by the sign of δ (the kernels' calls share it), or
 * — where the row's site takes calls of mixed signs (Kernel::signsAt) and G ≤ kSignsR — in input order.
 */
template <class Kernel>
struct RowCalls {
  const Kernel& K;
  const DenseShape& s;
  int G;
  float* scratch;
  size_t aOff = 0;
  typename Kernel::Site site;
  bool signs = false;  // this row's calls take inputs of either sign
  float* outr = nullptr;
  size_t idx[2][kMaxR];
  size_t wOff[2][kMaxR];
  float delta[2][kMaxR];
  int R[2] = {0, 0};

  RowCalls(const Kernel& K_, const DenseShape& s_, int G_, float* scratch_) : K(K_), s(s_), G(G_), scratch(scratch_) {}

  void start(size_t r, float* out) {
    aOff = r * s.nOut;
    K.start(site, static_cast<int>(s.nOut), 1, &aOff, &kNoTap);
    signs = G <= kSignsR && K.signsAt(site);
    outr = out + r * s.nIn;
  }
  void flush(int g) {
    float vals[kMaxR] = {};
    if (signs) {
      K.callSigns(site, R[g], wOff[g], delta[g], vals);
    } else {
      K.call(site, R[g], wOff[g], delta[g], vals, scratch);
    }
    for (int k = 0; k < R[g]; k++) outr[idx[g][k]] = vals[k];
    R[g] = 0;
  }
  /** Input i with its δ: δ = 0 contributes exactly 0. */
  void add(size_t i, float d) {
    if (d == 0.0f) {
      outr[i] = 0.0f;
      return;
    }
    const int g = !signs && d < 0.0f ? 1 : 0;
    idx[g][R[g]] = i;
    wOff[g][R[g]] = i * s.nOut;
    delta[g][R[g]] = d;
    if (++R[g] == G) flush(g);
  }
  void finish() {
    for (int g = 0; g < 2; g++) {
      if (R[g] > 0) flush(g);
    }
  }
  /** Inputs [i0, i1) of the row, δ = sr[i]: one call straight from the row where it takes them all (signs). */
  void addAll(size_t i0, size_t i1, const float* sr) {
    const int n = static_cast<int>(i1 - i0);
    bool one = signs && n <= G;
    for (int k = 0; k < n && one; k++) one = sr[i0 + k] != 0.0f;
    if (!one) {
      for (size_t i = i0; i < i1; i++) add(i, sr[i]);
      return;
    }
    size_t w[kSignsR];
    float vals[kSignsR] = {};
    for (int k = 0; k < n; k++) w[k] = (i0 + k) * s.nOut;
    K.callSigns(site, n, w, sr + i0, vals);
    for (int k = 0; k < n; k++) outr[i0 + k] = vals[k];
  }
};

template <class Kernel>
void denseDriver(const Kernel& K, const DenseShape& s, const float* shift, float* out) {
  const size_t tableBytes = s.nOut * 2 * sizeof(float);  // per input
  const bool small = s.nIn * tableBytes <= kSmallTablesBytes;
  // G inputs per kernel call; a unit covers `span` inputs (all of them for small layers) of RB rows
  const int G =
      small ? kMaxR : static_cast<int>(std::min<size_t>(kMaxR, std::max<size_t>(4, kGroupTableBytes / tableBytes)));
  // a unit's inputs split by the sign of δ into calls of up to G each: 2G inputs keep the calls about G long; where
  // the kernel takes calls of either sign, G inputs make one call (and half the tables to keep in L1)
  const bool signs = G <= kSignsR && K.mixedSignCalls();
  const size_t span = small ? s.nIn : static_cast<size_t>(signs ? G : 2 * G);
  const size_t RB = small ? 1 : kDenseRowBlock;
  // two rows a pass over the tables where a span's four (sign, sign2) classes still make calls of about 4
  const bool pairs = !small && G == kMaxR;
  const size_t nSpans = (s.nIn + span - 1) / span;
  const size_t nBlocks = (s.rows + RB - 1) / RB;
  const double work = static_cast<double>(s.rows) * s.nIn * s.nOut;
  parallelFor(nBlocks * nSpans, work, [&](size_t ub, size_t ue) {
    std::vector<float> scratch(K.scratchSize(s.nOut));
    RowCalls<Kernel> one{K, s, G, scratch.data()}, two{K, s, G, scratch.data()};
    for (size_t u = ub; u < ue; u++) {
      const size_t r0 = (u / nSpans) * RB;
      const size_t r1 = std::min(s.rows, r0 + RB);
      const size_t i0 = (u % nSpans) * span;
      const size_t i1 = std::min(s.nIn, i0 + span);
      size_t r = r0;
      // two rows through one pass over the tables (Kernel::runPair): an input whose δ has the same magnitude in
      // both goes to the calls of its (sign, sign2), any other to each row's own calls
      for (; pairs && r + 1 < r1; r += 2) {
        const float* sr = shift + r * s.nIn;
        const float* sr2 = sr + s.nIn;
        float* outr = out + r * s.nIn;
        float* outr2 = outr + s.nIn;
        const size_t aOff = r * s.nOut;
        one.start(r, out);
        two.start(r + 1, out);
        size_t idx[4][kMaxR];
        size_t wOff[4][kMaxR];
        float delta[4][kMaxR], delta2[4][kMaxR];
        int R[4] = {0, 0, 0, 0};
        auto flush = [&](int c) {
          float vals[kMaxR] = {}, vals2[kMaxR] = {};
          K.runPair(static_cast<int>(s.nOut), 1, &aOff, s.nOut, &kNoTap, R[c], wOff[c], delta[c], delta2[c], vals,
                    vals2, scratch.data());
          for (int k = 0; k < R[c]; k++) {
            outr[idx[c][k]] = vals[k];
            outr2[idx[c][k]] = vals2[k];
          }
          R[c] = 0;
        };
        for (size_t i = i0; i < i1; i++) {
          const float d = sr[i], d2 = sr2[i];
          if (d == 0.0f || d2 == 0.0f || std::fabs(d) != std::fabs(d2)) {
            one.add(i, d);
            two.add(i, d2);
            continue;
          }
          const int c = (d < 0.0f ? 1 : 0) + (d2 < 0.0f ? 2 : 0);
          idx[c][R[c]] = i;
          wOff[c][R[c]] = i * s.nOut;
          delta[c][R[c]] = d;
          delta2[c][R[c]] = d2;
          if (++R[c] == G) flush(c);
        }
        for (int c = 0; c < 4; c++) {
          if (R[c] > 0) flush(c);
        }
        one.finish();
        two.finish();
      }
      for (; r < r1; r++) {
        const float* sr = shift + r * s.nIn;
        one.start(r, out);
        one.addAll(i0, i1, sr);
        one.finish();
      }
    }
  });
}

/**
 * One pixel's input channels, grouped for its kernel calls. A channel with δ = 0 contributes exactly 0 and is in no
 * list. Without pairs: by the sign of δ where the calls are long enough to gain from one-sign kernels
 * (kSignSplitOutputs), else in one list. With a second image's same pixel (pairs): a channel whose δ has the same
 * magnitude in both goes to the pair list of its (sign, sign2), any other to its own image's single list. Built
 * branch-free (the signs are random): each channel is stored once per image at the end of the list it belongs to,
 * or of a sink list that is never read (one store and one count per list kind; storing every channel in every list
 * and keeping it in one was 3× the work, a fifth of the Fashion example's ratio convolution).
 */
struct ChannelLists {
  static constexpr size_t kSink = 2, kPairSink = 4;
  std::vector<size_t> single[2][3];  // [image][sign: 0 for δ > 0 (or both signs unsplit), 1 for δ < 0; 2 the sink]
  std::vector<size_t> pair[5];       // [sign + 2·sign2; 4 the sink]
  size_t nSingle[2][3] = {};
  size_t nPair[5] = {};

  explicit ChannelLists(size_t C) {
    for (auto& img : single) {
      for (auto& l : img) l.resize(C);
    }
    for (auto& l : pair) l.resize(C);
  }

  size_t singles(size_t image) const { return nSingle[image][0] + nSingle[image][1]; }
  size_t pairs() const { return nPair[0] + nPair[1] + nPair[2] + nPair[3]; }

  void build(size_t C, bool split, const float* sp, float* op) {
    size_t* n = nSingle[0];
    n[0] = n[1] = n[kSink] = 0;
    for (size_t c = 0; c < C; c++) {
      const float d = sp[c];
      const size_t list = d == 0.0f ? kSink : split && d < 0.0f ? 1 : 0;
      single[0][list][n[list]++] = c;
      if (d == 0.0f) op[c] = 0.0f;
    }
  }

  void buildPair(size_t C, const float* sp, const float* sp2, float* op, float* op2) {
    for (auto& img : nSingle) img[0] = img[1] = img[kSink] = 0;
    for (size_t& np : nPair) np = 0;
    for (size_t c = 0; c < C; c++) {
      const float d = sp[c];
      const float d2 = sp2[c];
      const bool nz = d != 0.0f, nz2 = d2 != 0.0f;
      const bool both = nz && nz2 && std::fabs(d) == std::fabs(d2);
      const size_t neg = d < 0.0f, neg2 = d2 < 0.0f;
      const size_t p = both ? neg + 2 * neg2 : kPairSink;
      pair[p][nPair[p]++] = c;
      const size_t s1 = nz && !both ? neg : kSink;
      single[0][s1][nSingle[0][s1]++] = c;
      const size_t s2 = nz2 && !both ? neg2 : kSink;
      single[1][s2][nSingle[1][s2]++] = c;
      if (d == 0.0f) op[c] = 0.0f;
      if (d2 == 0.0f) op2[c] = 0.0f;
    }
  }
};

/**
 * Work unit: one row h of one image, or with pairs of the same row of two consecutive images. Where the channels
 * are split by sign, a pixel's channels are read for both images' same pixel in one pass (Kernel::runPair): every
 * pixel reads all K·K·C·F weight pairs' tables, more than L1 holds at CIFAR's 96 × 96 (648 KB), and each row read
 * from L2 now serves two pixels. Each output is still one kernel sum in a fixed order: bit for bit the unpaired
 * results.
 */
template <class Kernel>
void convDriver(const Kernel& Kn, const ConvShape& s, const float* shift, float* out) {
  const double taps = static_cast<double>(s.K * s.K) / static_cast<double>(s.stride * s.stride);
  const double work = static_cast<double>(s.B) * s.H * s.W * s.C * s.F * taps;
  const bool split = s.F >= kSignSplitOutputs;
  const size_t perUnit = split && s.B >= 2 ? 2 : 1;  // images per unit
  const size_t groups = (s.B + perUnit - 1) / perUnit;
  const size_t imageOut = s.Ho * s.Wo * s.F;  // one image's outputs: the second image's offset at every tap
  const size_t imageIn = s.H * s.W * s.C;
  parallelFor(groups * s.H, work, [&](size_t ub, size_t ue) {
    std::vector<float> scratch(Kn.scratchSize(s.F));
    std::vector<size_t> rowTaps, colTaps;  // pairs (kernel index, output index)
    std::vector<size_t> pixA(s.K * s.K), pixA2(s.K * s.K), pixW(s.K * s.K);  // a pixel's taps: output rows, weights
    ChannelLists lists(s.C);
    typename Kernel::Site pairSite, site1, site2;  // the pixel pair's, each image's own
    // the calls for one list of channels at a site: one image's pixel, or with sp2 the pair
    auto calls = [&](const std::vector<size_t>& list, size_t count, typename Kernel::Site& site, const float* sp,
                     float* op, const float* sp2, float* op2) {
      const size_t step = sp2 != nullptr ? kPairR : kMaxR;
      for (size_t i = 0; i < count; i += step) {
        const size_t* idx = list.data() + i;
        const int R = static_cast<int>(std::min<size_t>(step, count - i));
        float delta[kMaxR], delta2[kMaxR];
        size_t wIn[kMaxR];  // input channel c's weights at tap t: pixW[t] + c·F
        for (int k = 0; k < R; k++) {
          delta[k] = sp[idx[k]];
          if (sp2 != nullptr) delta2[k] = sp2[idx[k]];
          wIn[k] = idx[k] * s.F;
        }
        float vals[kMaxR] = {}, vals2[kMaxR] = {};
        if (sp2 != nullptr) {
          Kn.callPair(site, R, wIn, delta, delta2, vals, vals2, scratch.data());
        } else {
          Kn.call(site, R, wIn, delta, vals, scratch.data());
        }
        for (int k = 0; k < R; k++) op[idx[k]] = vals[k];
        if (sp2 != nullptr) {
          for (int k = 0; k < R; k++) op2[idx[k]] = vals2[k];
        }
      }
    };
    for (size_t u = ub; u < ue; u++) {
      const size_t b = (u / s.H) * perUnit;
      const bool paired = b + 1 < s.B && perUnit == 2;
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
        // the pixel's (row tap, column tap) pairs, in a fixed order
        size_t nTaps = 0;
        for (size_t t = 0; t < rowTaps.size(); t += 2) {
          for (size_t v = 0; v < colTaps.size(); v += 2) {
            pixA[nTaps] = ((b * s.Ho + rowTaps[t + 1]) * s.Wo + colTaps[v + 1]) * s.F;
            pixA2[nTaps] = pixA[nTaps] + imageOut;
            pixW[nTaps] = (rowTaps[t] * s.K + colTaps[v]) * s.C * s.F;
            nTaps++;
          }
        }
        // each site only where it has calls: PSA's δ are ±(on − off), so a pair's channels are all paired
        const int n = static_cast<int>(s.F);
        if (!paired) {
          lists.build(s.C, split, sp, op);
          if (lists.singles(0) == 0) continue;
          Kn.start(site1, n, nTaps, pixA.data(), pixW.data());
          for (int g = 0; g < 2; g++) calls(lists.single[0][g], lists.nSingle[0][g], site1, sp, op, nullptr, nullptr);
          continue;
        }
        const float* sp2 = sp + imageIn;
        float* op2 = op + imageIn;
        lists.buildPair(s.C, sp, sp2, op, op2);
        if (lists.pairs() > 0) {
          Kn.start(pairSite, n, nTaps, pixA.data(), pixW.data(), imageOut);
          for (int c = 0; c < 4; c++) calls(lists.pair[c], lists.nPair[c], pairSite, sp, op, sp2, op2);
        }
        if (lists.singles(0) > 0) {
          Kn.start(site1, n, nTaps, pixA.data(), pixW.data());
          for (int g = 0; g < 2; g++) calls(lists.single[0][g], lists.nSingle[0][g], site1, sp, op, nullptr, nullptr);
        }
        if (lists.singles(1) > 0) {
          Kn.start(site2, n, nTaps, pixA2.data(), pixW.data());
          for (int g = 0; g < 2; g++) calls(lists.single[1][g], lists.nSingle[1][g], site2, sp2, op2, nullptr, nullptr);
        }
      }
    }
  });
}

}  // namespace

void denseProduct(const Isa* isa, bool normal, const float* a, const float* wT, const float* shift, const float* g,
                  const DenseShape& s, float* out) {
  const size_t nA = s.rows * s.nOut;
  if (normal) {
    Normal k(a, g, nA, wT);
    denseDriver(k, s, shift, out);
  } else {
    Logistic k(isa, a, g, nA, s.nOut, wT, s.nIn * s.nOut, shift, s.rows * s.nIn);
    denseDriver(k, s, shift, out);
  }
}

void ratioConvolution(const Isa* isa, bool normal, const float* a, const float* shift, const float* g,
                      const float* w, const ConvShape& s, float* out) {
  const size_t nA = s.B * s.Ho * s.Wo * s.F;
  if (normal) {
    Normal k(a, g, nA, w);
    convDriver(k, s, shift, out);
  } else {
    Logistic k(isa, a, g, nA, s.F, w, s.K * s.K * s.C * s.F, shift, s.B * s.H * s.W * s.C);
    convDriver(k, s, shift, out);
  }
}

ThroughputFloors measureThroughputFloors(const Isa* isa, int threads, size_t n, size_t reps) {
  std::vector<float> x(n), y(n);
  for (size_t j = 0; j < n; j++) {
    x[j] = -8.0f + 16.0f * static_cast<float>(j) / static_cast<float>(n);
    y[j] = static_cast<float>(j % 7) * 0.1f;
  }
  ThroughputFloors floors{0, 0, 0};
  for (bool ratio : {false, true}) {
    std::vector<float> sink(static_cast<size_t>(threads));
    const auto t0 = std::chrono::steady_clock::now();
    // one chunk per thread, each over its own copy of the buffers
    parallelFor(static_cast<size_t>(threads), 1e18, [&](size_t b, size_t e) {
      std::vector<float> lx(x), ly(y);
      for (size_t t = b; t < e; t++) sink[t] = isa->expBench(n, lx.data(), ly.data(), static_cast<int>(reps), ratio);
    });
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    (ratio ? floors.ratioPerSecond : floors.expPerSecond) = static_cast<double>(n) * reps * threads / secs / 1e9;
    for (float v : sink) floors.checksum += v;
  }
  return floors;
}

}  // namespace sbn
