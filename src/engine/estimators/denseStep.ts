// DSTE and PSA on an all-dense network as one native call each (issue 16; native/src/dense_step.cc): the forward
// products, the counter-stream states, the output layer (DSTE: the loss's gradient; PSA: the flip average), the
// backward products (PSA: the Δ-matrix product) and the parameter gradients with OpenBLAS instead of 70–85
// TensorFlow.js ops and their read-backs. The tfjs paths of straightThrough.ts and psa.ts stay the reference
// (test/unit/kernelsDenseStep.test.ts, kernelsDensePsaStep.test.ts compare them); this one is chosen when the addon
// was built with a BLAS, is switched on, and every affine layer is dense with a flat input. A network with conv
// layers takes the addon's convStep (DSTE) or convPsaStep (PSA) under the same conditions (native/src/conv_step.cc:
// im2col + sgemm; PSA's λ through a conv layer by the ratio convolution; test/unit/kernelsConvStep.test.ts compares
// both with the tfjs paths).
import * as tf from '@tensorflow/tfjs';
import { nativeDenseStepAllowed, nativeKernels, type NativeKernels, type NativeStepFunction } from '../kernels';
import type { Network } from '../model/network';
import { shapeSize, type AffineGeometry } from '../spec/geometry';
import type { Rng } from '../rng';
import type { Batch, GradientEstimate } from './types';

/** The estimators with a native dense step, and the addon's entry point of each. */
const ENTRY = { dste: 'denseStep', psa: 'densePsaStep' } as const;
export type DenseStepEstimator = keyof typeof ENTRY;
/** The same estimators' native steps for networks with conv layers. */
const CONV_ENTRY = { dste: 'convStep', psa: 'convPsaStep' } as const satisfies Record<DenseStepEstimator, string>;

/** The addon when it has the conv steps. */
export type ConvStepKernel = NativeKernels & Required<Pick<NativeKernels, 'convStep' | 'convPsaStep'>>;

/** The addon when it has the dense steps. */
export type DenseStepKernel = NativeKernels & Required<Pick<NativeKernels, 'denseStep' | 'densePsaStep'>>;

/**
 * The native dense step of `estimator` when it can run `net` (the addon has it, SBN_DENSE_STEP does not switch it
 * off, and the network is all-dense; PSA also needs a hidden layer), else undefined.
 */
export function denseStepKernel(net: Network, estimator: DenseStepEstimator = 'dste'): DenseStepKernel | undefined {
  if (!nativeDenseStepAllowed()) return undefined;
  const kernels = nativeKernels();
  if (!kernels?.[ENTRY[estimator]]) return undefined;
  if (estimator === 'psa' && net.geometry.length < 2) return undefined;
  const allDense = net.geometry.every((g) => g.kind === 'dense' && g.inShape.length === 1);
  return allDense ? (kernels as DenseStepKernel) : undefined;
}

/**
 * The native conv step of `estimator` when it can run `net` (the addon has it, SBN_DENSE_STEP does not switch it
 * off, and the network has a conv layer: the engine's networks put conv layers before dense ones, so a conv net
 * always has a hidden layer), else undefined.
 */
export function convStepKernel(net: Network, estimator: DenseStepEstimator = 'dste'): ConvStepKernel | undefined {
  if (!nativeDenseStepAllowed()) return undefined;
  const kernels = nativeKernels();
  if (!kernels?.[CONV_ENTRY[estimator]]) return undefined;
  return net.geometry.some((g) => g.kind === 'conv') ? (kernels as ConvStepKernel) : undefined;
}

/** A layer as convStep describes it: [C, H, W, out, kernel, stride, padding] (kernel 0: dense). */
function convStepLayer(g: AffineGeometry): number[] {
  const [C, H, W] = g.inShape.length === 3 ? g.inShape : [g.inShape[0], 1, 1];
  return g.kind === 'conv' ? [C, H, W, g.filters, g.kernel, g.stride, g.padding] : [C, H, W, g.units, 0, 0, 0];
}

/**
 * `estimator`'s estimate (straightThrough.ts `dste`, psa.ts `psa`) by the native step: one seed per hidden layer
 * drawn from `rng` in layer order, as the tfjs path's sampleStates draws them, so both paths consume the stream alike.
 */
function nativeDenseEstimate(
  estimator: DenseStepEstimator,
  kernels: DenseStepKernel,
  net: Network,
  batch: Batch,
  rng: Rng,
): GradientEstimate {
  const sizes = [batch.x.shape[1]!, ...net.geometry.map((g) => (g.kind === 'dense' ? g.units : 0))];
  const shapes = sizes.slice(1).map((out, k) => [out, sizes[k]]);
  return nativeEstimate(kernels[ENTRY[estimator]], sizes, shapes, net, batch, rng);
}

/** `estimator`'s estimate of a network with conv layers by the native conv step (as nativeDenseEstimate). */
function nativeConvEstimate(
  estimator: DenseStepEstimator,
  kernels: ConvStepKernel,
  net: Network,
  batch: Batch,
  rng: Rng,
): GradientEstimate {
  const shapes = net.geometry.map((g) =>
    g.kind === 'conv' ? [g.kernel, g.kernel, g.inShape[0], g.filters] : [g.units, shapeSize(g.inShape)],
  );
  return nativeEstimate(kernels[CONV_ENTRY[estimator]], net.geometry.map(convStepLayer), shapes, net, batch, rng);
}

/**
 * `estimator`'s estimate by the native step that can run `net` — the dense one, else the conv one — or undefined
 * when neither can (then the estimator's tfjs path runs).
 */
export function nativeStepEstimate(
  estimator: DenseStepEstimator,
  net: Network,
  batch: Batch,
  rng: Rng,
): GradientEstimate | undefined {
  const dense = denseStepKernel(net, estimator);
  if (dense) return nativeDenseEstimate(estimator, dense, net, batch, rng);
  const conv = convStepKernel(net, estimator);
  return conv && nativeConvEstimate(estimator, conv, net, batch, rng);
}

/**
 * Runs a native step (`step`, its network description `shape`) and makes the estimate of its arrays: weightShapes[k]
 * is layer k's parameter shape (the per-draw gradient gets a leading draw axis; the bias is [draws, out]).
 */
function nativeEstimate<Shape>(
  step: NativeStepFunction<Shape>,
  shape: Shape,
  weightShapes: number[][],
  net: Network,
  batch: Batch,
  rng: Rng,
): GradientEstimate {
  const L = net.geometry.length - 1;
  const seeds = Array.from({ length: L }, () => rng.seed53());
  const r = step(
    batch.x.dataSync() as Float32Array,
    shape,
    batch.groups,
    net.layers.map((p) => p.weight.dataSync() as Float32Array),
    net.layers.map((p) => p.bias.dataSync() as Float32Array),
    seeds,
    net.coding.on,
    net.coding.off,
    net.coding.meanScale,
    net.noise.kind,
    batch.y.dataSync() as Float32Array,
    net.spec.output.loss,
    batch.into && {
      loss: batch.into.loss,
      weights: batch.into.layers.map((l) => l.weight),
      biases: batch.into.layers.map((l) => l.bias),
    },
  );
  const G = batch.groups;
  // the tensors wrap the addon's arrays without a copy (tfjs-node copies them into TensorFlow only when an op reads
  // them); `host` lets the trainer skip the ops altogether
  return {
    loss: tf.tensor1d(r.loss, 'float32'),
    layers: r.weights.map((w, k) => ({
      weight: tf.tensor(w, [G, ...weightShapes[k]], 'float32'),
      bias: tf.tensor2d(r.biases[k], [G, r.biases[k].length / G], 'float32'),
    })),
    host: { loss: r.loss, layers: r.weights.map((weight, k) => ({ weight, bias: r.biases[k] })) },
  };
}
