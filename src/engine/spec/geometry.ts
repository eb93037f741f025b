// Shapes through the layers of a model (docs/math.md §1.4, §4.2): what each layer takes and gives, its parameters
// and its stochastic binary units. Shapes are [features] or [channels, height, width] (channel-major); `dense` and
// the output layer flatten a [C, H, W] input implicitly, `conv` needs one.
// The one authority on shapes, without TensorFlow.js: the parser's checks, the editor's hovers and code lenses,
// the network's affine layers (modelGeometry) and the exact-enumeration cost all read them from here.
import type { LayerSpec, ModelSpec } from './types';

export interface LayerGeometry {
  /** Display name: the layer's own, else `dense<k>` / `conv<k>` / `flatten<k>`; `output` for the output layer. */
  name: string;
  type: 'dense' | 'conv' | 'flatten' | 'output';
  /** Index in model.layers; −1 for the output layer. */
  index: number;
  inShape: number[];
  outShape: number[];
  /** Trainable parameters (weights and biases). */
  params: number;
  /** Stochastic binary units (0 for flatten and the output layer). */
  binaryUnits: number;
}

/** A hidden layer that cannot take its input, and the key of the layer to blame. */
export interface ShapeIssue {
  index: number;
  field: 'type' | 'kernel';
  message: string;
}

/** Name of a hidden layer without an explicit one: `dense1`, `conv2`, … (k counts all hidden layers from 1). */
export function defaultLayerName(type: string, index: number): string {
  return `${type}${index + 1}`;
}

/** Output height (or width) of a convolution: ⌊(size + 2·padding − kernel) / stride⌋ + 1; < 1 means none. */
export function convOutputSize(size: number, kernel: number, stride: number, padding: number): number {
  return Math.floor((size + 2 * padding - kernel) / stride) + 1;
}

/** Number of values in a tensor of this shape (1 for a scalar). */
export function shapeSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function layerName(layer: LayerSpec, index: number): string {
  return layer.name ?? defaultLayerName(layer.type, index);
}

/**
 * Geometry of the hidden layers, in order, and then of the output layer (when `outputUnits` is given). Stops at
 * the first hidden layer that cannot take its input and returns the geometry so far with the issue; never throws.
 */
export function inferGeometry(
  inputShape: readonly number[],
  layers: readonly LayerSpec[],
  outputUnits?: number,
): { layers: LayerGeometry[]; issue?: ShapeIssue } {
  const out: LayerGeometry[] = [];
  let shape = [...inputShape];
  const source = (i: number): string => {
    if (i === 0) return `the model input (input.shape [${shape.join(', ')}])`;
    return `the output of layers[${i - 1}] "${layerName(layers[i - 1], i - 1)}"`;
  };
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i];
    const name = layerName(layer, i);
    const inShape = shape;
    if (layer.type === 'dense') {
      out.push({
        name,
        type: 'dense',
        index: i,
        inShape,
        outShape: [layer.units],
        params: (shapeSize(inShape) + 1) * layer.units,
        binaryUnits: layer.units,
      });
    } else if (layer.type === 'flatten') {
      if (inShape.length !== 3) {
        const issue = {
          index: i,
          field: 'type' as const,
          message:
            `flatten needs a [channels, height, width] input, but ${source(i)} is already flat ` +
            `(${shapeSize(inShape)} values); remove this layer`,
        };
        return { layers: out, issue };
      }
      out.push({ name, type: 'flatten', index: i, inShape, outShape: [shapeSize(inShape)], params: 0, binaryUnits: 0 });
    } else {
      if (inShape.length !== 3) {
        const hint =
          i === 0
            ? 'give input.shape as [channels, height, width], e.g. [1, 28, 28]'
            : 'conv layers go before dense and flatten layers';
        const issue = {
          index: i,
          field: 'type' as const,
          message:
            `conv needs a [channels, height, width] input, but ${source(i)} is a flat vector of ` +
            `${shapeSize(inShape)} values; ${hint}`,
        };
        return { layers: out, issue };
      }
      const [c, h, w] = inShape;
      const stride = layer.stride ?? 1;
      const padding = layer.padding ?? 0;
      const oh = convOutputSize(h, layer.kernel, stride, padding);
      const ow = convOutputSize(w, layer.kernel, stride, padding);
      if (oh < 1 || ow < 1) {
        const issue = {
          index: i,
          field: 'kernel' as const,
          message:
            `conv output would be ${Math.max(0, oh)}×${Math.max(0, ow)}: ` +
            `input ${h}×${w}, kernel ${layer.kernel}, padding ${padding}` +
            (stride !== 1 ? `, stride ${stride}` : ''),
        };
        return { layers: out, issue };
      }
      out.push({
        name,
        type: 'conv',
        index: i,
        inShape,
        outShape: [layer.filters, oh, ow],
        params: layer.filters * (c * layer.kernel * layer.kernel + 1),
        binaryUnits: layer.filters * oh * ow,
      });
    }
    shape = out[out.length - 1].outShape;
  }
  if (outputUnits !== undefined) {
    out.push({
      name: 'output',
      type: 'output',
      index: -1,
      inShape: shape,
      outShape: [outputUnits],
      params: (shapeSize(shape) + 1) * outputUnits,
      binaryUnits: 0,
    });
  }
  return { layers: out };
}

/**
 * Geometry of every layer of a model: the hidden layers in order, then the output layer (index −1). Throws only
 * for a model that parseModelText would have rejected (a conv without a [C, H, W] input, an empty conv output).
 */
export function layerGeometry(model: ModelSpec): LayerGeometry[] {
  const { layers, issue } = inferGeometry(model.input.shape, model.layers, model.output.units);
  if (issue) throw new Error(`layers[${issue.index}].${issue.field}: ${issue.message}`);
  return layers;
}

/** A dense layer as the estimators see it: flatten layers fold into the next dense layer. */
export interface DenseGeometry {
  kind: 'dense';
  /** Per-example input shape: [n] or [C, H, W] (flattened channel-major). */
  inShape: number[];
  units: number;
}

export interface ConvGeometry {
  kind: 'conv';
  /** [C, H, W] */
  inShape: number[];
  filters: number;
  kernel: number;
  stride: number;
  padding: number;
  /** [filters, H', W'] */
  outShape: number[];
}

export type AffineGeometry = DenseGeometry | ConvGeometry;

export function outShapeOf(g: AffineGeometry): number[] {
  return g.kind === 'dense' ? [g.units] : g.outShape;
}

/** Stochastic binary units (or output units) of an affine layer. */
export function unitsOf(g: AffineGeometry): number {
  return shapeSize(outShapeOf(g));
}

/** Internal parameter shape. */
export function internalWeightShape(g: AffineGeometry): number[] {
  return g.kind === 'dense' ? [g.units, shapeSize(g.inShape)] : [g.kernel, g.kernel, g.inShape[0], g.filters];
}

/** External (file) parameter shape: [out, in] or [out, in, K, K]. */
export function externalWeightShape(g: AffineGeometry): number[] {
  return g.kind === 'dense' ? [g.units, shapeSize(g.inShape)] : [g.filters, g.inShape[0], g.kernel, g.kernel];
}

/**
 * The affine layers of a model (hidden dense/conv layers in order, then the output layer) with their display
 * names, read off inferGeometry: flatten layers have no parameters, and the next dense layer flattens their input.
 * `issue` is set (and the layers stop there) for a model that parseModelText would have rejected.
 */
export function affineGeometry(model: ModelSpec): { geometry: AffineGeometry[]; names: string[]; issue?: ShapeIssue } {
  const { layers, issue } = inferGeometry(model.input.shape, model.layers, model.output.units);
  const geometry: AffineGeometry[] = [];
  const names: string[] = [];
  // A flatten layer's [C, H, W] input goes on unchanged: the dense layer after it flattens it channel-major.
  let flattened: number[] | undefined;
  for (const g of layers) {
    if (g.type === 'flatten') {
      flattened = g.inShape;
      continue;
    }
    const inShape = [...(flattened ?? g.inShape)];
    flattened = undefined;
    const layer = g.index >= 0 ? model.layers[g.index] : undefined;
    if (layer?.type === 'conv') {
      geometry.push({
        kind: 'conv',
        inShape,
        filters: layer.filters,
        kernel: layer.kernel,
        stride: layer.stride ?? 1,
        padding: layer.padding ?? 0,
        outShape: g.outShape,
      });
    } else {
      geometry.push({ kind: 'dense', inShape, units: g.outShape[0] });
    }
    names.push(g.name);
  }
  return issue ? { geometry, names, issue } : { geometry, names };
}

/** A model whose shapes do not fit; `field` names the layer (`layers[k]`). */
export class ShapeError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** affineGeometry of a model that parseModelText accepted; throws a ShapeError for one it would have rejected. */
export function modelGeometry(model: ModelSpec): { geometry: AffineGeometry[]; names: string[] } {
  const { geometry, names, issue } = affineGeometry(model);
  if (issue) throw new ShapeError(`layers[${issue.index}]`, issue.message);
  return { geometry, names };
}
