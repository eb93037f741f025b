// loadDataset: the data section of a model file → checked, split, scaled float32 splits. The readers only
// read; this file decides what the model fields demand of the data and says which field to change.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DataSpec, OutputLoss } from '../spec/types';
import { readCifar10 } from './cifar10';
import { labelMap } from './labels';
import { missingDatasetMessage, readFashionMnist, readMnist } from './mnist';
import { scaleSplits } from './scale';
import { gather, splitIndices } from './split';
import { readToy2d } from './toy2d';
import { locateDataset } from './store';
import { DataError, DatasetMissingError, LoadedData, RawData, Split } from './types';
import { readUserFile } from './userFile';
import { shapeSize } from '../spec/geometry';

export interface LoadOptions {
  /** Folder that data.path is relative to (the model file's folder). */
  baseDir: string;
  /** The model's input.shape. */
  inputShape: number[];
  loss: OutputLoss;
  /** The model's output.units. */
  classes: number;
}

function resolvePath(spec: DataSpec, baseDir: string, required: string | undefined): string | undefined {
  if (spec.path === undefined) {
    if (required) throw new DataError('data.path', `data.path is required for dataset "${spec.dataset}": ${required}`);
    return undefined;
  }
  const resolved = path.resolve(baseDir, spec.path);
  if (!fs.existsSync(resolved))
    throw new DataError('data.path', `data.path "${spec.path}" resolves to ${resolved}, which does not exist`);
  return resolved;
}

function readRaw(spec: DataSpec, baseDir: string): RawData {
  switch (spec.dataset) {
    case 'mnist':
      return readMnist(resolvePath(spec, baseDir, undefined));
    case 'fashion-mnist':
      return readFashionMnist(resolvePath(spec, baseDir, undefined));
    case 'toy-2d':
      return readToy2d();
    case 'cifar10': {
      const dir = resolvePath(spec, baseDir, undefined) ?? locateDataset('cifar10')?.dir;
      if (!dir) throw new DatasetMissingError('cifar10', missingDatasetMessage('cifar10'));
      return readCifar10(dir);
    }
    case 'file':
      return readUserFile(resolvePath(spec, baseDir, 'a .json or .csv file or a folder of IDX files')!);
    default:
      throw new DataError('data.dataset', `unknown data.dataset "${spec.dataset as string}"`);
  }
}

/** input.shape fits when it is the data's own shape, or either side is flat and the feature counts agree. */
function checkShape(shape: number[], inputShape: number[], name: string): void {
  const features = shapeSize(shape);
  const fits =
    shapeSize(inputShape) === features &&
    (inputShape.length === 1 || shape.length === 1 || inputShape.join() === shape.join());
  if (!fits) {
    const options = shape.length > 1 ? `[${shape.join(', ')}] or [${features}]` : `[${features}]`;
    throw new DataError(
      'input.shape',
      `input.shape [${inputShape.join(', ')}] does not fit ${name}, whose examples are [${shape.join(', ')}]; ` +
        `use ${options}`,
    );
  }
}

export function loadDataset(spec: DataSpec, options: LoadOptions): LoadedData {
  const raw = readRaw(spec, options.baseDir);
  const name = spec.dataset === 'file' && spec.path ? path.basename(spec.path) : spec.dataset;
  checkShape(raw.shape, options.inputShape, name);
  if ((spec.augment ?? 'none') === 'flipcrop' && options.inputShape.length !== 3) {
    throw new DataError(
      'data.augment',
      'data.augment "flipcrop" needs images: input.shape must be [channels, height, width], ' +
        `got [${options.inputShape.join(', ')}]`,
    );
  }
  const labels = labelMap(
    [raw.train.y, ...(raw.test ? [raw.test.y] : [])],
    options.loss,
    options.classes,
    name,
    raw.classes,
  );

  const features = shapeSize(raw.shape);
  const idx = splitIndices(raw.train.n, spec.validation, spec.splitSeed ?? 1, spec.limit);
  const train = gather(raw.train, features, idx.train);
  const validation = idx.validation && gather(raw.train, features, idx.validation);
  const test = raw.test && gather(raw.test, features);
  const others = [validation, test].filter((s): s is Split => s !== undefined);
  for (const s of [train, ...others])
    s.y.forEach((v, i) => {
      s.y[i] = labels.map(v);
    });
  scaleSplits(train, others, spec.scale ?? 'unit', features);

  return { name, train, validation, test, inputShape: options.inputShape, classes: labels.classes, source: raw.source };
}
