// The typed model: built from a validated file value (defaults filled in) and the quantities derived from it.
import type { LayerSpec, ModelSpec, NoiseKind, StateCoding } from './types';

export const DEFAULT_STATES: StateCoding = 'pm1';
export const DEFAULT_NOISE: NoiseKind = 'logistic';

/** Name of a hidden layer without an explicit one: `dense1`, `dense2`, … (k counts all hidden layers from 1). */
export function defaultLayerName(type: string, index: number): string {
  return `${type}${index + 1}`;
}

/**
 * The ModelSpec of a value that passed schema and semantic validation. Only known keys are copied (`$schema`
 * is dropped); `states` and `noise` get their defaults; a layer keeps `name` only when the file gives one.
 */
export function toModelSpec(value: unknown): ModelSpec {
  const v = value as ModelSpec;
  return {
    name: v.name,
    input: { shape: [...v.input.shape] },
    states: v.states ?? DEFAULT_STATES,
    noise: v.noise ?? DEFAULT_NOISE,
    layers: v.layers.map((l): LayerSpec => (l.name === undefined ? { type: l.type, units: l.units } : { type: l.type, units: l.units, name: l.name })),
    output: { units: v.output.units, loss: v.output.loss },
  };
}

/** Display names of the hidden layers, explicit or default, in order. */
export function hiddenLayerNames(model: ModelSpec): string[] {
  return model.layers.map((l, i) => l.name ?? defaultLayerName(l.type, i));
}

/** Layer widths from input to output: [input size, hidden units…, output units]. */
function widths(model: ModelSpec): number[] {
  const inputSize = model.input.shape.reduce((a, b) => a * b, 1);
  return [inputSize, ...model.layers.map((l) => l.units), model.output.units];
}

/** Trainable parameters: Σ (in + 1) · out over the dense hidden layers and the output layer (weights + biases). */
export function parameterCount(model: ModelSpec): number {
  const w = widths(model);
  let total = 0;
  for (let i = 1; i < w.length; i++) total += (w[i - 1] + 1) * w[i];
  return total;
}

/** Stochastic binary units: all hidden units (the output layer is deterministic). */
export function binaryUnitCount(model: ModelSpec): number {
  return model.layers.reduce((sum, l) => sum + l.units, 0);
}
