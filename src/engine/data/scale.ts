// Input scaling, applied after pixels have become u ∈ [0, 1]: `unit` keeps u (and leaves non-image data as
// it is), `pm1` maps to 2u − 1, `standardize` subtracts the per-feature mean and divides by the per-feature
// standard deviation of the training split (so validation and test data never inform the statistics).
import type { Split } from './types';

export type Scaling = 'unit' | 'pm1' | 'standardize';

const STD_FLOOR = 1e-8;

/** Scales every split in place; `train` provides the standardisation statistics. */
export function scaleSplits(train: Split, others: Split[], mode: Scaling, features: number): void {
  const all = [train, ...others];
  if (mode === 'unit') return;
  if (mode === 'pm1') {
    for (const s of all) for (let i = 0; i < s.x.length; i++) s.x[i] = 2 * s.x[i] - 1;
    return;
  }
  // Two passes in float64: constant features (MNIST's border pixels) get std 0, hence the floor.
  const mean = new Float64Array(features);
  const sq = new Float64Array(features);
  for (let k = 0; k < train.n; k++) for (let j = 0; j < features; j++) mean[j] += train.x[k * features + j];
  for (let j = 0; j < features; j++) mean[j] /= train.n;
  for (let k = 0; k < train.n; k++) {
    for (let j = 0; j < features; j++) {
      const d = train.x[k * features + j] - mean[j];
      sq[j] += d * d;
    }
  }
  const inv = sq.map((s) => 1 / Math.max(Math.sqrt(s / train.n), STD_FLOOR));
  for (const s of all) {
    for (let k = 0; k < s.n; k++)
      for (let j = 0; j < features; j++) {
        const i = k * features + j;
        s.x[i] = (s.x[i] - mean[j]) * inv[j];
      }
  }
}
