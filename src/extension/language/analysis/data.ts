// Data problems: built-in data sets this machine lacks, data paths that do not exist, and valid models whose
// built-in data set will not fit them. Shapes and classes come from the data-set table (src/engine/data/builtIn.ts).
import * as nodePath from 'node:path';
import { BUILT_IN_DATASETS, type BuiltInDataset } from '../../../engine/data/builtIn';
import { shapeSize } from '../../../engine/spec/geometry';
import type { ModelSpec } from '../../../engine/spec/types';
import { isObject } from '../../../engine/spec/wellFormed';
import { get, locate, problemAt, replace, scalar, textAt, type Context } from './context';
import type { Problem } from './types';

/** The data sets whose shape and classes are fixed. */
const BUILT_IN: Readonly<Record<string, BuiltInDataset>> = BUILT_IN_DATASETS;

/** The fixed shape and classes of a built-in data set, undefined for anything else. */
export function builtInDataset(name: unknown): BuiltInDataset | undefined {
  return typeof name === 'string' && Object.hasOwn(BUILT_IN, name) ? BUILT_IN[name] : undefined;
}

/** How to get a built-in data set that is missing (Train offers the download; the CLI has `sbn data fetch`). */
export function datasetHelp(name: 'mnist' | 'fashion-mnist' | 'cifar10'): string {
  const fetch = `Train Model offers to download it (or run \`sbn data fetch ${name}\`)`;
  const extra =
    name === 'fashion-mnist'
      ? ', install it with `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu) or set SBN_FASHION_MNIST_DIR ' +
        'to a folder holding its 4 IDX files'
      : name === 'cifar10'
        ? ', or set data.path to the folder with its binary batches'
        : '';
  return `${fetch}${extra}; SBN: Show Environment lists where it was looked for`;
}

/** Data sets and data paths this machine lacks. Runs on the raw value, whatever else is wrong with the file. */
export function checkData(ctx: Context): Problem[] {
  const data = get(ctx.value, ['data']);
  if (!isObject(data)) return [];
  const { env } = ctx;
  const dataset = typeof data.dataset === 'string' ? data.dataset : undefined;
  if (typeof data.path === 'string' && data.path !== '') return checkDataPath(ctx, data.path, dataset);
  const missing =
    dataset === 'fashion-mnist'
      ? !env.fashionMnistAvailable()
      : dataset === 'mnist'
        ? env.mnistAvailable?.() === false
        : dataset === 'cifar10'
          ? env.cifar10Available?.() === false
          : false;
  if (missing) {
    return [
      problemAt(
        ctx,
        ['data', 'dataset'],
        'warning',
        'dataset-unavailable',
        `${dataset} is not on this machine: ${datasetHelp(dataset as 'mnist' | 'fashion-mnist' | 'cifar10')}`,
      ),
    ];
  }
  return [];
}

function checkDataPath(ctx: Context, dataPath: string, dataset: string | undefined): Problem[] {
  const { env, file } = ctx;
  const at = ['data', 'path'];
  const unchecked = (message: string) => [problemAt(ctx, at, 'information', 'path-unchecked', message)];
  const missing = (message: string) => [problemAt(ctx, at, 'warning', 'path-missing', message)];
  const fileIsAbsolute = nodePath.isAbsolute(file);
  if (!nodePath.isAbsolute(dataPath) && !fileIsAbsolute) {
    return unchecked(`data.path "${dataPath}" is relative to the model file; it is checked once the file is saved`);
  }
  const resolved = nodePath.resolve(fileIsAbsolute ? nodePath.dirname(file) : '/', dataPath);
  if (env.mayProbe && !env.mayProbe(resolved)) {
    return unchecked(
      `data.path "${dataPath}" resolves to ${resolved}, outside the workspace: not checked in Restricted Mode`,
    );
  }
  if (!env.fileExists(resolved)) {
    return missing(`data.path "${dataPath}" resolves to ${resolved}, which does not exist`);
  }
  if (dataset === 'cifar10') {
    const batch = 'data_batch_1.bin';
    if (
      !env.fileExists(nodePath.join(resolved, batch)) &&
      !env.fileExists(nodePath.join(resolved, 'cifar-10-batches-bin', batch))
    ) {
      return missing(
        `data.path "${dataPath}" resolves to ${resolved}, which has no ${batch}: ` +
          'expected the CIFAR-10 binary version ' +
          '(data_batch_1.bin … data_batch_5.bin and test_batch.bin, or the folder holding cifar-10-batches-bin)',
      );
    }
  }
  return [];
}

const shapeText = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

/** A valid model whose built-in data set will not fit it (what the trainer would refuse when loading the data). */
export function checkDataFit(ctx: Context, model: ModelSpec): Problem[] {
  const dataset = model.data?.dataset;
  const known = builtInDataset(dataset);
  if (dataset === undefined || known === undefined) return [];
  // MNIST and Fashion-MNIST read from data.path when it is given: the shape is then the files' own.
  const shapeKnown = model.data?.path === undefined || (dataset !== 'mnist' && dataset !== 'fashion-mnist');
  const out: Problem[] = [];
  const input = model.input.shape;
  const fits =
    shapeSize(input) === shapeSize(known.shape) &&
    (input.length === 1 || known.shape.length === 1 || input.join() === known.shape.join());
  if (shapeKnown && !fits) {
    const flat = [shapeSize(known.shape)];
    const options = known.shape.length > 1 ? `${shapeText(known.shape)} or ${shapeText(flat)}` : shapeText(flat);
    const suggestion = input.length === 1 || known.shape.length === 1 ? flat : known.shape;
    const range = locate(ctx, ['input', 'shape'], 'value');
    out.push(
      problemAt(
        ctx,
        ['input', 'shape'],
        'warning',
        'data-mismatch',
        `input.shape ${shapeText(input)} does not fit ${dataset}, whose examples are ${shapeText(known.shape)}; ` +
          `use ${options}`,
        range && {
          title: `Set input.shape to ${shapeText(suggestion)}`,
          edits: [replace(range, shapeText(suggestion))],
        },
      ),
    );
  }
  const { units, loss } = model.output;
  if (known.labels === 'classes' && loss === 'nll' && units !== known.classes) {
    const range = locate(ctx, ['output', 'units'], 'value');
    out.push(
      problemAt(
        ctx,
        ['output', 'units'],
        'warning',
        'data-mismatch',
        `output.units is ${units} but ${dataset} has ${known.classes} classes; set it to ${known.classes}`,
        range && { title: `Set output.units to ${known.classes}`, edits: [replace(range, String(known.classes))] },
      ),
    );
  }
  if (known.classes > 2 && loss === 'logistic') {
    const lossRange = locate(ctx, ['output', 'loss'], 'value');
    const unitsRange = locate(ctx, ['output', 'units'], 'value');
    const edits =
      lossRange && unitsRange
        ? [
            replace(lossRange, scalar(ctx, 'nll', textAt(ctx, lossRange))),
            replace(unitsRange, String(known.classes)),
          ].sort((a, b) => ctx.lines.offset(a.range.start) - ctx.lines.offset(b.range.start))
        : undefined;
    out.push(
      problemAt(
        ctx,
        ['output', 'loss'],
        'warning',
        'data-mismatch',
        `output.loss "logistic" is for 2 classes but ${dataset} has ${known.classes}; ` +
          `use "nll" with output.units ${known.classes}`,
        edits && { title: `Use loss "nll" with ${known.classes} output units`, edits },
      ),
    );
  }
  return out;
}
