// State codings of binary units (docs/math.md §1.2). Everything that differs between ±1 and {0,1} lives here, so
// that estimators are written once: the value of a flipped state, the sign x̂ = ±1 of a state, and the
// derivative of the expected state E[x | a] with respect to F(a).
import * as tf from '@tensorflow/tfjs';
import type { StateCoding } from '../spec/types';

export interface Coding {
  kind: StateCoding;
  /** Value of the "on" state (+1 in both codings) and of the "off" state (−1 or 0). */
  on: number;
  off: number;
  /** dE[x|a]/dF(a): 2 for ±1 (E = 2F − 1), 1 for {0,1} (E = F). docs/math.md §5.7. */
  meanScale: number;
  /** Turn {0,1} indicator values into states of this coding. */
  fromBits(bits: tf.Tensor): tf.Tensor;
  /** x̂ ∈ {−1, +1}: the sign of a state, whatever the coding. */
  signOf(x: tf.Tensor): tf.Tensor;
  /** δ = x↓ − x: how a state changes when it flips (−2x for ±1, 1 − 2x for {0,1}). */
  flipShift(x: tf.Tensor): tf.Tensor;
  /** E[x | a] as a function of p = F(a). */
  meanOf(p: tf.Tensor): tf.Tensor;
  /** Var[x | a] as a function of p. */
  varianceOf(p: tf.Tensor): tf.Tensor;
}

const pm1: Coding = {
  kind: 'pm1',
  on: 1,
  off: -1,
  meanScale: 2,
  fromBits: (b) => tf.tidy(() => tf.sub(tf.mul(b, 2), 1)),
  signOf: (x) => tf.clone(x),
  flipShift: (x) => tf.mul(x, -2),
  meanOf: (p) => tf.tidy(() => tf.sub(tf.mul(p, 2), 1)),
  varianceOf: (p) => tf.tidy(() => tf.mul(tf.mul(p, tf.sub(1, p)), 4)),
};

const zeroOne: Coding = {
  kind: '01',
  on: 1,
  off: 0,
  meanScale: 1,
  fromBits: (b) => tf.clone(b),
  signOf: (x) => tf.tidy(() => tf.sub(tf.mul(x, 2), 1)),
  flipShift: (x) => tf.tidy(() => tf.sub(1, tf.mul(x, 2))),
  meanOf: (p) => tf.clone(p),
  varianceOf: (p) => tf.tidy(() => tf.mul(p, tf.sub(1, p))),
};

export function codingOf(kind: StateCoding): Coding {
  return kind === '01' ? zeroOne : pm1;
}
