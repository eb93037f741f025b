// The native kernel addon (native/, built at install time by scripts/build-kernels.mjs): fused, vectorised,
// multi-threaded CPU implementations of PSA's backward products (docs/math.md §2.3.3–§2.3.4) on typed arrays. They are
// the fast implementation on every tfjs backend; the tfjs-op implementations in layers.ts stay the reference and
// the fallback when the addon is missing or fails to load. SBN_KERNELS=js forces the fallback.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { locateNativeBackend } from './native/locate';
import { chooseOpenBlasCore } from './native/openblasCore';
import type { NoiseKind, OutputLoss } from './spec/types';

/**
 * The signature the native steps share (NativeKernels.denseStep, densePsaStep: `Shape` the sizes; convStep,
 * convPsaStep: the layers).
 */
export type NativeStepFunction<Shape> = (
  x: Float32Array,
  shape: Shape,
  groups: number,
  weights: Float32Array[],
  biases: Float32Array[],
  seeds: number[],
  on: number,
  off: number,
  meanScale: number,
  noise: NoiseKind,
  labels: Float32Array,
  loss: OutputLoss,
  out?: DenseStepResult,
) => DenseStepResult;
type DenseStepFunction = NativeStepFunction<number[]>;

/** A native step's result: the per-draw loss and every layer's weight and bias gradients (see denseStep). */
export type DenseStepResult = { loss: Float32Array; weights: Float32Array[]; biases: Float32Array[] };

export interface NativeKernelsInfo {
  /** The instruction set in use: 'avx512' | 'avx2' | 'scalar'. */
  isa: string;
  lanes: number;
  threads: number;
  /** Every instruction set this CPU and build support. */
  isas: string[];
  /** The kernels OpenBLAS chose at load time, e.g. 'SkylakeX' (builds with the native steps only). */
  blasCore?: string;
}

export interface NativeKernels {
  /**
   * λ[r,i] = Σ_j [F(a[r,j] + wT[i,j]·shift[r,i]) − F(a[r,j])]·g[r,j]; a, g [rows·nOut], wT [nIn·nOut],
   * shift [rows·nIn].
   */
  psaDense(
    a: Float32Array,
    wT: Float32Array,
    shift: Float32Array,
    g: Float32Array,
    rows: number,
    nIn: number,
    nOut: number,
    noise: NoiseKind,
  ): Float32Array;
  /**
   * The ratio convolution: a, g NHWC [B,Ho,Wo,F], shift NHWC [B,H,W,C], w [K,K,C,F], zero padding, stride;
   * returns λ NHWC [B,H,W,C].
   */
  ratioConv(
    a: Float32Array,
    shift: Float32Array,
    g: Float32Array,
    w: Float32Array,
    B: number,
    H: number,
    W: number,
    C: number,
    Ho: number,
    Wo: number,
    F: number,
    K: number,
    stride: number,
    padding: number,
    noise: NoiseKind,
  ): Float32Array;
  /**
   * PSA's last layer (docs/math.md §2.3.2): flipped logits η_i = η₀ + δ_i W[:, i] for every unit i of the last hidden
   * layer; logits η₀ [rows·K], w the output weight [K·n] (row-major), shift δ [rows·n], labels [rows] (class
   * indices for 'nll', ±1 for 'logistic', K = 1), rho [rows·n]. Returns λ = f_i − f₀ [rows·n],
   * cSum = (1 − Σ_i ρ_i) ∂ℓ(η₀) + Σ_i ρ_i ∂ℓ(η_i) [rows·K], corr[r,k,i] = ρ_i δ_i ∂ℓ(η_i)_k [rows·K·n] and
   * rowLoss = (1 − Σ_i ρ_i) f₀ + Σ_i ρ_i f_i [rows]. With `groups` (dividing rows), corr is instead its mean over
   * each group of rows/groups consecutive rows [groups·K·n] (the big per-row array then never reaches JS).
   */
  psaFlips?(
    logits: Float32Array,
    w: Float32Array,
    shift: Float32Array,
    labels: Float32Array,
    rho: Float32Array,
    rows: number,
    n: number,
    K: number,
    loss: OutputLoss,
    groups?: number,
  ): { lambda: Float32Array; cSum: Float32Array; corr: Float32Array; rowLoss: Float32Array };
  /**
   * Bernoulli samples from a counter-based stream: x_i = 1 if u_{offset+i} < p_i else 0, where u_k is the k-th
   * output of SplitMix64 started from state `seed` (its top 24 bits as a float in [0, 1)). A pure function of
   * (seed, offset + i): reproducible across thread counts and resumable at any offset. Seeds and offsets are
   * integers in [0, 2^53). Every sampled binary state of the engine comes from it (estimators/common.ts sampleStates;
   * src/engine/counterStream.ts is its JavaScript twin, the same numbers without the addon).
   */
  bernoulli?(p: Float32Array, seed: number, offset: number): Float32Array;
  /**
   * States of an NHWC tensor p [B·H·W·C] (dense layers: H = W = 1) from that stream with the units numbered
   * channel-major (k = ((b·C + c)·H + h)·W + w, offset 0): on if u_k < p, else off — the Bernoulli draw, the
   * transposes around it and the coding's values in one pass (counterStream.ts sampleStatesJs is its twin).
   */
  sampleStates?(
    p: Float32Array,
    B: number,
    H: number,
    W: number,
    C: number,
    seed: number,
    on: number,
    off: number,
  ): Float32Array;
  /** The uniforms u_offset … u_{offset+n−1} of that stream (single-threaded; for tests). */
  streamUniforms?(n: number, seed: number, offset: number): Float32Array;
  /**
   * SGD with momentum in one pass (src/engine/train/optimizer.ts): returns the next parameter p − lr·u with
   * g' = g + weightDecay·p, v ← momentum·v + g' (v ← g' when !hasVelocity; v in place), u = g' + momentum·v
   * (nesterov) or v; momentum 0: u = g'. Bit for bit the float32 ops of the tfjs implementation. The result goes
   * into `out` when given (p's length, not p, g or v), else into a new array.
   */
  sgdUpdate?(
    p: Float32Array,
    g: Float32Array,
    v: Float32Array,
    hasVelocity: boolean,
    lr: number,
    momentum: number,
    nesterov: boolean,
    weightDecay: number,
    out?: Float32Array,
  ): Float32Array;
  /**
   * Adam in one pass: m ← β1·m + (1 − β1)·g', v ← β2·v + (1 − β2)·g'² (in place), returns
   * p − lr·(m/c1)/(√(v/c2) + ε) with c1 = 1 − β1^t, c2 = 1 − β2^t (into `out` when given, as sgdUpdate). Bit for
   * bit the tfjs implementation.
   */
  adamUpdate?(
    p: Float32Array,
    g: Float32Array,
    m: Float32Array,
    v: Float32Array,
    lr: number,
    beta1: number,
    beta2: number,
    oneMinusBeta1: number,
    oneMinusBeta2: number,
    epsilon: number,
    weightDecay: number,
    c1: number,
    c2: number,
    out?: Float32Array,
  ): Float32Array;
  /**
   * The training step's gradient check on a host array (src/engine/train/trainer.ts): g clamped to [−clip, clip] in
   * place when clip is finite (tf.clipByValue's values: ±∞ become ±clip, NaN stays NaN), then whether every value is
   * finite. clip = Infinity: the check alone.
   */
  clipFinite?(g: Float32Array, clip: number): boolean;
  /**
   * A whole DSTE estimate of an all-dense network (native/src/dense_step.cc, cblas_sgemm; present only when the
   * addon was built with OpenBLAS): x [rows·sizes[0]], sizes [n0, n1, …, nL, K], weights[k] [sizes[k+1]·sizes[k]]
   * (a dense layer's [out, in]), biases[k] [sizes[k+1]], seeds[k] hidden layer k's counter stream (sampleStates' states
   * for that seed), labels [rows] (class indices for 'nll', ±1 for 'logistic'), rows draw-major in `groups` draws.
   * Returns the per-draw mean loss [groups] and every layer's per-draw weight [groups·out·in] and bias gradients:
   * new arrays, or `out`'s (the same shapes; not the weights' or biases' arrays) filled in.
   */
  denseStep?: DenseStepFunction;
  /**
   * A whole PSA estimate of an all-dense network with at least one hidden layer (dense_step.cc: the forward and the
   * parameter gradients with cblas_sgemm, the last layer by psaFlips' code, the hidden layers' λ by psaDense's
   * product); the arguments and the result as denseStep's (meanScale unused). Present with denseStep.
   */
  densePsaStep?: DenseStepFunction;
  /**
   * A whole DSTE estimate of conv layers followed by dense ones (dense_step.cc, conv_step.cc: im2col + cblas_sgemm;
   * present with denseStep): layers[k] = [C, H, W, out, kernel, stride, padding] for an input [C, H, W] — kernel 0 a
   * dense layer of `out` units (reading a [C, H, W] input channel-major, a flat one as [n, 1, 1]), else a conv layer
   * of `out` filters, weight [K, K, C, out] —, the last layer dense; x NHWC [rows·H·W·C]. The other arguments and the
   * result as denseStep's (a conv layer's gradient [groups·K·K·C·out], its bias [groups·out]).
   */
  convStep?: NativeStepFunction<number[][]>;
  /**
   * A whole PSA estimate of conv layers followed by dense ones (dense_step.cc: convStep's forward and parameter
   * gradients, densePsaStep's last layer, the ratio convolution of ratioConv for a conv layer's λ); the arguments and
   * the result as convStep's (meanScale unused). Present with convStep.
   */
  convPsaStep?: NativeStepFunction<number[][]>;
  info(): NativeKernelsInfo;
  /** Worker threads per call (0: SBN_KERNEL_THREADS, else the hardware threads); returns the count now in use. */
  setThreads(n: number): number;
  /** 'scalar' | 'avx2' | 'avx512' | 'auto'; false when this CPU or build lacks it (nothing changes then). */
  setIsa(name: string): boolean;
  /**
   * G evaluations/s, with the current ISA and threads, on L1-resident buffers, of 1/(1 + e^{−|x|}) (the floor of
   * a connection with an exponential: the exp form) and of 1/(1 + x·y) (the ratio form's floor).
   */
  expThroughput(
    n?: number,
    reps?: number,
  ): { gevalsPerSecond: number; ratioPerSecond: number; threads: number; isa: string };
  /**
   * The devices of the libtensorflow shared library at `libPath` (libtensorflow_cc.so.2), listed through its C API
   * (TFE_ContextListDevices) resolved with dlopen/dlsym at call time: the addon itself never links libtensorflow.
   * Throws when the library or a symbol is missing.
   */
  tfDevices?(libPath: string): { name: string; type: string; memoryBytes: number }[];
  /**
   * dlopen(RTLD_GLOBAL) of these libraries (retried in passes until their dependencies are loaded); throws when one
   * never loads.
   */
  preload?(paths: string[]): boolean;
}

export interface KernelsInfo {
  kind: 'native' | 'js';
  /** e.g. "native (avx512, 2 threads, OpenBLAS dense step, SkylakeX kernels)" or "TensorFlow.js ops (…)" */
  detail: string;
  /** The addon is missing or failed to load (not switched off on purpose): a "cannot" the user may want to fix. */
  unavailable?: boolean;
}

const ADDON = join('native', 'build', 'Release', 'sbn_kernels.node');

let loaded: { kernels?: NativeKernels; path?: string; why?: string } | undefined;
let enabled = true;

/**
 * Where the addon may be: $SBN_KERNELS_PATH, the native set-up this process uses (src/engine/native/locate.ts),
 * beside this bundle, or native/build/Release above it (dist/, dist/test/unit/, src/engine/).
 */
function candidates(): string[] {
  const out: string[] = [];
  if (process.env.SBN_KERNELS_PATH) out.push(process.env.SBN_KERNELS_PATH);
  const setup = locateNativeBackend().location;
  if (setup?.origin === 'setup' && setup.kernelsPath) out.push(setup.kernelsPath);
  out.push(join(__dirname, 'sbn_kernels.node'));
  let dir = __dirname;
  for (let up = 0; up < 5; up++) {
    out.push(join(dir, ADDON));
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return out;
}

function load(): NonNullable<typeof loaded> {
  if ((process.env.SBN_KERNELS ?? '').toLowerCase() === 'js') return { why: 'SBN_KERNELS=js' };
  const file = candidates().find((f) => existsSync(f));
  if (!file)
    return {
      why:
        'native kernels not built (`sbn setup backend`, SBN: Set Up Native Backend, or npm install in a checkout ' +
        'builds them)',
    };
  try {
    // OpenBLAS reads its kernel choice when the addon loads it (native/openblasCore.ts)
    chooseOpenBlasCore();
    const mod = { exports: {} as Partial<NativeKernels> };
    process.dlopen(mod, file);
    const k = mod.exports;
    if (typeof k.psaDense !== 'function' || typeof k.ratioConv !== 'function' || typeof k.info !== 'function') {
      return { why: `${file} is not the sbn_kernels addon`, path: file };
    }
    k.info();
    return { kernels: k as NativeKernels, path: file };
  } catch (e) {
    return { why: `native kernels failed to load: ${(e as Error).message.split('\n')[0]}`, path: file };
  }
}

/**
 * The addon, or undefined when it is missing, fails to load, is disabled, or SBN_KERNELS=js: the one place that
 * decides whether PSA's backward products (layers.ts, estimators/psa.ts) run natively or as the tfjs reference.
 */
export function nativeKernels(): NativeKernels | undefined {
  loaded ??= load();
  return enabled ? loaded.kernels : undefined;
}

/** The file the addon was loaded from (undefined when none was found). */
export function nativeKernelsPath(): string | undefined {
  loaded ??= load();
  return loaded.path;
}

/** Switches the native kernels off (and on again) in this process: the tfjs implementations are used meanwhile. */
export function setNativeKernelsEnabled(on: boolean): void {
  enabled = on;
}

/**
 * Whether DSTE and PSA may take the addon's native steps, dense and conv (estimators/denseStep.ts):
 * SBN_DENSE_STEP=tfjs keeps them on their tfjs paths with the other native kernels on (for comparisons and benchmarks).
 */
export function nativeDenseStepAllowed(): boolean {
  return (process.env.SBN_DENSE_STEP ?? '').toLowerCase() !== 'tfjs';
}

/**
 * Whether a training step hands the native dense step's gradients to the optimiser as host arrays (HostGradients,
 * train/trainer.ts) rather than through TensorFlow.js tensors: SBN_DENSE_STEP=tensors takes the tensor route (the
 * reference the host route is compared with, test/unit/trainHostGradients.test.ts).
 */
export function hostGradientsAllowed(): boolean {
  return (process.env.SBN_DENSE_STEP ?? '').toLowerCase() !== 'tensors';
}

/** Which implementation PSA's backward products use, for logs and benchmark records. */
export function kernelsInfo(): KernelsInfo {
  loaded ??= load();
  if (loaded.kernels && enabled) {
    const i = loaded.kernels.info();
    const blas =
      loaded.kernels.denseStep && nativeDenseStepAllowed()
        ? `, OpenBLAS dense step${i.blasCore ? `, ${i.blasCore} kernels` : ''}`
        : '';
    return { kind: 'native', detail: `native (${i.isa}, ${i.threads} thread${i.threads === 1 ? '' : 's'}${blas})` };
  }
  const why = !enabled && loaded.kernels ? 'native kernels switched off' : loaded.why;
  const unavailable = !loaded.kernels && loaded.why !== 'SBN_KERNELS=js';
  return { kind: 'js', detail: `TensorFlow.js ops (${why})`, ...(unavailable ? { unavailable } : {}) };
}
