// What the native steps' tests share (kernelsDenseStep, kernelsConvStep): an estimate by a native step against the
// same estimator's tfjs path (every native kernel off), both from the same seed stream; the same bits at any thread
// count; random inputs for a dense step.
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  kernelsInfo,
  nativeKernels,
  setNativeKernelsEnabled,
  type DenseStepResult,
  type NativeKernels,
} from '../../../src/engine/kernels';
import type { Network } from '../../../src/engine/model/network';
import { Rng } from '../../../src/engine/rng';
import {
  disposeEstimate,
  type Batch,
  type Estimator,
  type GradientEstimate,
} from '../../../src/engine/estimators/types';

/** |actual − expected| ≤ 1e-5 × the largest |expected|, and expected not all zeros (a case that tests nothing). */
function assertClose(actual: tf.Tensor, expected: tf.Tensor, what: string): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const a = actual.dataSync();
  const e = expected.dataSync();
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < e.length; i++) {
    scale = Math.max(scale, Math.abs(e[i]));
    worst = Math.max(worst, Math.abs(a[i] - e[i]));
  }
  assert.ok(scale > 0, `${what}: the reference is all zeros (the case tests nothing)`);
  assert.ok(worst <= 1e-5 * scale, `${what}: max |native − tfjs| = ${worst} > 1e-5 × ${scale}`);
}

/**
 * `estimator` on `batch` with the native kernels, then with them off (`switchedOff` asserts the native step is no
 * longer chosen): the same seeds drawn, the loss and every layer's gradients within assertClose. `onNative` checks
 * the native estimate further. The kernels are on again afterwards; the caller disposes the network and the batch.
 */
export function assertNativeMatchesTfjs(
  estimator: Estimator,
  net: Network,
  batch: Batch,
  switchedOff: () => void,
  onNative?: (native: GradientEstimate) => void,
): void {
  const rngNative = new Rng(5);
  const rngTfjs = new Rng(5);
  let native: GradientEstimate | undefined;
  let reference: GradientEstimate | undefined;
  try {
    native = estimator.estimate(net, batch, rngNative);
    onNative?.(native);
    setNativeKernelsEnabled(false);
    switchedOff();
    reference = estimator.estimate(net, batch, rngTfjs);
    setNativeKernelsEnabled(true);
    assert.equal(rngNative.seed53(), rngTfjs.seed53(), 'both paths draw the same seeds from the stream');
    assertClose(native.loss, reference.loss, 'loss');
    assert.equal(native.layers.length, reference.layers.length);
    native.layers.forEach((l, k) => {
      assertClose(l.weight, reference!.layers[k].weight, `layer ${k} weight`);
      assertClose(l.bias, reference!.layers[k].bias, `layer ${k} bias`);
    });
  } finally {
    setNativeKernelsEnabled(true);
    if (native) disposeEstimate(native);
    if (reference) disposeEstimate(reference);
  }
}

/** Why the tests of the native step `entry` cannot run here (no addon, or one built without a BLAS), or false. */
export function nativeStepSkip(entry: 'denseStep' | 'convStep'): string | false {
  if (nativeKernels()?.[entry]) return false;
  return nativeKernels()
    ? 'the native kernels were built without OpenBLAS (libopenblas-dev; then node scripts/build-kernels.mjs --force)'
    : `native kernels unavailable: ${kernelsInfo().detail}`;
}

/** A native step's arrays in one list: the loss, then every layer's weight and bias gradients. */
export const stepArrays = (r: DenseStepResult): Float32Array[] => [r.loss, ...r.weights, ...r.biases];

/**
 * `results()` — the caller's calls of native steps — at 1, 2 and 3 threads of the kernels' pool give the same bits
 * (the steps' products run in blocks fixed by the shapes: native/src/conv_step.cc gemm). Resets the thread count.
 */
export function assertSameBitsAtThreadCounts(kernels: NativeKernels, results: () => Float32Array[]): void {
  const bits = (threads: number) => {
    kernels.setThreads(threads);
    return results().map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64'));
  };
  try {
    const one = bits(1);
    assert.deepEqual(bits(2), one, '2 threads');
    assert.deepEqual(bits(3), one, '3 threads');
  } finally {
    kernels.setThreads(0);
  }
}

/** Random inputs of a dense step of `sizes` (weights scaled by `scale`) on `rows` rows, from a fixed seed. */
export function denseStepInputs(sizes: number[], rows: number, scale: number) {
  const data = new Rng(3);
  return {
    x: data.normals(rows * sizes[0]),
    weights: sizes.slice(1).map((out, k) => data.normals(out * sizes[k]).map((v) => v * scale)),
    biases: sizes.slice(1).map((out) => data.normals(out)),
    labels: Float32Array.from({ length: rows }, () => data.int(sizes[sizes.length - 1])),
  };
}

/** denseStep and densePsaStep (two hidden layers: seeds 7 and 9) on denseStepInputs, their arrays in one list. */
export function denseStepsArrays(
  kernels: NativeKernels,
  sizes: number[],
  groups: number,
  inputs: ReturnType<typeof denseStepInputs>,
): Float32Array[] {
  const { x, weights, biases, labels } = inputs;
  return (['denseStep', 'densePsaStep'] as const).flatMap((entry) =>
    stepArrays(kernels[entry]!(x, sizes, groups, weights, biases, [7, 9], 1, -1, 2, 'logistic', labels, 'nll')),
  );
}
