// Any affine layer of an SBN is a dense layer over flattened units (conv: channel-major, weights shared
// across positions; docs/math.md §1.4). Exact enumeration works on that dense form, and tests check every
// estimator on conv layers against it. Gradients of the dense form map back to the conv parameters by
// summing over the positions that share a weight.
import type { AffineGeometry } from './layers';
import { externalWeightShape, shapeSize } from '../spec/geometry';

export interface DenseLayer64 {
  in: number;
  out: number;
  /** Row-major [out, in]. */
  weight: Float64Array;
  bias: Float64Array;
}

/** For each dense entry (row j, column i) of a conv layer: the index of the conv weight it copies, or −1. */
function convIndexMap(g: Extract<AffineGeometry, { kind: 'conv' }>): Int32Array {
  const [C, H, W] = g.inShape;
  const [F, Ho, Wo] = g.outShape;
  const K = g.kernel;
  const nIn = C * H * W;
  const map = new Int32Array(F * Ho * Wo * nIn).fill(-1);
  for (let f = 0; f < F; f++) {
    for (let oh = 0; oh < Ho; oh++) {
      for (let ow = 0; ow < Wo; ow++) {
        const row = (f * Ho + oh) * Wo + ow;
        for (let c = 0; c < C; c++) {
          for (let kh = 0; kh < K; kh++) {
            const ih = oh * g.stride + kh - g.padding;
            if (ih < 0 || ih >= H) continue;
            for (let kw = 0; kw < K; kw++) {
              const iw = ow * g.stride + kw - g.padding;
              if (iw < 0 || iw >= W) continue;
              map[row * nIn + (c * H + ih) * W + iw] = ((f * C + c) * K + kh) * K + kw; // external [F, C, K, K]
            }
          }
        }
      }
    }
  }
  return map;
}

/**
 * Dense form of a layer from its external flat weight (row-major [out, in] or [F, C, K, K]) and bias.
 * The returned `backMap` turns a gradient of the dense form into one of the layer's own parameters.
 */
export function denseEquivalent(
  g: AffineGeometry,
  weight: ArrayLike<number>,
  bias: ArrayLike<number>,
): {
  layer: DenseLayer64;
  backMap: (dW: Float64Array, db: Float64Array) => Float64Array;
} {
  const nIn = shapeSize(g.inShape);
  if (g.kind === 'dense') {
    return {
      layer: { in: nIn, out: g.units, weight: Float64Array.from(weight), bias: Float64Array.from(bias) },
      backMap: (dW, db) => {
        const v = new Float64Array(dW.length + db.length);
        v.set(dW);
        v.set(db, dW.length);
        return v;
      },
    };
  }
  const nOut = shapeSize(g.outShape);
  const positions = g.outShape[1] * g.outShape[2];
  const map = convIndexMap(g);
  const dense = new Float64Array(nOut * nIn);
  for (let e = 0; e < map.length; e++) if (map[e] >= 0) dense[e] = weight[map[e]];
  const denseBias = new Float64Array(nOut);
  for (let j = 0; j < nOut; j++) denseBias[j] = bias[Math.floor(j / positions)];
  const nW = shapeSize(externalWeightShape(g));
  return {
    layer: { in: nIn, out: nOut, weight: dense, bias: denseBias },
    backMap: (dW, db) => {
      const v = new Float64Array(nW + g.filters);
      for (let e = 0; e < map.length; e++) if (map[e] >= 0) v[map[e]] += dW[e];
      for (let j = 0; j < nOut; j++) v[nW + Math.floor(j / positions)] += db[j];
      return v;
    },
  };
}
