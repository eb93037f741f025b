// The counter-based stream of the Bernoulli sampler (docs/math.md §2.0 sampling; issue #6): u_k = the top 24 bits of
// SplitMix64's k-th output from state `seed`, / 2^24 — a pure function of (seed, k). The native kernel
// (native/src/sampling.cc `streamUniform`) computes it vectorised and threaded; this JavaScript twin computes the same
// numbers bit for bit, so sampled states never depend on whether the addon loaded. 64-bit arithmetic on pairs of
// 32-bit words (BigInt would be ~10× slower).
import { nativeKernels } from './kernels';

const GOLDEN_HI = 0x9e3779b9;
const GOLDEN_LO = 0x7f4a7c15;
const C1_HI = 0xbf58476d;
const C1_LO = 0x1ce4e5b9;
const C2_HI = 0x94d049bb;
const C2_LO = 0x133111eb;
const TWO32 = 4294967296;
const INV32 = 1 / TWO32;

/**
 * Fills out[i] = f(u_{offset+i}) for the stream `seed` (integers in [0, 2^53)); `p` given: f(u) = [u < p_i], else
 * f(u) = u. The low word of a 32×32-bit product is Math.imul's; the high word is the double product minus that low
 * word, scaled by 2^−32 and rounded: the double's rounding error (≤ 2^11) is far below 2^32, so the rounding is exact.
 */
function fill(out: Float32Array, seed: number, offset: number, p?: Float32Array): Float32Array {
  // z_k = seed + (k + 1)·golden (mod 2^64), from k = offset on, then + golden per step
  const k1 = offset + 1;
  const k1Lo = k1 >>> 0;
  const lo = Math.imul(k1Lo, GOLDEN_LO) >>> 0;
  let zHi =
    (Math.round((k1Lo * GOLDEN_LO - lo) * INV32) +
      Math.imul(Math.floor(k1 / TWO32) >>> 0, GOLDEN_LO) +
      Math.imul(k1Lo, GOLDEN_HI)) >>>
    0;
  let sum = lo + (seed >>> 0);
  zHi = (zHi + (Math.floor(seed / TWO32) >>> 0) + (sum >= TWO32 ? 1 : 0)) >>> 0;
  let zLo = sum >>> 0;
  const n = out.length;
  for (let i = 0; i < n; i++) {
    // x = z ^ (z >>> 30); y = x · C1
    let xLo = (zLo ^ ((zLo >>> 30) | (zHi << 2))) >>> 0;
    let xHi = (zHi ^ (zHi >>> 30)) >>> 0;
    let yLo = Math.imul(xLo, C1_LO) >>> 0;
    let yHi = (Math.round((xLo * C1_LO - yLo) * INV32) + Math.imul(xHi, C1_LO) + Math.imul(xLo, C1_HI)) >>> 0;
    // x = y ^ (y >>> 27); y = x · C2
    xLo = (yLo ^ ((yLo >>> 27) | (yHi << 5))) >>> 0;
    xHi = (yHi ^ (yHi >>> 27)) >>> 0;
    yLo = Math.imul(xLo, C2_LO) >>> 0;
    yHi = (Math.round((xLo * C2_LO - yLo) * INV32) + Math.imul(xHi, C2_LO) + Math.imul(xLo, C2_HI)) >>> 0;
    // u = ((y ^ (y >>> 31)) >>> 40) / 2^24: only the high word's top 24 bits are needed
    const u = ((yHi ^ (yHi >>> 31)) >>> 8) * 5.9604644775390625e-8;
    out[i] = p ? (u < p[i] ? 1 : 0) : u;
    sum = zLo + GOLDEN_LO;
    zHi = (zHi + GOLDEN_HI + (sum >= TWO32 ? 1 : 0)) >>> 0;
    zLo = sum >>> 0;
  }
  return out;
}

export function streamUniformsJs(n: number, seed: number, offset: number): Float32Array {
  return fill(new Float32Array(n), seed, offset);
}

export function bernoulliJs(p: Float32Array, seed: number, offset: number): Float32Array {
  return fill(new Float32Array(p.length), seed, offset, p);
}

/** x_i = 1 with probability p_i: the native kernel when it loads, else the twin (the same numbers either way). */
export function bernoulli(p: Float32Array, seed: number, offset = 0): Float32Array {
  const k = nativeKernels();
  return k?.bernoulli ? k.bernoulli(p, seed, offset) : bernoulliJs(p, seed, offset);
}

/**
 * States of a [B, H, W, C] tensor (row-major; dense layers: H = W = 1) whose units are numbered channel-major:
 * out[b,h,w,c] = on if u_k < p[b,h,w,c] else off with k = ((b·C + c)·H + h)·W + w. The native kernel does it in one
 * pass; the twin reorders, samples with bernoulliJs and reorders back (the same numbers either way).
 */
export function sampleStatesJs(
  p: Float32Array,
  [B, H, W, C]: readonly [number, number, number, number],
  seed: number,
  on: number,
  off: number,
): Float32Array {
  const HW = H * W;
  const channelMajor = HW === 1 ? p : new Float32Array(p.length);
  if (HW !== 1)
    for (let b = 0; b < B; b++)
      for (let c = 0; c < C; c++)
        for (let hw = 0; hw < HW; hw++) channelMajor[(b * C + c) * HW + hw] = p[(b * HW + hw) * C + c];
  const bits = bernoulliJs(channelMajor, seed, 0);
  const out = new Float32Array(p.length);
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++)
      for (let hw = 0; hw < HW; hw++) out[(b * HW + hw) * C + c] = bits[(b * C + c) * HW + hw] ? on : off;
  return out;
}

/** sampleStatesJs by the native kernel when it loads, else the twin. */
export function sampleStateValues(
  p: Float32Array,
  shape: readonly [number, number, number, number],
  seed: number,
  on: number,
  off: number,
): Float32Array {
  const k = nativeKernels();
  return k?.sampleStates ? k.sampleStates(p, ...shape, seed, on, off) : sampleStatesJs(p, shape, seed, on, off);
}
