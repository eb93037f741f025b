// Rules JSON Schema cannot say (or cannot say clearly). They run on the raw value even when schema errors
// exist elsewhere, so they check the shape of whatever they read.
import { defaultLayerName, inferGeometry } from './geometry';
import { LR_GRID_DEFAULTS, LR_SEARCH_DEFAULTS } from './model';
import { type Problem, type Segment, type SourceMap } from './sourceMap';
import { isCount, isObject, wellFormedLayers, wellFormedShape } from './wellFormed';
import { TRAIN_ESTIMATOR_CHOICES } from '../../estimators';

/** What train.estimator may name (the schema's enum: test/unit/estimatorNames.test.ts). */
const ESTIMATOR_CHOICES: ReadonlySet<string> = new Set(TRAIN_ESTIMATOR_CHOICES);

type At = (path: Segment[], message: string, spanPath?: Segment[]) => void;

export function checkSemantics(value: unknown, map: SourceMap): Problem[] {
  if (!isObject(value)) return [];
  const problems: Problem[] = [];
  const at: At = (path, message, spanPath = path) => problems.push({ path, span: map.locate(spanPath), message });

  const output = value.output;
  if (isObject(output) && Number.isInteger(output.units)) {
    const units = output.units as number;
    if (output.loss === 'logistic' && units !== 1) {
      at(
        ['output', 'units'],
        `expected 1 unit for loss "logistic" (labels ±1), got ${units}; use loss "nll" for ${units} classes`,
      );
    } else if (output.loss === 'nll' && units < 2) {
      at(
        ['output', 'units'],
        `expected at least 2 units for loss "nll" (one per class), got ${units}; ` +
          'use loss "logistic" for a binary output',
      );
    }
  }

  if (Array.isArray(value.layers)) {
    const firstUse = new Map<string, number>();
    value.layers.forEach((layer, i) => {
      if (!isObject(layer)) return;
      const explicit = typeof layer.name === 'string';
      const name = explicit
        ? (layer.name as string)
        : defaultLayerName(typeof layer.type === 'string' ? layer.type : 'layer', i);
      const path: Segment[] = explicit ? ['layers', i, 'name'] : ['layers', i];
      const first = firstUse.get(name);
      if (first !== undefined) at(path, `duplicate layer name "${name}" (already used by layers[${first}])`);
      else firstUse.set(name, i);
    });
  }

  const shape = wellFormedShape(isObject(value.input) ? value.input.shape : undefined);
  if (shape && Array.isArray(value.layers)) checkShapes(shape, value.layers, at);
  if (isObject(value.data)) checkData(value.data, shape, at);
  const validation = isObject(value.data) ? value.data.validation : undefined;
  if (isObject(value.train)) checkTrain(value.train, typeof validation === 'number' && validation > 0, at);
  if (isObject(value.train)) checkAuto(value.train, isObject(value.diagnostics) ? value.diagnostics : {}, at);
  return problems;
}

/** Shape inference through the layers, up to the first layer the schema rejects (it reports that one). */
function checkShapes(shape: number[], rawLayers: unknown[], at: At): void {
  const { issue } = inferGeometry(shape, wellFormedLayers(rawLayers));
  if (issue) at(['layers', issue.index, issue.field], issue.message);
}

function checkData(data: Record<string, unknown>, shape: number[] | undefined, at: At): void {
  // cifar10 without a path is looked for in the data-set stores (src/engine/data/store.ts)
  if (data.dataset === 'file' && data.path === undefined) {
    const what = 'a .json or .csv file of features and labels, or a folder of IDX files';
    at(
      ['data', 'path'],
      `missing required key "path" for dataset "${data.dataset}" (${what}, relative to the model file)`,
      ['data', 'dataset'],
    );
  }
  const v = data.validation;
  if (typeof v === 'number' && v > 1 && !Number.isInteger(v)) {
    at(['data', 'validation'], `expected a count (a whole number ≥ 1) or a fraction below 1, got ${v}`);
  }
  if (data.augment === 'flipcrop' && shape?.length === 1) {
    at(
      ['data', 'augment'],
      `augment "flipcrop" flips and crops images: it needs input.shape [channels, height, width], got [${shape[0]}]`,
    );
  }
}

/** `estimator: auto` (docs/math.md §3.9): its settings, and the diagnostics it chooses from. */
function checkAuto(train: Record<string, unknown>, diagnostics: Record<string, unknown>, at: At): void {
  if (train.estimator !== 'auto') {
    if (train.auto !== undefined && typeof train.estimator === 'string')
      at(['train', 'auto'], `auto applies to estimator "auto" only (the estimator is "${train.estimator}"); remove it`);
    return;
  }
  if (diagnostics.interval === 0)
    at(
      ['diagnostics', 'interval'],
      'estimator "auto" chooses from the gradient diagnostics: expected an interval ≥ 1 (or none: 100 steps), got 0',
    );
  const candidates = isObject(train.auto) && Array.isArray(train.auto.candidates) ? train.auto.candidates : [];
  const samples = train.samples ?? 1;
  if (candidates.includes('reinforce') && typeof samples === 'number' && samples < 2)
    at(
      ['train', 'auto', 'candidates'],
      'candidate "reinforce" trains with the leave-one-out baseline the diagnostics measure, ' +
        'which needs samples ≥ 2; ' +
        `set train.samples to 2 or more (it is ${samples}${train.samples === undefined ? ' by default' : ''})`,
    );
}

/** hasValidation: the data hold out a validation split (the grid search judges its trials there). */
function checkTrain(train: Record<string, unknown>, hasValidation: boolean, at: At): void {
  const estimator =
    typeof train.estimator === 'string' && ESTIMATOR_CHOICES.has(train.estimator) ? train.estimator : undefined;
  const withTau = ['concrete', 'gumbel-st', 'gumbel-rao'];
  if (estimator !== undefined && !withTau.includes(estimator) && train.tau !== undefined) {
    at(['train', 'tau'], `tau applies to ${withTau.join(', ')} only (the estimator is "${estimator}"); remove it`);
  }
  if (estimator !== undefined && estimator !== 'tanh' && train.activation !== undefined) {
    at(['train', 'activation'], `activation applies to tanh only (the estimator is "${estimator}"); remove it`);
  }
  if (estimator !== undefined && estimator !== 'gumbel-rao' && train.k !== undefined) {
    at(['train', 'k'], `k applies to gumbel-rao only (the estimator is "${estimator}"); remove it`);
  }
  const baselineMisplaced = estimator !== undefined && estimator !== 'reinforce' && train.baseline !== undefined;
  if (baselineMisplaced)
    at(['train', 'baseline'], `baseline applies to reinforce only (the estimator is "${estimator}"); remove it`);
  if (train.baseline === 'loo' && !baselineMisplaced) {
    if (train.samples === undefined) {
      at(
        ['train', 'baseline'],
        'baseline "loo" (leave-one-out) needs samples ≥ 2, but samples is 1 by default; set "samples" to 2 or more',
      );
    } else if (isCount(train.samples, 1) && train.samples < 2) {
      at(['train', 'samples'], `baseline "loo" (leave-one-out) needs samples ≥ 2, got ${train.samples}`);
    }
  }

  const lr = train.lr;
  if (isObject(lr) && isObject(lr.search)) {
    const s = lr.search;
    const min = s.min === undefined ? LR_SEARCH_DEFAULTS.min : s.min;
    const max = s.max === undefined ? LR_SEARCH_DEFAULTS.max : s.max;
    if (typeof min === 'number' && typeof max === 'number' && min >= max) {
      const shown = (key: 'min' | 'max', n: number) => `${key} ${n}${s[key] === undefined ? ' (the default)' : ''}`;
      const key = s.max !== undefined && s.min === undefined ? 'max' : 'min';
      at(
        ['train', 'lr', 'search', key],
        `expected min < max (bounds of log10(lr)), got ${shown('min', min)} and ${shown('max', max)}`,
      );
    }
  } else if (isObject(lr) && isObject(lr.grid)) {
    const g = lr.grid;
    const min = g.min === undefined ? LR_GRID_DEFAULTS.min : g.min;
    const max = g.max === undefined ? LR_GRID_DEFAULTS.max : g.max;
    if (typeof min === 'number' && typeof max === 'number' && min > max) {
      const shown = (key: 'min' | 'max', n: number) => `${key} ${n}${g[key] === undefined ? ' (the default)' : ''}`;
      const key = g.max !== undefined && g.min === undefined ? 'max' : 'min';
      at(
        ['train', 'lr', 'grid', key],
        `expected min ≤ max (ends of the log10(lr) grid), got ${shown('min', min)} and ${shown('max', max)}`,
      );
    }
    if (!hasValidation)
      at(
        ['train', 'lr', 'grid'],
        'the grid search picks the rate by the validation u_loss: set data.validation (e.g. 5000 or 0.1)',
      );
  } else if (
    isObject(lr) &&
    lr.schedule === 'cosine' &&
    typeof lr.min === 'number' &&
    typeof lr.base === 'number' &&
    lr.min > lr.base
  ) {
    at(
      ['train', 'lr', 'min'],
      `the cosine schedule decays from base to min: expected min ≤ base (${lr.base}), got ${lr.min}`,
    );
  }
}
