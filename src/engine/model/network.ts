// An SBN's parameters and the model facts every estimator needs (coding, noise, loss, layer geometry).
import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from '../spec/types';
import { modelGeometry, ShapeError } from '../spec/geometry';
export { modelGeometry, ShapeError } from '../spec/geometry';
import { codingOf, type Coding } from './coding';
import { noiseOf, type Noise } from './noise';
import type { Rng } from '../rng';
import {
  externalWeightShape,
  internalWeightShape,
  outShapeOf,
  shapeSize,
  toExternalWeight,
  toInternalWeight,
  type AffineGeometry,
  type LayerParams,
} from './layers';

export type { LayerParams } from './layers';

/** Plain numbers of one layer as read from and written to JSON: weight [out][in] or [out][in][K][K]. */
export interface LayerValues {
  weight: unknown[];
  bias: number[];
}

export interface Network {
  spec: ModelSpec;
  coding: Coding;
  noise: Noise;
  /** Affine layers: hidden dense/conv layers in order, then the output layer (flatten layers have none). */
  geometry: AffineGeometry[];
  /** Parameters in the ops' layout, same order. */
  layers: LayerParams[];
  /** Display names, same order; the last is `output`. */
  layerNames: string[];
}

/** Number of weights plus biases of each affine layer. */
export function parameterSizes(net: Network): number[] {
  return net.geometry.map((g) => shapeSize(internalWeightShape(g)) + outShapeOf(g)[0]);
}

function checkNested(value: unknown, shape: number[], field: string): void {
  if (shape.length === 0) {
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw new ShapeError(field, `expected a finite number, got ${JSON.stringify(value)?.slice(0, 30)}`);
    return;
  }
  if (!Array.isArray(value) || value.length !== shape[0]) {
    throw new ShapeError(
      field,
      `expected ${shape[0]} ${shape.length > 1 ? 'arrays' : 'numbers'}, got ` +
        `${Array.isArray(value) ? value.length : JSON.stringify(value)?.slice(0, 30)}`,
    );
  }
  value.forEach((v, i) => checkNested(v, shape.slice(1), `${field}[${i}]`));
}

/** Build a network from parameter values (external layout), checking every shape against the model. */
export function networkFromValues(spec: ModelSpec, values: LayerValues[]): Network {
  const { geometry, names } = modelGeometry(spec);
  if (values.length !== geometry.length) {
    throw new ShapeError(
      'layers',
      `expected ${geometry.length} layers (${geometry.length - 1} hidden + output) to match the model, ` +
        `got ${values.length}`,
    );
  }
  const layers = values.map((v, k) => {
    const g = geometry[k];
    const shape = externalWeightShape(g);
    const out = outShapeOf(g)[0];
    if (!Array.isArray(v.weight) || v.weight.length !== shape[0]) {
      throw new ShapeError(
        `layers[${k}].weight`,
        `expected ${shape[0]} rows ([${shape.join('][')}]) for layer ${names[k]}, got ` +
          `${Array.isArray(v.weight) ? v.weight.length : typeof v.weight}`,
      );
    }
    checkNested(v.weight, shape, `layers[${k}].weight`);
    checkNested(v.bias, [out], `layers[${k}].bias`);
    const external = tf.tensor(v.weight as number[], shape, 'float32');
    const weight = toInternalWeight(g, external);
    if (weight !== external) external.dispose();
    return { weight, bias: tf.tensor1d(v.bias, 'float32') };
  });
  return { spec, coding: codingOf(spec.states), noise: noiseOf(spec.noise), geometry, layers, layerNames: names };
}

/**
 * Default initialisation: weights and biases U(±1/√fan_in) (fan_in = C_in·K² for conv), the PyTorch
 * default the paper starts from (docs/math.md §4.4 step 1). Data-dependent normalisation is applied on top.
 */
export function initNetwork(spec: ModelSpec, rng: Rng): Network {
  const { geometry, names } = modelGeometry(spec);
  const layers = geometry.map((g) => {
    const shape = internalWeightShape(g);
    const fanIn = g.kind === 'dense' ? shapeSize(g.inShape) : g.inShape[0] * g.kernel * g.kernel;
    const bound = 1 / Math.sqrt(fanIn);
    const draw = (n: number) => {
      const a = rng.uniforms(n);
      for (let i = 0; i < n; i++) a[i] = (2 * a[i] - 1) * bound;
      return a;
    };
    return {
      weight: tf.tensor(draw(shapeSize(shape)), shape, 'float32'),
      bias: tf.tensor1d(draw(outShapeOf(g)[0]), 'float32'),
    };
  });
  return { spec, coding: codingOf(spec.states), noise: noiseOf(spec.noise), geometry, layers, layerNames: names };
}

/** One layer's weight in the external layout as a flat row-major array, with its shape, and its bias. */
export function externalLayer(net: Network, k: number): { shape: number[]; weight: Float32Array; bias: Float32Array } {
  const ext = toExternalWeight(net.geometry[k], net.layers[k].weight);
  const weight = ext.dataSync() as Float32Array;
  if (ext !== net.layers[k].weight) ext.dispose();
  return { shape: externalWeightShape(net.geometry[k]), weight, bias: net.layers[k].bias.dataSync() as Float32Array };
}

function nest(flat: ArrayLike<number>, shape: number[], offset = 0): unknown[] {
  if (shape.length === 1) return Array.from({ length: shape[0] }, (_, i) => flat[offset + i]);
  const stride = shapeSize(shape.slice(1));
  return Array.from({ length: shape[0] }, (_, i) => nest(flat, shape.slice(1), offset + i * stride));
}

/** Parameter values in the external layout (params files). */
export function networkValues(net: Network): LayerValues[] {
  return net.layers.map((_, k) => {
    const l = externalLayer(net, k);
    return { weight: nest(l.weight, l.shape), bias: Array.from(l.bias) };
  });
}

/** Flat vectors per layer: weight in the external layout, row-major, then the bias (CLI and paper layout). */
export function flatParameters(net: Network): Float64Array[] {
  return net.layers.map((_, k) => {
    const l = externalLayer(net, k);
    const out = new Float64Array(l.weight.length + l.bias.length);
    out.set(l.weight, 0);
    out.set(l.bias, l.weight.length);
    return out;
  });
}

/** Parameters as named tensors in the external layout (`<layer>.weight`, `<layer>.bias`): checkpoints. */
export function networkTensorMap(net: Network): Record<string, { shape: number[]; data: Float32Array }> {
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  net.layers.forEach((_, k) => {
    const l = externalLayer(net, k);
    out[`${net.layerNames[k]}.weight`] = { shape: l.shape, data: Float32Array.from(l.weight) };
    out[`${net.layerNames[k]}.bias`] = { shape: [l.bias.length], data: Float32Array.from(l.bias) };
  });
  return out;
}

/** Replace a network's parameters with named tensors (external layout), checking names and shapes. */
/**
 * What is wrong with a checkpoint's parameters for a model, or undefined: a tensor missing, or of another shape
 * (e.g. transposed), named as `params.<layer>.weight`. Checked before any of them is loaded.
 */
export function checkpointParamsProblem(
  spec: ModelSpec,
  params: Record<string, { shape: number[] } | undefined>,
): string | undefined {
  const { geometry, names } = modelGeometry(spec);
  for (let k = 0; k < geometry.length; k++) {
    const expected: Array<[string, number[]]> = [
      [`${names[k]}.weight`, externalWeightShape(geometry[k])],
      [`${names[k]}.bias`, [outShapeOf(geometry[k])[0]]],
    ];
    for (const [key, shape] of expected) {
      const found = params[key];
      if (!found) return `params.${key}: missing (model ${spec.name} expects a tensor [${shape.join(', ')}])`;
      if (found.shape.join() !== shape.join())
        return (
          `params.${key}: expected shape [${shape.join(', ')}] for model ${spec.name}, got ` +
          `[${found.shape.join(', ')}]`
        );
    }
  }
  return undefined;
}

export function loadTensorMap(net: Network, map: Record<string, { shape: number[]; data: Float32Array }>): void {
  net.layers.forEach((layer, k) => {
    const name = net.layerNames[k];
    const w = map[`${name}.weight`];
    const b = map[`${name}.bias`];
    const shape = externalWeightShape(net.geometry[k]);
    if (!w || !b || w.shape.join() !== shape.join() || b.shape.join() !== String(outShapeOf(net.geometry[k])[0])) {
      throw new ShapeError(
        `params.${name}`,
        `expected ${name}.weight [${shape.join(', ')}] and ` +
          `${name}.bias [${outShapeOf(net.geometry[k])[0]}] in the checkpoint`,
      );
    }
    const external = tf.tensor(w.data, w.shape, 'float32');
    const weight = toInternalWeight(net.geometry[k], external);
    if (weight !== external) external.dispose();
    layer.weight.dispose();
    layer.bias.dispose();
    layer.weight = weight;
    layer.bias = tf.tensor1d(b.data, 'float32');
  });
}

export function disposeNetwork(net: Network): void {
  for (const l of net.layers) {
    l.weight.dispose();
    l.bias.dispose();
  }
}
