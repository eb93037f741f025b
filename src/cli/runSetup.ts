// What a training run needs besides the network: the resolved configuration (written to config.json and
// read back on resume) and the data it names.
import * as path from 'node:path';
import type { ModelSpec, TrainSpec } from '../engine/spec';
import { DataError, loadDataset, type LoadedData } from '../engine/data';
import { resolveTrainSpec, type ResolvedTrainSpec } from '../engine/train/trainer';
import { CliError, fieldError } from './errors';

export interface RunConfig {
  format: 'sbn-run-config';
  version: 1;
  model: ModelSpec;
  train: ResolvedTrainSpec;
  /** Absolute path of the model file the run started from, and the folder its data paths are relative to. */
  modelFile: string;
  baseDir: string;
}

export function runConfig(model: ModelSpec, modelFile: string, overrides: Partial<TrainSpec>): RunConfig {
  if (!model.train) throw fieldError(modelFile, 'train', 'the model file has no train section (estimator, lr, epochs, …) — see examples/');
  if (!model.data) throw fieldError(modelFile, 'data', 'the model file has no data section (dataset, …) — see examples/');
  const train = resolveTrainSpec({ ...model.train, ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) });
  if (train.baseline === 'loo' && train.samples < 2) throw fieldError(modelFile, 'train.samples', 'the loo baseline needs at least 2 samples per example');
  return {
    format: 'sbn-run-config', version: 1, model: { ...model, train }, train,
    modelFile: path.resolve(modelFile), baseDir: path.dirname(path.resolve(modelFile)),
  };
}

export function loadRunData(config: RunConfig, sourceName: string): LoadedData {
  const model = config.model;
  try {
    return loadDataset(model.data!, {
      baseDir: config.baseDir, inputShape: model.input.shape, loss: model.output.loss, classes: model.output.units,
    });
  } catch (e) {
    if (e instanceof DataError) throw new CliError(`${sourceName}: ${e.message}`);
    throw e;
  }
}
