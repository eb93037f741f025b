// Rules JSON Schema cannot say (or cannot say clearly). They run on the raw value even when schema errors
// exist elsewhere, so they check the shape of whatever they read.
import { defaultLayerName } from './model';
import { type Problem, type Segment, type SourceMap } from './sourceMap';

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function checkSemantics(value: unknown, map: SourceMap): Problem[] {
  if (!isObject(value)) return [];
  const problems: Problem[] = [];
  const at = (path: Segment[], message: string) => problems.push({ path, span: map.locate(path), message });

  const output = value.output;
  if (isObject(output) && Number.isInteger(output.units)) {
    const units = output.units as number;
    if (output.loss === 'logistic' && units !== 1) {
      at(['output', 'units'], `expected 1 unit for loss "logistic" (labels ±1), got ${units}; use loss "nll" for ${units} classes`);
    } else if (output.loss === 'nll' && units < 2) {
      at(['output', 'units'], `expected at least 2 units for loss "nll" (one per class), got ${units}; use loss "logistic" for a binary output`);
    }
  }

  if (Array.isArray(value.layers)) {
    const firstUse = new Map<string, number>();
    value.layers.forEach((layer, i) => {
      if (!isObject(layer)) return;
      const explicit = typeof layer.name === 'string';
      const name = explicit ? (layer.name as string) : defaultLayerName(typeof layer.type === 'string' ? layer.type : 'layer', i);
      const path: Segment[] = explicit ? ['layers', i, 'name'] : ['layers', i];
      const first = firstUse.get(name);
      if (first !== undefined) at(path, `duplicate layer name "${name}" (already used by layers[${first}])`);
      else firstUse.set(name, i);
    });
  }
  return problems;
}
