// One interface for every gradient estimator (architecture note): an estimator takes the network, a batch
// and a random stream, and returns the gradient of the batch-mean expected loss for every parameter
// together with its own estimate of that loss.
import type * as tf from '@tensorflow/tfjs';
import type { Network } from '../model/network';
import type { Rng } from '../rng';

import type { EstimatorName } from '../../estimators';

// the one list of names, labels and families (shared with the CLI, the extension and the panels)
export {
  ESTIMATOR_NAMES,
  ESTIMATORS,
  TRAINING_ESTIMATORS,
  SAMPLING_ESTIMATORS,
  isEstimatorName,
  type EstimatorName,
  type TrainingEstimatorName,
} from '../../estimators';

export type ReinforceBaseline = 'none' | 'mean' | 'loo' | 'input';

/** An estimator's state between calls, as saved in checkpoints (JSON numbers: float64 values round-trip exactly). */
export type EstimatorState = Record<string, number | number[]>;

export interface EstimatorOptions {
  /** Concrete / ST Gumbel / Gumbel-Rao temperature τ in σ((a − z)/τ) (pm1: 2σ((a − z)/τ) − 1). Default 1. */
  tau?: number;
  /** Gumbel-Rao's conditional noise draws per unit. Default 10. */
  k?: number;
  /** tanh's training activation: the mean field E[x | a] (default) or the authors' tanh(a) (docs/math.md §2.9). */
  activation?: 'mean-field' | 'tanh';
  /** REINFORCE control variate. Default `none` (as in the paper). */
  baseline?: ReinforceBaseline;
  /** Decay of the running-mean baseline. Default 0.9. */
  baselineDecay?: number;
}

/**
 * A batch of `groups` independent draws over the same `x.shape[0] / groups` data rows, draw-major
 * (row = g·N + n). Each draw gets its own noise for every row; its gradient is the mean over its N rows.
 * Training uses groups = 1; gradient-accuracy experiments stack many draws into one batch.
 */
export interface Batch {
  /** Inputs: [B, n] for dense models, NHWC [B, H, W, C] for conv models. */
  x: tf.Tensor;
  /** ±1 labels (logistic loss) or class indices (nll), float32. */
  y: tf.Tensor1D;
  groups: number;
  /**
   * Arrays a native step may write the estimate into instead of new ones (train/trainer.ts: its own, reused from
   * step to step, so no fresh pages per step). The estimate's host arrays and tensors are then these arrays: they
   * hold its values only until the caller reuses them.
   */
  into?: HostGradients;
}

// Type aliases rather than interfaces: tf.tidy only returns containers with an implicit index signature.
export type LayerGradient = {
  /** [G, ...internal weight shape] ([G, out, in] dense, [G, K, K, in, out] conv) */
  weight: tf.Tensor;
  /** [G, out] */
  bias: tf.Tensor;
};

/**
 * An estimate as the host arrays a native step computed (estimators/denseStep.ts), laid out as the tensors of
 * GradientEstimate: loss [G], each layer's weight [G·out·in] and bias [G·out].
 */
export type HostGradients = {
  loss: Float32Array;
  layers: { weight: Float32Array; bias: Float32Array }[];
};

export type GradientEstimate = {
  /** The estimator's own value of the batch-mean loss, per draw: [G]. */
  loss: tf.Tensor1D;
  /** Hidden layers in order, then the output layer. */
  layers: LayerGradient[];
  /**
   * The same values as host arrays, when a native step computed them: the tensors above wrap these arrays (no
   * copy), and a training step may take them to the optimiser without any TensorFlow.js op (train/trainer.ts).
   */
  host?: HostGradients;
};

export interface Estimator {
  readonly name: EstimatorName;
  /** Deterministic estimators ignore the noise: every draw gives the same gradient. */
  readonly deterministic: boolean;
  estimate(net: Network, batch: Batch, rng: Rng): GradientEstimate;
  /** State carried between calls (REINFORCE's running-mean or input baseline), saved in checkpoints: exact resumes. */
  state?(): EstimatorState;
  restore?(state: EstimatorState): void;
}

export function disposeEstimate(e: GradientEstimate): void {
  e.loss.dispose();
  for (const l of e.layers) {
    l.weight.dispose();
    l.bias.dispose();
  }
}
