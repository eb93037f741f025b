// What exact enumeration (exact.ts) would cost for a model, and whether it is refused: shapes only, no
// TensorFlow.js, so the editor's CodeLens and the CLI can ask before loading the tensor code.
import type { ModelSpec } from '../spec/types';
import { modelGeometry, shapeSize, unitsOf } from '../spec/geometry';

/** Largest number of arithmetic operations the enumeration may take (a few seconds in JavaScript). */
export const EXACT_MAX_OPERATIONS = 4e9;
/** Largest transition matrix (entries) held in memory. */
export const EXACT_MAX_MATRIX = 1 << 24;
/** Widest hidden layer enumerated (2^24 states); the matrix limit usually binds first. */
export const EXACT_MAX_UNITS = 24;

/** Operation count of the enumeration, and the reason it is refused (undefined when it fits). */
export function exactCost(spec: ModelSpec, rows: number): { operations: number; refusal?: string } {
  const { geometry } = modelGeometry(spec);
  const shapes = geometry.map((g) => ({ in: shapeSize(g.inShape), out: unitsOf(g) }));
  const L = shapes.length - 1;
  let ops = 0;
  let biggest = 0;
  for (let k = 0; k < L; k++) {
    const S = 2 ** shapes[k].out;
    if (k === 0) {
      ops += rows * S * shapes[0].out * (shapes[0].in + 2);
      biggest = Math.max(biggest, rows * S);
    } else {
      const Sprev = 2 ** shapes[k].in;
      ops += 3 * rows * Sprev * S + Sprev * S * shapes[k].out * (shapes[k].in + 2);
      biggest = Math.max(biggest, Sprev * S, rows * S);
    }
  }
  const SL = 2 ** shapes[L].in;
  ops += rows * SL * shapes[L].out * (shapes[L].in + 2);
  const units = shapes.slice(0, L).map((s) => s.out);
  if (ops > EXACT_MAX_OPERATIONS || biggest > EXACT_MAX_MATRIX || units.some((u) => u > EXACT_MAX_UNITS)) {
    return {
      operations: ops,
      refusal:
        `exact enumeration of hidden layers [${units.join(', ')}] over ${rows} data points needs about ` +
        `${ops.toExponential(1)} operations and a ${biggest.toExponential(1)}-entry matrix; the limits are ` +
        `${EXACT_MAX_OPERATIONS.toExponential(0)} operations and ${EXACT_MAX_MATRIX.toExponential(1)} entries ` +
        `(about 12 units per layer)`,
    };
  }
  return { operations: ops };
}
