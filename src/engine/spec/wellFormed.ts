// The parts of a raw model-file value (parsed, not yet validated) that are already well formed, for the checks that
// run whatever else is wrong with the file: the semantic rules (semantic.ts) and the editor's layer geometry
// (src/extension/language/analysis/geometry.ts). Both read layers the same way, so they agree on where shape
// inference stops.
import type { LayerSpec } from './types';

export function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A whole number ≥ `min`. */
export function isCount(v: unknown, min: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min;
}

/** An input shape as the schema accepts it (1 or 3 whole numbers ≥ 1), else undefined. */
export function wellFormedShape(shape: unknown): number[] | undefined {
  if (!Array.isArray(shape) || (shape.length !== 1 && shape.length !== 3) || !shape.every((n) => isCount(n, 1)))
    return undefined;
  return shape;
}

/** A hidden layer as the schema accepts it, else undefined. */
export function wellFormedLayer(l: unknown): LayerSpec | undefined {
  if (!isObject(l)) return undefined;
  const name = typeof l.name === 'string' ? l.name : undefined;
  if (l.type === 'dense' && isCount(l.units, 1)) return { type: 'dense', units: l.units, name };
  if (l.type === 'flatten') return { type: 'flatten', name };
  if (
    l.type === 'conv' &&
    isCount(l.filters, 1) &&
    (l.kernel === 1 || l.kernel === 3 || l.kernel === 5) &&
    (l.stride === undefined || isCount(l.stride, 1)) &&
    (l.padding === undefined || isCount(l.padding, 0))
  ) {
    return {
      type: 'conv',
      filters: l.filters,
      kernel: l.kernel,
      stride: l.stride,
      padding: l.padding,
      name,
    };
  }
  return undefined;
}

/** The hidden layers up to the first one the schema rejects (shape inference stops there). */
export function wellFormedLayers(rawLayers: readonly unknown[]): LayerSpec[] {
  const layers: LayerSpec[] = [];
  for (const raw of rawLayers) {
    const layer = wellFormedLayer(raw);
    if (!layer) break;
    layers.push(layer);
  }
  return layers;
}
