// A dense SBN's parameters and the model facts every estimator needs (coding, noise, loss).
import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from './spec/types';
import { codingOf, type Coding } from './coding';
import { noiseOf, type Noise } from './noise';
import type { Rng } from './rng';

/** One affine layer; `weight` is [out, in] (the layout of params files and of the authors' checkpoints). */
export interface LayerParams {
  weight: tf.Tensor2D;
  bias: tf.Tensor1D;
}

/** Plain numbers of one layer, as read from and written to JSON. */
export interface LayerValues {
  weight: number[][];
  bias: number[];
}

export interface Network {
  spec: ModelSpec;
  coding: Coding;
  noise: Noise;
  /** Hidden (binary) layers in order, then the deterministic output layer. */
  layers: LayerParams[];
  /** Display names in the same order; the last is `output`. */
  layerNames: string[];
  /** Fan-in and fan-out of every layer in the same order. */
  shapes: { in: number; out: number }[];
}

export class ShapeError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

export function layerShapes(spec: ModelSpec): { in: number; out: number }[] {
  const shapes: { in: number; out: number }[] = [];
  let fanIn = spec.input.shape.reduce((a, b) => a * b, 1);
  for (const layer of spec.layers) {
    shapes.push({ in: fanIn, out: layer.units });
    fanIn = layer.units;
  }
  shapes.push({ in: fanIn, out: spec.output.units });
  return shapes;
}

export function layerNamesOf(spec: ModelSpec): string[] {
  return [...spec.layers.map((l, k) => l.name ?? `${l.type}${k + 1}`), 'output'];
}

/** Build a network from parameter values, checking every shape against the model. */
export function networkFromValues(spec: ModelSpec, values: LayerValues[]): Network {
  const shapes = layerShapes(spec);
  const names = layerNamesOf(spec);
  if (values.length !== shapes.length) {
    throw new ShapeError('layers', `expected ${shapes.length} layers (${shapes.length - 1} hidden + output) to match the model, got ${values.length}`);
  }
  const layers = values.map((v, k) => {
    const { in: fanIn, out } = shapes[k];
    const w = v.weight;
    if (!Array.isArray(w) || w.length !== out) {
      throw new ShapeError(`layers[${k}].weight`, `expected ${out} rows ([out][in] = [${out}][${fanIn}]) for layer ${names[k]}, got ${Array.isArray(w) ? w.length : typeof w}`);
    }
    w.forEach((row, j) => {
      if (!Array.isArray(row) || row.length !== fanIn) {
        throw new ShapeError(`layers[${k}].weight[${j}]`, `expected ${fanIn} numbers (fan-in of ${names[k]}), got ${Array.isArray(row) ? row.length : typeof row}`);
      }
      row.forEach((x, i) => {
        if (typeof x !== 'number' || !Number.isFinite(x)) throw new ShapeError(`layers[${k}].weight[${j}][${i}]`, `expected a finite number, got ${JSON.stringify(x)}`);
      });
    });
    if (!Array.isArray(v.bias) || v.bias.length !== out) {
      throw new ShapeError(`layers[${k}].bias`, `expected ${out} numbers for layer ${names[k]}, got ${Array.isArray(v.bias) ? v.bias.length : typeof v.bias}`);
    }
    v.bias.forEach((x, j) => {
      if (typeof x !== 'number' || !Number.isFinite(x)) throw new ShapeError(`layers[${k}].bias[${j}]`, `expected a finite number, got ${JSON.stringify(x)}`);
    });
    return { weight: tf.tensor2d(w, [out, fanIn], 'float32'), bias: tf.tensor1d(v.bias, 'float32') };
  });
  return { spec, coding: codingOf(spec.states), noise: noiseOf(spec.noise), layers, layerNames: names, shapes };
}

/**
 * Default initialisation: weights and biases U(±1/√fan_in), the PyTorch default the paper starts from
 * (spec §4.4 step 1). Data-dependent normalisation is applied on top by the trainer.
 */
export function initNetwork(spec: ModelSpec, rng: Rng): Network {
  const values: LayerValues[] = layerShapes(spec).map(({ in: fanIn, out }) => {
    const bound = 1 / Math.sqrt(fanIn);
    const u = () => (2 * rng.uniform() - 1) * bound;
    return {
      weight: Array.from({ length: out }, () => Array.from({ length: fanIn }, u)),
      bias: Array.from({ length: out }, u),
    };
  });
  return networkFromValues(spec, values);
}

export function networkValues(net: Network): LayerValues[] {
  return net.layers.map((l) => ({ weight: l.weight.arraySync(), bias: l.bias.arraySync() }));
}

/** Flat parameter vector of one layer: W row-major (out, in), then the bias (the CLI and paper layout). */
export function flatLayer(weight: Float32Array | Float64Array | number[], bias: Float32Array | Float64Array | number[]): Float64Array {
  const out = new Float64Array(weight.length + bias.length);
  out.set(weight as ArrayLike<number>, 0);
  out.set(bias as ArrayLike<number>, weight.length);
  return out;
}

export function disposeNetwork(net: Network): void {
  for (const l of net.layers) { l.weight.dispose(); l.bias.dispose(); }
}
