// Labels as the two output kinds need them: `nll` class indices 0..K−1, `logistic` ±1. A data set's labels are
// either ±1 (two classes, as the toy set) or class indices 0..K−1 (everything else).
import type { OutputLoss } from '../spec/types';
import { DataError } from './types';

export interface LabelMap {
  /** Classes the mapped labels take: `units` for nll, 2 for logistic. */
  classes: number;
  map(label: number): number;
}

/**
 * Checks the labels of all splits against the output (`units` = output.units) and returns how to map them.
 * `known` is the class count a built-in data set fixes (10 for MNIST), which must then equal output.units.
 */
export function labelMap(
  labels: Float32Array[],
  loss: OutputLoss,
  units: number,
  name: string,
  known?: number,
): LabelMap {
  let pm1 = true;
  let max = 0;
  for (const ys of labels) {
    for (const v of ys) {
      if (v !== 1 && v !== -1) pm1 = false;
      if (v !== -1 && !(Number.isInteger(v) && v >= 0)) {
        throw new DataError('data.path', `${name} has the label ${v}; labels must be class indices 0, 1, … or ±1`);
      }
      if (v > max) max = v;
    }
  }
  if (!pm1 && labels.some((ys) => ys.includes(-1))) {
    throw new DataError('data.path', `${name} mixes the label −1 with class indices; use ±1 or 0, 1, … throughout`);
  }
  const classes = known ?? (pm1 ? 2 : max + 1);
  if (loss === 'logistic') {
    if (classes > 2) {
      throw new DataError(
        'output.loss',
        `output.loss "logistic" is for 2 classes but ${name} has ${classes}; use "nll" with output.units ${classes}`,
      );
    }
    return { classes: 2, map: pm1 ? (v) => v : (v) => (v === 0 ? -1 : 1) };
  }
  if (classes > units || (known !== undefined && known !== units)) {
    throw new DataError(
      'output.units',
      `output.units is ${units} but ${name} has ${classes} classes; set it to ${classes}`,
    );
  }
  return { classes: units, map: pm1 ? (v) => (v + 1) / 2 : (v) => v };
}
