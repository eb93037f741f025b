// The affine maps of an SBN — dense and convolutional — as operators that every estimator uses the same
// way: forward, the transposed map (backprop to the input), per-draw parameter gradients, the squared-weight
// maps of moment propagation, and PSA's backward operator (docs/math.md §2.3.3–§2.3.4).
//
// Tensor layouts: dense states [B, n]; conv states NHWC [B, H, W, C] (tfjs' native layout). Parameters are
// kept in the layout the ops want (dense [out, in], conv filter [K, K, in, out]) and converted to the
// external layout ([out, in] and [out, in, K, K], PyTorch's) only at the edges (params files, checkpoints,
// flat gradient vectors). A dense layer after a conv layer flattens channel-major (C, H, W), docs/math.md §4.2.
import * as tf from '@tensorflow/tfjs';
import type { Noise } from './noise';
import { nativeKernels, type NativeKernels } from '../kernels';
import type { LayerGradient } from '../estimators/types';
import { convWeightGradientPerDraw } from './convBatched';

export interface LayerParams {
  weight: tf.Tensor;
  bias: tf.Tensor1D;
}

// Shapes come from the one geometry module (tfjs-free); re-exported for the ops that take them.
import { shapeSize, type AffineGeometry, type ConvGeometry, type DenseGeometry } from '../spec/geometry';
export {
  convOutputSize,
  externalWeightShape,
  internalWeightShape,
  outShapeOf,
  shapeSize,
  type AffineGeometry,
  type ConvGeometry,
  type DenseGeometry,
} from '../spec/geometry';

/** Internal → external layout of a weight tensor, with any number of leading dimensions (e.g. draws). */
export function toExternalWeight(g: AffineGeometry, w: tf.Tensor): tf.Tensor {
  if (g.kind === 'dense') return w;
  const lead = w.rank - 4;
  const perm = [...Array(lead).keys(), lead + 3, lead + 2, lead, lead + 1];
  return tf.transpose(w, perm);
}

/** External → internal layout. */
export function toInternalWeight(g: AffineGeometry, w: tf.Tensor): tf.Tensor {
  if (g.kind === 'dense') return w;
  return tf.transpose(w, [2, 3, 1, 0]);
}

/** Per-draw mean over rows: [G·N, ...rest] → [G, ...rest]. */
export function groupMean(t: tf.Tensor, groups: number): tf.Tensor {
  return tf.tidy(() => {
    const n = t.shape[0] / groups;
    return tf.mean(tf.reshape(t, [groups, n, ...t.shape.slice(1)]), 1);
  });
}

/**
 * An affine layer with its parameters bound for one estimate (transposes computed once). All methods
 * allocate; callers run inside tf.tidy.
 */
export interface PreparedLayer {
  readonly geometry: AffineGeometry;
  /** a = A(x). */
  forward(x: tf.Tensor): tf.Tensor;
  /** Aᵀ e: the gradient of Σ e·A(x) with respect to x, in x's shape. */
  backwardInput(e: tf.Tensor): tf.Tensor;
  /** Per-draw mean gradient of Σ e·A(x) with respect to the parameters: weight [G, ...internal], bias [G, out]. */
  paramGradient(e: tf.Tensor, x: tf.Tensor, groups: number): LayerGradient;
  /** (W∘W) v, no bias: the variance of A(x) for independent inputs of variance v. */
  forwardSquared(v: tf.Tensor): tf.Tensor;
  /** (W∘W)ᵀ e. */
  backwardInputSquared(e: tf.Tensor): tf.Tensor;
  /**
   * PSA's replacement of Aᵀ: λ_i = Σ_j [F(a_j + W_ji δ_i) − F(a_j)] g_j over every connection i → j, where
   * δ is how each input changes when it flips (x's shape) and a, g have the output's shape.
   */
  psaBackward(a: tf.Tensor, shift: tf.Tensor, g: tf.Tensor, noise: Noise): tf.Tensor;
  /** The input as rows [B, n] (dense layers flatten), and back. */
  flatInput(x: tf.Tensor): tf.Tensor2D;
  unflatInput(v: tf.Tensor): tf.Tensor;
}

/** Bound on the elements of the [rows, n_in, n_out] block PSA materialises at once. */
const MAX_BLOCK_ELEMENTS = 1 << 24;

/**
 * λ_i = Σ_j [F(a_j + W_ji δ_i) − F(a_j)] g_j for rows of a dense connection, given wT = Wᵀ [n_in, n_out]:
 * the native kernel (src/engine/kernels.ts) when it loads, else the tfjs reference below.
 */
export function psaDenseProduct(
  a: tf.Tensor2D,
  wT: tf.Tensor2D,
  shift: tf.Tensor2D,
  g: tf.Tensor2D,
  noise: Noise,
): tf.Tensor2D {
  const k = nativeKernels();
  if (!k) return psaDenseReference(a, wT, shift, g, noise);
  const [rows, nOut] = a.shape;
  const nIn = wT.shape[0];
  return tf.tensor2d(k.psaDense(f32(a), f32(wT), f32(shift), f32(g), rows, nIn, nOut, noise.kind), [rows, nIn]);
}

function f32(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

/**
 * psaDenseProduct in tfjs ops (the reference and the fallback). The difference is taken per element before the
 * reduction: the float32 error stays the size of one F value instead of a whole row sum (docs/math.md §5.3). Rows
 * go in blocks so memory stays bounded.
 */
export function psaDenseReference(
  a: tf.Tensor2D,
  wT: tf.Tensor2D,
  shift: tf.Tensor2D,
  g: tf.Tensor2D,
  noise: Noise,
): tf.Tensor2D {
  const [rows, nOut] = a.shape;
  const nIn = wT.shape[0];
  const block = Math.max(1, Math.floor(MAX_BLOCK_ELEMENTS / (nIn * nOut)));
  const parts: tf.Tensor2D[] = [];
  for (let start = 0; start < rows; start += block) {
    const size = Math.min(block, rows - start);
    parts.push(
      tf.tidy(() => {
        const aB = size === rows ? a : tf.slice(a, [start, 0], [size, nOut]);
        const dB = size === rows ? shift : tf.slice(shift, [start, 0], [size, nIn]);
        const gB = size === rows ? g : tf.slice(g, [start, 0], [size, nOut]);
        // shifted[b, i, j] = a[b, j] + W_ji δ[b, i]
        const shifted = tf.add(tf.reshape(aB, [size, 1, nOut]), tf.mul(tf.reshape(dB, [size, nIn, 1]), wT));
        const diff = tf.sub(noise.cdf(shifted), tf.reshape(noise.cdf(aB), [size, 1, nOut]));
        return tf.reshape<tf.Rank.R2>(tf.matMul(diff, tf.reshape(gB, [size, nOut, 1])), [size, nIn]);
      }),
    );
  }
  if (parts.length === 1) return parts[0];
  const out = tf.concat<tf.Tensor2D>(parts, 0);
  tf.dispose(parts);
  return out;
}

/**
 * tfjs-wasm's transposed matMul is 10–60× slower (engine notes), so there a layer transposes its weight once per
 * estimate; TensorFlow's MatMul reads a transposed operand in place, so elsewhere the products take it transposed
 * and no transposed copy is made (a 784 × 512 weight's transpose was ~0.3 ms of every training step).
 */
function transposeForMatMul(): boolean {
  return tf.getBackend() === 'wasm';
}

export function prepareDense(g: DenseGeometry, p: LayerParams): PreparedLayer {
  const w = p.weight as tf.Tensor2D;
  const explicit = transposeForMatMul();
  const wT = explicit ? tf.transpose<tf.Tensor2D>(w) : undefined;
  /** x Wᵀ for a weight [out, in] (w, or w∘w) and its transpose when one was made. */
  const timesTransposed = (x: tf.Tensor2D, m: tf.Tensor2D, mT: tf.Tensor2D | undefined): tf.Tensor2D =>
    mT ? tf.matMul(x, mT) : tf.matMul(x, m, false, true);
  const nIn = shapeSize(g.inShape);
  const spatial = g.inShape.length === 3;
  // After a conv layer the input is flattened channel-major, a transpose of the whole batch; forward and
  // paramGradient flatten the same states, so the result is kept for as long as it lives (the estimate's tidy).
  const flattened = new WeakMap<tf.Tensor, tf.Tensor2D>();
  const flat = (x: tf.Tensor): tf.Tensor2D => {
    if (!spatial) return x as tf.Tensor2D;
    const kept = flattened.get(x);
    if (kept && !kept.isDisposed) return kept;
    const f = tf.reshape<tf.Rank.R2>(tf.transpose(x, [0, 3, 1, 2]), [x.shape[0], nIn]);
    flattened.set(x, f);
    return f;
  };
  const unflat = (v: tf.Tensor): tf.Tensor => {
    if (!spatial) return v;
    const [C, H, W] = g.inShape;
    return tf.transpose(tf.reshape(v, [v.shape[0], C, H, W]), [0, 2, 3, 1]);
  };
  let w2: tf.Tensor2D | undefined;
  let w2T: tf.Tensor2D | undefined;
  return {
    geometry: g,
    forward: (x) => tf.add(timesTransposed(flat(x), w, wT), p.bias),
    backwardInput: (e) => unflat(tf.matMul(e, w)),
    paramGradient: (e, x, groups) => {
      const xf = flat(x);
      const n = e.shape[0] / groups;
      const e3 = tf.reshape(e, [groups, n, g.units]);
      const x3 = tf.reshape(xf, [groups, n, nIn]);
      // the mean's 1/n applied to e (rows × units) rather than to the weight-sized product: one op on a small
      // tensor instead of a parameter-sized one; exact for every power-of-two n (scaling commutes with rounding)
      const eMean = tf.div<tf.Tensor3D>(e3, n);
      return {
        weight: explicit ? tf.matMul(tf.transpose(eMean, [0, 2, 1]), x3) : tf.matMul(eMean, x3, true, false),
        bias: groupMean(e, groups),
      };
    },
    forwardSquared: (v) => {
      w2 ??= tf.square<tf.Tensor2D>(w);
      if (explicit) w2T ??= tf.transpose<tf.Tensor2D>(w2);
      return timesTransposed(flat(v), w2, w2T);
    },
    backwardInputSquared: (e) => unflat(tf.matMul(e, tf.square(w))),
    // the native product reads Wᵀ row by row: PSA transposes once per layer and estimate, as before
    psaBackward: (a, shift, gr, noise) =>
      unflat(psaDenseProduct(a as tf.Tensor2D, wT ?? tf.transpose(w), flat(shift), gr as tf.Tensor2D, noise)),
    flatInput: flat,
    unflatInput: unflat,
  };
}

// ---- convolution ----------------------------------------------------------------------------------

// tfjs-node accepts only 'valid' and 'same' padding, so explicit zero padding is applied with tf.pad and the
// convolutions themselves are 'valid' on every backend.
function padSpatial(x: tf.Tensor4D, p: number): tf.Tensor4D {
  return p > 0
    ? tf.pad(x, [
        [0, 0],
        [p, p],
        [p, p],
        [0, 0],
      ])
    : x;
}

/** conv2d with zero padding p and stride s. */
export function convForward(x: tf.Tensor4D, w: tf.Tensor4D, stride: number, padding: number): tf.Tensor4D {
  return tf.conv2d(padSpatial(x, padding), w, stride, 'valid');
}

/** The transpose of convForward: gradient with respect to its input, of shape [B, H, W, C]. */
export function convTranspose(
  dy: tf.Tensor4D,
  w: tf.Tensor4D,
  inputShape: [number, number, number, number],
  stride: number,
  padding: number,
): tf.Tensor4D {
  const [B, H, W, C] = inputShape;
  const full = tf.conv2dTranspose(dy, w, [B, H + 2 * padding, W + 2 * padding, C], stride, 'valid');
  return padding > 0 ? tf.slice(full, [0, padding, padding, 0], [B, H, W, C]) : full;
}

function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/**
 * Σ over rows and output positions of x-patches ⊗ dy: the conv weight gradient [K, K, C_in, C_out].
 * Uses the backend's Conv2DBackpropFilter where it exists; tfjs-wasm lacks it, so there the same sum is
 * a forward convolution of the input (batch as channels) with dy as the filter, dilated by the stride
 * (engine notes), cropped to K×K. `padded`: x with its zero padding already applied, when the caller has it.
 */
export function convWeightGradient(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  g: ConvGeometry,
  padded?: tf.Tensor4D,
): tf.Tensor4D {
  const filterShape: [number, number, number, number] = [g.kernel, g.kernel, g.inShape[0], g.filters];
  if (hasKernel('Conv2DBackpropFilter')) {
    return tf.tidy(() =>
      tf.engine().runKernel<tf.Tensor4D>('Conv2DBackpropFilter', { x: padded ?? padSpatial(x, g.padding), dy }, {
        strides: [g.stride, g.stride],
        pad: 'valid',
        dataFormat: 'NHWC',
        dimRoundingMode: undefined,
        filterShape,
      } as unknown as tf.NamedAttrMap),
    );
  }
  return tf.tidy(() => {
    const xt = tf.transpose<tf.Tensor4D>(padded ?? padSpatial(x, g.padding), [3, 1, 2, 0]); // [C_in, Hp, Wp, B]
    const f = tf.transpose<tf.Tensor4D>(dy, [1, 2, 0, 3]); // [Ho, Wo, B, C_out]
    const full = tf.conv2d(xt, f, 1, 'valid', 'NHWC', g.stride); // [C_in, Hp − (Ho−1)s, …, C_out]
    const cropped = tf.slice(full, [0, 0, 0, 0], [g.inShape[0], g.kernel, g.kernel, g.filters]);
    return tf.transpose<tf.Tensor4D>(cropped, [1, 2, 0, 3]);
  });
}

/** im2col filter: identity from (tap, channel) to patch index (kh·K + kw)·C + c, matching [K, K, C, out] rows. */
function patchFilter(kernel: number, channels: number): tf.Tensor4D {
  const size = kernel * kernel * channels;
  const data = new Float32Array(size * size);
  for (let i = 0; i < size; i++) data[i * size + i] = 1;
  return tf.tensor4d(data, [kernel, kernel, channels, size]);
}

/**
 * Ratio convolution, reference form (docs/math.md §2.3.4, validated the way the authors validate theirs):
 * unfold the shifts into patches, apply the dense PSA product per output position, fold back.
 * Padded inputs carry δ = 0 and so contribute nothing, as in exact math.
 */
export function ratioConvReference(
  a: tf.Tensor4D,
  shift: tf.Tensor4D,
  gr: tf.Tensor4D,
  weight: tf.Tensor4D,
  g: ConvGeometry,
  noise: Noise,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [B, H, W, C] = shift.shape;
    const [, Ho, Wo, F] = a.shape;
    const ident = patchFilter(g.kernel, C);
    const patches = convForward(shift, ident, g.stride, g.padding); // [B, Ho, Wo, K²C]
    const rows = B * Ho * Wo;
    const P = g.kernel * g.kernel * C;
    const lambda = psaDenseReference(
      tf.reshape<tf.Rank.R2>(a, [rows, F]),
      tf.reshape<tf.Rank.R2>(weight, [P, F]),
      tf.reshape<tf.Rank.R2>(patches, [rows, P]),
      tf.reshape<tf.Rank.R2>(gr, [rows, F]),
      noise,
    );
    return convTranspose(tf.reshape<tf.Rank.R4>(lambda, [B, Ho, Wo, P]), ident, [B, H, W, C], g.stride, g.padding);
  });
}

/**
 * Ratio convolution, tap by tap: for each kernel tap the inputs it sees are a strided slice of the padded
 * shift map, the dense PSA product runs over (C_in × C_out) per output position, and the result is placed
 * back on the padded input grid. Same arithmetic as the reference without the K²·C-wide patch tensors and
 * the identity convolutions.
 */
export function ratioConvTaps(
  a: tf.Tensor4D,
  shift: tf.Tensor4D,
  gr: tf.Tensor4D,
  weight: tf.Tensor4D,
  g: ConvGeometry,
  noise: Noise,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [B, H, W, C] = shift.shape;
    const [, Ho, Wo, F] = a.shape;
    const { kernel: K, stride: s, padding: p } = g;
    const Hp = H + 2 * p;
    const Wp = W + 2 * p;
    const padded = padSpatial(shift, p);
    const rows = B * Ho * Wo;
    const a2 = tf.reshape<tf.Rank.R2>(a, [rows, F]);
    const g2 = tf.reshape<tf.Rank.R2>(gr, [rows, F]);
    let acc: tf.Tensor4D = tf.zeros([B, Hp, Wp, C]);
    for (let kh = 0; kh < K; kh++) {
      for (let kw = 0; kw < K; kw++) {
        const next = tf.tidy(() => {
          const seen = tf.stridedSlice(
            padded,
            [0, kh, kw, 0],
            [B, kh + (Ho - 1) * s + 1, kw + (Wo - 1) * s + 1, C],
            [1, s, s, 1],
          );
          const wTap = tf.reshape<tf.Rank.R2>(tf.slice(weight, [kh, kw, 0, 0], [1, 1, C, F]), [C, F]);
          const lambda = tf.reshape(psaDenseReference(a2, wTap, tf.reshape<tf.Rank.R2>(seen, [rows, C]), g2, noise), [
            B,
            Ho,
            Wo,
            C,
          ]);
          // place output position (i, j) at padded input (kh + s·i, kw + s·j)
          const dilated =
            s === 1
              ? lambda
              : tf.reshape(
                  tf.pad(tf.reshape(lambda, [B, Ho, 1, Wo, 1, C]), [
                    [0, 0],
                    [0, 0],
                    [0, s - 1],
                    [0, 0],
                    [0, s - 1],
                    [0, 0],
                  ]),
                  [B, Ho * s, Wo * s, C],
                );
          const dh = dilated.shape[1] as number;
          const dw = dilated.shape[2] as number;
          const placed = tf.slice(
            tf.pad(dilated, [
              [0, 0],
              [kh, Math.max(0, Hp - kh - dh)],
              [kw, Math.max(0, Wp - kw - dw)],
              [0, 0],
            ]),
            [0, 0, 0, 0],
            [B, Hp, Wp, C],
          );
          return tf.add<tf.Tensor4D>(acc, placed);
        });
        acc.dispose();
        acc = next;
      }
    }
    return p > 0 ? tf.slice(acc, [0, p, p, 0], [B, H, W, C]) : acc;
  });
}

/** Ratio convolution by the native kernel (src/engine/kernels.ts): same result as the reference, on typed arrays. */
export function ratioConvNative(
  k: NativeKernels,
  a: tf.Tensor4D,
  shift: tf.Tensor4D,
  gr: tf.Tensor4D,
  weight: tf.Tensor4D,
  g: ConvGeometry,
  noise: Noise,
): tf.Tensor4D {
  const [B, H, W, C] = shift.shape;
  const [, Ho, Wo, F] = a.shape;
  const out = k.ratioConv(
    f32(a),
    f32(shift),
    f32(gr),
    f32(weight),
    B,
    H,
    W,
    C,
    Ho,
    Wo,
    F,
    g.kernel,
    g.stride,
    g.padding,
    noise.kind,
  );
  return tf.tensor4d(out, [B, H, W, C]);
}

/** The ratio convolution conv PSA uses: the native kernel when kernels.ts provides it, else the taps form. */
function ratioConv(
  a: tf.Tensor4D,
  shift: tf.Tensor4D,
  gr: tf.Tensor4D,
  weight: tf.Tensor4D,
  g: ConvGeometry,
  noise: Noise,
): tf.Tensor4D {
  const k = nativeKernels();
  return k ? ratioConvNative(k, a, shift, gr, weight, g, noise) : ratioConvTaps(a, shift, gr, weight, g, noise);
}

export function prepareConv(g: ConvGeometry, p: LayerParams): PreparedLayer {
  const w = p.weight as tf.Tensor4D;
  const [C, H, W] = g.inShape;
  const inputShape = (x: tf.Tensor): [number, number, number, number] => [x.shape[0], H, W, C];
  let w2: tf.Tensor4D | undefined;
  const squared = () => (w2 ??= tf.square<tf.Tensor4D>(w));
  // forward and paramGradient pad the same states: the padded copy is kept for as long as it lives
  const paddedStates = new WeakMap<tf.Tensor, tf.Tensor4D>();
  const padOf = (x: tf.Tensor4D): tf.Tensor4D => {
    if (g.padding === 0) return x;
    const kept = paddedStates.get(x);
    if (kept && !kept.isDisposed) return kept;
    const padded = padSpatial(x, g.padding);
    paddedStates.set(x, padded);
    return padded;
  };
  return {
    geometry: g,
    forward: (x) => tf.add(convForward(padOf(x as tf.Tensor4D), w, g.stride, 0), p.bias),
    backwardInput: (e) => convTranspose(e as tf.Tensor4D, w, inputShape(e), g.stride, g.padding),
    paramGradient: (e, x, groups) => {
      const n = e.shape[0] / groups;
      // one draw (training): the backend's filter gradient; many: all draws at once (model/convBatched.ts)
      const padded = padOf(x as tf.Tensor4D);
      const sums =
        groups === 1
          ? tf.expandDims(convWeightGradient(x as tf.Tensor4D, e as tf.Tensor4D, g, padded))
          : convWeightGradientPerDraw(padded, e as tf.Tensor4D, g, groups);
      return {
        weight: tf.div(sums, n),
        bias: groupMean(tf.sum(e, [1, 2]), groups),
      };
    },
    forwardSquared: (v) => convForward(v as tf.Tensor4D, squared(), g.stride, g.padding),
    backwardInputSquared: (e) => convTranspose(e as tf.Tensor4D, squared(), inputShape(e), g.stride, g.padding),
    psaBackward: (a, shift, gr, noise) =>
      ratioConv(a as tf.Tensor4D, shift as tf.Tensor4D, gr as tf.Tensor4D, w, g, noise),
    flatInput: (x) => tf.reshape<tf.Rank.R2>(tf.transpose(x, [0, 3, 1, 2]), [x.shape[0], C * H * W]),
    unflatInput: (v) => tf.transpose(tf.reshape(v, [v.shape[0], C, H, W]), [0, 2, 3, 1]),
  };
}

export function prepareLayer(g: AffineGeometry, p: LayerParams): PreparedLayer {
  return g.kind === 'dense' ? prepareDense(g, p) : prepareConv(g, p);
}
