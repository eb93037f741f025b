// NVIL's input-dependent baseline for REINFORCE (docs/math.md §2.16; Mnih & Gregor 2014): b(x) = c + vᵀx, a linear
// function of the network's input, learned alongside the model by minimising the mean of (ℓ − b(x))² with Adam
// (float64, in JavaScript: the same numbers on every backend). It is fitted to a step's losses only after that step's
// gradient used it, so it never depends on the noise of the draw it centres and REINFORCE stays unbiased. Its
// parameters and Adam's moments are the estimator's state, saved in every checkpoint: resumes are exact.
import * as tf from '@tensorflow/tfjs';
import type { EstimatorState } from './types';

/** Adam's settings for the baseline (fixed: the baseline only has to track the loss, not be tuned). */
export const INPUT_BASELINE_ADAM = { lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } as const;

/** The input as rows [B, d]; images channel-major, as data files give them. */
export function inputRows(x: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => {
    const rows = x.rank === 4 ? tf.transpose(x, [0, 3, 1, 2]) : x;
    return tf.reshape(rows, [x.shape[0], -1]);
  });
}

export class InputBaseline {
  /** [v_1..v_d, c]: the weights, then the constant. */
  private theta: Float64Array | undefined;
  private m: Float64Array | undefined;
  private s: Float64Array | undefined;
  private steps = 0;

  /** b(x) per row [B] (zero before the first update). */
  predict(rows: tf.Tensor2D): tf.Tensor1D {
    const d = rows.shape[1];
    if (!this.theta) return tf.zeros([rows.shape[0]]);
    if (this.theta.length !== d + 1) {
      throw new RangeError(`reinforce: the input baseline has ${this.theta.length - 1} inputs, the batch has ${d}`);
    }
    return tf.tidy(() => {
      const v = tf.tensor2d(Float32Array.from(this.theta!.subarray(0, d)), [d, 1]);
      return tf.add(tf.reshape(tf.matMul(rows, v), [-1]), this.theta![d]);
    });
  }

  /** One Adam step on mean_n (ℓ_n − b(x_n))² from the rows [B·d] and their losses [B] of the step just taken. */
  update(rows: ArrayLike<number>, losses: ArrayLike<number>): void {
    const B = losses.length;
    const d = rows.length / B;
    this.theta ??= new Float64Array(d + 1);
    this.m ??= new Float64Array(d + 1);
    this.s ??= new Float64Array(d + 1);
    const theta = this.theta;
    const grad = new Float64Array(d + 1);
    for (let n = 0; n < B; n++) {
      let b = theta[d];
      for (let i = 0; i < d; i++) b += theta[i] * rows[n * d + i];
      const r = (-2 * (losses[n] - b)) / B;
      for (let i = 0; i < d; i++) grad[i] += r * rows[n * d + i];
      grad[d] += r;
    }
    const { lr, beta1, beta2, epsilon } = INPUT_BASELINE_ADAM;
    this.steps++;
    const c1 = 1 - beta1 ** this.steps;
    const c2 = 1 - beta2 ** this.steps;
    for (let i = 0; i <= d; i++) {
      this.m[i] = beta1 * this.m[i] + (1 - beta1) * grad[i];
      this.s[i] = beta2 * this.s[i] + (1 - beta2) * grad[i] * grad[i];
      theta[i] -= (lr * (this.m[i] / c1)) / (Math.sqrt(this.s[i] / c2) + epsilon);
    }
  }

  state(): EstimatorState {
    if (!this.theta || !this.m || !this.s) return {};
    return {
      inputBaseline: Array.from(this.theta),
      inputBaselineM: Array.from(this.m),
      inputBaselineS: Array.from(this.s),
      inputBaselineSteps: this.steps,
    };
  }

  restore(state: EstimatorState): void {
    const { inputBaseline, inputBaselineM, inputBaselineS, inputBaselineSteps } = state;
    if (!Array.isArray(inputBaseline) || !Array.isArray(inputBaselineM) || !Array.isArray(inputBaselineS)) return;
    this.theta = Float64Array.from(inputBaseline);
    this.m = Float64Array.from(inputBaselineM);
    this.s = Float64Array.from(inputBaselineS);
    this.steps = typeof inputBaselineSteps === 'number' ? inputBaselineSteps : 0;
  }
}
