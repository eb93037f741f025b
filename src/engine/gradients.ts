// Many independent gradient draws of one estimator on a fixed data set: the machinery behind `sbn grad`
// and the gradient-accuracy experiment. Draws are stacked into large batches (rows = draws × points) so
// that a 5-5-5 net runs thousands of draws per tfjs call; the random stream is consumed in draw order,
// so results depend on the seed and not on the backend.
import * as tf from '@tensorflow/tfjs';
import type { Network } from './network';
import { networkValues } from './network';
import { Rng } from './rng';
import { exactGradient } from './estimators/exact';
import { createEstimator, disposeEstimate, type EstimatorName, type EstimatorOptions } from './estimators';

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
  if (sizes.length > 1 && sizes[sizes.length - 1] === 1) { sizes[sizes.length - 2]--; sizes[sizes.length - 1]++; }
  return sizes;
}

function defaultMaxRows(net: Network): number {
  const widest = Math.max(...net.shapes.map((s) => s.out), net.shapes[net.shapes.length - 1].in * net.spec.output.units);
  return Math.max(1, Math.floor((1 << 21) / widest));
}

export function gradientDraws(net: Network, data: Dataset, name: EstimatorName, options: GradientDrawOptions): GradientSummary {
  const sizes = net.shapes.map((s) => s.out * s.in + s.out);
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
  const x = tf.tensor2d(data.X, [N, net.shapes[0].in], 'float32');
  const y = tf.tensor1d(data.Y, 'float32');
  try {
    const perBatch = estimator.deterministic ? 1 : Math.max(1, Math.floor((options.maxRows ?? defaultMaxRows(net)) / N));
    const batches = estimator.deterministic ? [1] : drawBatches(options.draws, perBatch);
    let draw = 0;
    for (const G of batches) {
      const est = tf.tidy(() => estimator.estimate(net, {
        x: G === 1 ? x : tf.tile(x, [G, 1]) as tf.Tensor2D,
        y: G === 1 ? y : tf.tile(y, [G]) as tf.Tensor1D,
        groups: G,
      }, rng));
      const losses = est.loss.dataSync();
      const perLayer = est.layers.map((l) => ({ w: l.weight.dataSync(), b: l.bias.dataSync() }));
      disposeEstimate(est);
      for (let g = 0; g < G; g++) {
        const flat = perLayer.map(({ w, b }, k) => {
          const { in: nIn, out } = net.shapes[k];
          const v = new Float64Array(out * nIn + out);
          v.set(w.subarray(g * out * nIn, (g + 1) * out * nIn), 0);
          v.set(b.subarray(g * out, (g + 1) * out), out * nIn);
          return v;
        });
        const copies = estimator.deterministic ? options.draws : 1;
        for (let c = 0; c < copies; c++) {
          moments.forEach((m, k) => m.add(flat[k]));
          lossSum += losses[g];
          options.onDraw?.(draw++, flat);
        }
      }
    }
  } finally {
    x.dispose();
    y.dispose();
  }
  return finish();
}
