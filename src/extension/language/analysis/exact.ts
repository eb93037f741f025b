// The note on models too large for exact enumeration, with the limits of estimators/exactCost.ts.
import { EXACT_MAX_UNITS, exactCost } from '../../../engine/estimators/exactCost';
import { canTrain } from '../../../engine/spec/model';
import type { ModelSpec } from '../../../engine/spec/types';
import { locate, startOfFile, type Context } from './context';
import { count } from './geometry';
import type { LayerInfo, Problem } from './types';

/** The tail of the note on models too large for exact enumeration. */
export const EXACT_NOTE_TAIL =
  'gradient comparisons (Compare Estimators) cannot use the exact gradient as their reference for it';

/**
 * The note, only where the file asks for exact gradients: a gradient-evaluation file (no `train` section), whose
 * comparisons take the exact gradient as their reference. Training (and its diagnostics) never enumerates.
 */
export function checkExact(ctx: Context, model: ModelSpec, layers: LayerInfo[]): Problem[] {
  if (canTrain(model)) return [];
  const widest = layers
    .filter((l) => l.geometry.binaryUnits > 0)
    .reduce<LayerInfo | undefined>(
      (a, l) => (!a || l.geometry.binaryUnits > a.geometry.binaryUnits ? l : a),
      undefined,
    );
  if (!widest || widest.geometry.binaryUnits <= EXACT_MAX_UNITS) {
    try {
      if (!exactCost(model, 1).refusal) return [];
    } catch {
      return [];
    }
  }
  const why = widest
    ? `${count(widest.geometry.binaryUnits)} binary units in layer "${widest.geometry.name}": ` +
      `2^${widest.geometry.binaryUnits} states`
    : 'too many binary units';
  const range = locate(ctx, ['layers'], 'key') ?? startOfFile();
  return [
    {
      range,
      severity: 'information',
      code: 'exact-too-large',
      path: 'layers',
      message: `exact enumeration is not possible for this model (${why}): ${EXACT_NOTE_TAIL}`,
    },
  ];
}
