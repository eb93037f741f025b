// The layer geometry that hovers and code lenses show: shapes, parameters and binary units per layer from
// src/engine/spec/geometry.ts, as far as the raw value describes its layers well enough.
import { inferGeometry } from '../../../engine/spec/geometry';
import type { LayerSpec, ModelSpec } from '../../../engine/spec/types';
import { isCount, wellFormedLayers, wellFormedShape } from '../../../engine/spec/wellFormed';
import { get, locate, type Context } from './context';
import type { LayerInfo, ModelAnalysis } from './types';

/** 12,345 */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

function describeLayer(layer: LayerSpec): string {
  switch (layer.type) {
    case 'dense':
      return `dense, ${count(layer.units)} unit${layer.units === 1 ? '' : 's'}`;
    case 'flatten':
      return 'flatten (channel-major)';
    case 'conv': {
      const parts = [
        `conv ${layer.kernel}×${layer.kernel}`,
        `${count(layer.filters)} filter${layer.filters === 1 ? '' : 's'}`,
      ];
      if ((layer.stride ?? 1) !== 1) parts.push(`stride ${layer.stride}`);
      if ((layer.padding ?? 0) !== 0) parts.push(`padding ${layer.padding}`);
      return parts.join(', ');
    }
  }
}

function describeOutput(units: number, loss: unknown): string {
  if (loss === 'logistic') return 'linear output, loss logistic (labels ±1)';
  if (loss === 'nll') return `linear output, loss nll (softmax over ${count(units)} classes)`;
  return 'linear output';
}

/** Geometry of the layers the raw value describes well enough, up to the first one it does not. */
export function geometryOf(ctx: Context, model: ModelSpec | undefined): Pick<ModelAnalysis, 'layers' | 'totals'> {
  const value = ctx.value;
  const shape = wellFormedShape(get(value, ['input', 'shape']));
  if (!shape) return {};
  const rawLayers = get(value, ['layers']);
  if (!Array.isArray(rawLayers)) return {};
  const specs = wellFormedLayers(rawLayers);
  const complete = specs.length === rawLayers.length && specs.length > 0;
  const outputUnits = get(value, ['output', 'units']);
  const result = inferGeometry(shape, specs, complete && isCount(outputUnits, 1) ? outputUnits : undefined);
  const layers: LayerInfo[] = [];
  for (const g of result.layers) {
    const range = g.index >= 0 ? locate(ctx, ['layers', g.index], 'value') : locate(ctx, ['output'], 'member');
    if (!range) continue;
    const description =
      g.index >= 0 ? describeLayer(specs[g.index]) : describeOutput(g.outShape[0], get(value, ['output', 'loss']));
    layers.push({ geometry: g, range, description });
  }
  const out: Pick<ModelAnalysis, 'layers' | 'totals'> = { layers };
  const last = result.layers[result.layers.length - 1];
  if (!result.issue && last?.type === 'output') {
    const name = model?.name ?? get(value, ['name']);
    out.totals = {
      name: typeof name === 'string' ? name : '',
      inShape: [...shape],
      outShape: last.outShape,
      params: result.layers.reduce((s, g) => s + g.params, 0),
      binaryUnits: result.layers.reduce((s, g) => s + g.binaryUnits, 0),
      hiddenLayers: specs.length,
    };
  }
  return out;
}
