// The train/validation split of docs/math.md §4.1: the training examples are permuted with a seeded generator, the
// first `validation` of the permutation become the validation set, the rest the training set. The paper
// permutes with NumPy's seed 1; our permutation comes from Rng(splitSeed), so the same seed selects a
// different (equally random) 5 000 images — a reproduction matches the protocol, not the exact images.
import { Rng } from '../rng';
import { DataError, RawSplit, Split } from './types';

export interface SplitIndices {
  train: Int32Array;
  validation?: Int32Array;
}

/** Validation count from a count (≥ 1) or a fraction in (0, 1) of n. */
export function validationCount(validation: number | undefined, n: number): number {
  if (validation === undefined || validation === 0) return 0;
  const count = validation < 1 ? Math.round(validation * n) : validation;
  if (!(validation > 0) || !Number.isInteger(count) || count >= n) {
    throw new DataError(
      'data.validation',
      `data.validation ${validation} must be a count 1..${n - 1} or a fraction in (0, 1) of the ${n} training examples`,
    );
  }
  return count;
}

/**
 * Indices of the validation and training examples. Always permuted (also without validation) so that `limit`
 * takes a random subset rather than the file's first rows, which may be sorted by class.
 */
export function splitIndices(n: number, validation: number | undefined, seed: number, limit?: number): SplitIndices {
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1)) {
    throw new DataError('data.limit', `data.limit must be an integer ≥ 1, got ${limit}`);
  }
  const v = validationCount(validation, n);
  const perm = new Rng(seed).permutation(n);
  const end = limit === undefined ? n : Math.min(n, v + limit);
  return { train: perm.subarray(v, end), validation: v > 0 ? perm.subarray(0, v) : undefined };
}

/** u = b/255 for every byte, as float32: equals PyTorch's ToTensor() (b/255 never lies on a float32 tie). */
const UNIT = Float32Array.from({ length: 256 }, (_, b) => b / 255);

/** Copies the selected examples (all when `idx` is undefined) into float32; pixel bytes become u ∈ [0, 1]. */
export function gather(raw: RawSplit, features: number, idx?: Int32Array): Split {
  const n = idx ? idx.length : raw.n;
  const x = new Float32Array(n * features);
  const y = new Float32Array(n);
  const src = raw.x;
  for (let k = 0; k < n; k++) {
    const i = idx ? idx[k] : k;
    y[k] = raw.y[i];
    if (src instanceof Uint8Array) {
      for (let j = 0, s = i * features, d = k * features; j < features; j++) x[d + j] = UNIT[src[s + j]];
    } else {
      x.set(src.subarray(i * features, (i + 1) * features), k * features);
    }
  }
  return { x, y, n };
}
