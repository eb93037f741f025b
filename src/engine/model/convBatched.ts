// Per-draw weight gradients of a conv layer for G draws stacked along the batch axis (rows = draws × points,
// draw-major, as estimators/types.ts `Batch`), in a number of ops that does not grow with G. The per-draw loop
// it replaces issued two slices and one filter-gradient convolution per draw: hundreds of small ops per layer
// when `sbn grad` stacks hundreds of draws of a small model, and on tfjs-wasm (no Conv2DBackpropFilter) one
// convolution with a batch-sized filter per draw.
//
// dW[g, kh, kw] = Σ_{rows of draw g, output positions} x_pad[·, kh + s·i, kw + s·j, :] ⊗ dy[·, i, j, :]: for each
// kernel tap the inputs it sees are one slice of the padded input, so a layer is K² batched products
// [G, C_out, rows·positions] × [G, rows·positions, C_in]. The same sums as Conv2DBackpropFilter up to the order
// of float additions.
import * as tf from '@tensorflow/tfjs';
import type { ConvGeometry } from '../spec/geometry';

/**
 * The K² inputs each kernel tap sees, [B, Ho, Wo, C] each, in tap order (kh, kw). Stride s > 1 takes them as
 * plain slices of the input split into s × s phases ([B, H/s, s, W/s, s, C]), not as strided slices: tfjs-node's
 * strided slice is several times slower than a slice.
 */
function tapInputs(padded: tf.Tensor4D, kernel: number, stride: number, Ho: number, Wo: number): tf.Tensor4D[] {
  const [B, Hp, Wp, C] = padded.shape;
  const taps: tf.Tensor4D[] = [];
  if (stride === 1) {
    for (let kh = 0; kh < kernel; kh++)
      for (let kw = 0; kw < kernel; kw++) taps.push(tf.slice(padded, [0, kh, kw, 0], [B, Ho, Wo, C]));
    return taps;
  }
  const s = stride;
  const Hs = Math.ceil(Hp / s);
  const Ws = Math.ceil(Wp / s);
  // zeros appended to make the size a multiple of s are never inside a tap's slice
  const whole = tf.pad(padded, [
    [0, 0],
    [0, Hs * s - Hp],
    [0, Ws * s - Wp],
    [0, 0],
  ]);
  const phases = tf.reshape(whole, [B, Hs, s, Ws, s, C]);
  for (let kh = 0; kh < kernel; kh++) {
    for (let kw = 0; kw < kernel; kw++) {
      const begin = [0, Math.floor(kh / s), kh % s, Math.floor(kw / s), kw % s, 0];
      taps.push(tf.reshape(tf.slice(phases, begin, [B, Ho, 1, Wo, 1, C]), [B, Ho, Wo, C]));
    }
  }
  return taps;
}

/**
 * Σ over each draw's rows and output positions of input patches ⊗ dy: [G, K, K, C_in, C_out] (sums, not
 * means). `padded` is the layer input with the layer's zero padding already applied, [G·n, Hp, Wp, C_in];
 * dy is [G·n, Ho, Wo, C_out].
 */
export function convWeightGradientPerDraw(
  padded: tf.Tensor4D,
  dy: tf.Tensor4D,
  g: ConvGeometry,
  groups: number,
): tf.Tensor {
  return tf.tidy(() => {
    const C = padded.shape[3];
    const [B, Ho, Wo, F] = dy.shape;
    const K = g.kernel;
    const perDraw = (B / groups) * Ho * Wo;
    // dyᵀ per draw, transposed once, explicitly: tfjs-wasm's transposed matMul is 10–60× slower (engine notes)
    const dyT = tf.transpose(tf.reshape(dy, [groups, perDraw, F]), [0, 2, 1]);
    const products = tapInputs(padded, K, g.stride, Ho, Wo).map((seen) =>
      tf.matMul(dyT, tf.reshape(seen, [groups, perDraw, C])),
    ); // K² × [G, F, C]
    return tf.transpose(tf.reshape(tf.stack(products), [K, K, groups, F, C]), [2, 0, 1, 4, 3]);
  });
}
