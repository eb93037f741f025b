// Many independent gradient draws of one estimator on a fixed data set: the machinery behind `sbn grad`
// and the gradient-accuracy experiment. Draws are stacked into large batches (rows = draws × points) so
// that a 5-5-5 net runs thousands of draws per tfjs call; the random stream is consumed in draw order,
// so results depend on the seed and not on the backend.
import * as tf from '@tensorflow/tfjs';
import type { Network } from '../model/network';
import { networkValues, parameterSizes } from '../model/network';
import { outShapeOf, shapeSize, toExternalWeight } from '../model/layers';
import { Rng } from '../rng';
import { runToEnd, type Pass } from '../passes';
import { exactGradient } from '../estimators/exact';
import { createEstimator, disposeEstimate, type EstimatorName, type EstimatorOptions } from '../estimators';

export interface Dataset {
  /** Rows of features. */
  X: number[][];
  /** ±1 labels (logistic loss) or class indices (nll). */
  Y: number[];
}

export interface GradientDrawOptions {
  draws: number;
  seed: number;
  estimatorOptions?: EstimatorOptions;
  /** Called with every draw's per-layer flat gradient (W row-major, then bias), in draw order. */
  onDraw?: (draw: number, layers: Float64Array[]) => void;
  /** Bound on rows (draws × points) per batch; chosen from the network size when omitted. */
  maxRows?: number;
}

export interface GradientSummary {
  estimator: EstimatorName;
  draws: number;
  /** Mean over draws of the estimator's own loss value. */
  loss: number;
  layers: { name: string; mean: Float64Array; std: Float64Array }[];
}

/** Welford accumulator per parameter. */
class RunningMoments {
  readonly mean: Float64Array;
  private readonly m2: Float64Array;
  count = 0;
  constructor(size: number) {
    this.mean = new Float64Array(size);
    this.m2 = new Float64Array(size);
  }
  add(x: ArrayLike<number>): void {
    this.count++;
    for (let i = 0; i < this.mean.length; i++) {
      const d = x[i] - this.mean[i];
      this.mean[i] += d / this.count;
      this.m2[i] += d * (x[i] - this.mean[i]);
    }
  }
  std(): Float64Array {
    const out = new Float64Array(this.mean.length);
    if (this.count < 2) return out;
    for (let i = 0; i < out.length; i++) out[i] = Math.sqrt(Math.max(0, this.m2[i]) / (this.count - 1));
    return out;
  }
}

/** Split `draws` into batches of at most `perBatch` draws, never leaving a batch of one draw behind. */
export function drawBatches(draws: number, perBatch: number): number[] {
  const sizes: number[] = [];
  for (let left = draws; left > 0; left -= perBatch) sizes.push(Math.min(perBatch, left));
  if (sizes.length > 1 && sizes[sizes.length - 1] === 1) {
    sizes[sizes.length - 2]--;
    sizes[sizes.length - 1]++;
  }
  return sizes;
}

function defaultMaxRows(net: Network): number {
  const last = net.geometry[net.geometry.length - 1];
  const widest = Math.max(
    ...net.geometry.map((g) => shapeSize(outShapeOf(g))),
    shapeSize(last.inShape) * net.spec.output.units,
  );
  return Math.max(1, Math.floor((1 << 21) / widest));
}

/**
 * Rows of flattened inputs (images channel-major, as data files and loaders give them) as the tensor the
 * first layer takes: [N, n] for dense models, NHWC [N, H, W, C] for conv models.
 */
export function inputTensor(net: Network, rows: ArrayLike<number>[] | Float32Array, count?: number): tf.Tensor {
  const shape = net.spec.input.shape;
  const n = count ?? (rows as ArrayLike<number>[]).length;
  const flat = rows instanceof Float32Array ? rows : Float32Array.from(rows.flatMap((r) => Array.from(r)));
  if (shape.length !== 3) return tf.tensor2d(flat, [n, shapeSize(shape)]);
  return tf.tidy(() => tf.transpose(tf.tensor4d(flat, [n, shape[0], shape[1], shape[2]]), [0, 2, 3, 1]));
}

export function gradientDraws(
  net: Network,
  data: Dataset,
  name: EstimatorName,
  options: GradientDrawOptions,
): GradientSummary {
  return runToEnd(gradientDrawsPass(net, data, name, options));
}

/** gradientDraws as a pass that yields after every batch of draws. */
export function* gradientDrawsPass(
  net: Network,
  data: Dataset,
  name: EstimatorName,
  options: GradientDrawOptions,
): Pass<GradientSummary> {
  const sizes = parameterSizes(net);
  const moments = sizes.map((n) => new RunningMoments(n));
  let lossSum = 0;
  const finish = (): GradientSummary => ({
    estimator: name,
    draws: options.draws,
    loss: lossSum / options.draws,
    layers: moments.map((m, k) => ({ name: net.layerNames[k], mean: m.mean, std: m.std() })),
  });

  if (name === 'exact') {
    const exact = exactGradient(net.spec, networkValues(net), data.X, data.Y);
    for (let d = 0; d < options.draws; d++) {
      moments.forEach((m, k) => m.add(exact.layers[k]));
      options.onDraw?.(d, exact.layers);
    }
    lossSum = exact.loss * options.draws;
    return finish();
  }

  const estimator = createEstimator(name, options.estimatorOptions);
  const rng = new Rng(options.seed);
  const N = data.X.length;
  const x = inputTensor(net, data.X);
  const y = tf.tensor1d(data.Y, 'float32');
  try {
    const perBatch = estimator.deterministic
      ? 1
      : Math.max(1, Math.floor((options.maxRows ?? defaultMaxRows(net)) / N));
    const batches = estimator.deterministic ? [1] : drawBatches(options.draws, perBatch);
    let draw = 0;
    for (const G of batches) {
      const est = tf.tidy(() => {
        const e = estimator.estimate(
          net,
          {
            x: G === 1 ? x : tf.tile(x, [G, ...x.shape.slice(1).map(() => 1)]),
            y: G === 1 ? y : tf.tile<tf.Tensor1D>(y, [G]),
            groups: G,
          },
          rng,
        );
        // the tensors only: a native step's host arrays (`host`) would be walked value by value by the tidy —
        // minutes for G draws of a large net, and a RangeError past 2²⁴ distinct values
        return { loss: e.loss, layers: e.layers };
      });
      const losses = est.loss.dataSync();
      // (typed arrays must not be returned from tf.tidy: it would walk every element looking for tensors)
      const perLayer = est.layers.map((l, k) => {
        const ext = toExternalWeight(net.geometry[k], l.weight);
        const w = ext.dataSync();
        if (ext !== l.weight) ext.dispose();
        return { w, b: l.bias.dataSync() };
      });
      disposeEstimate(est);
      for (let g = 0; g < G; g++) {
        const flat = perLayer.map(({ w, b }) => {
          const nW = w.length / G;
          const nB = b.length / G;
          const v = new Float64Array(nW + nB);
          v.set(w.subarray(g * nW, (g + 1) * nW), 0);
          v.set(b.subarray(g * nB, (g + 1) * nB), nW);
          return v;
        });
        const copies = estimator.deterministic ? options.draws : 1;
        for (let c = 0; c < copies; c++) {
          moments.forEach((m, k) => m.add(flat[k]));
          lossSum += losses[g];
          options.onDraw?.(draw++, flat);
        }
      }
      yield;
    }
  } finally {
    x.dispose();
    y.dispose();
  }
  return finish();
}
