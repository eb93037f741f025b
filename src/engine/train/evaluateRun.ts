// Evaluation of a finished (or stopped) run folder: accuracy as a function of the number of SBN samples
// (docs/math.md §4.7) and the §4.6 metrics, from a checkpoint; shared by `sbn eval` and the extension.
import * as path from 'node:path';
import { checkpointPath, RunStore, type Checkpoint } from '../runs';
import { nonFiniteParameter } from './recovery';
import { checkpointParamsProblem, initNetwork, loadTensorMap, disposeNetwork } from '../network';
import { Rng } from '../rng';
import { writeFileAtomic } from '../files';
import { accuracyVsSamples, evaluateSplit, type SbnMetrics } from './evaluate';
import { ConfigError, loadRunData, readRunConfig, type RunConfig } from './session';

export interface RunEvaluation {
  model: string;
  estimator: string;
  split: 'test' | 'validation' | 'train';
  examples: number;
  step: number;
  epoch: number;
  samples: number;
  /** accuracy[s − 1] = accuracy of the mean of the first s predictive distributions */
  accuracy: number[];
  metrics: SbnMetrics;
  seconds: number;
  file: string;
}

/**
 * `auto` evaluates the test split, or the validation split when the data set has no test split, or the training
 * split.
 */
export function evaluateRun(
  runDir: string,
  samples: number,
  requested: RunEvaluation['split'] | 'auto',
  seed = 1,
  checkpoint: 'latest' | number = 'latest',
): RunEvaluation {
  let cp: Checkpoint;
  try {
    RunStore.info(runDir);
  } catch (e) {
    throw new ConfigError(`${runDir}: not a run folder (${(e as Error).message})`);
  }
  const config: RunConfig = readRunConfig(runDir);
  try {
    cp = RunStore.readCheckpoint(runDir, checkpoint);
  } catch (e) {
    throw new ConfigError(`${runDir}: no checkpoint to evaluate (${(e as Error).message})`);
  }
  const nonFinite = nonFiniteParameter(cp);
  if (nonFinite)
    throw new ConfigError(
      `${checkpointPath(runDir, checkpoint)}: ${nonFinite}: a damaged checkpoint cannot be evaluated`,
    );
  const wrong = checkpointParamsProblem(config.model, cp.params);
  if (wrong) throw new ConfigError(`${checkpointPath(runDir, checkpoint)}: ${wrong}`);
  const data = loadRunData(config, path.join(runDir, 'config.json'));
  const split: RunEvaluation['split'] =
    requested !== 'auto' ? requested : data.test ? 'test' : data.validation ? 'validation' : 'train';
  const target = split === 'test' ? data.test : split === 'validation' ? data.validation : data.train;
  if (!target) throw new ConfigError(`${runDir}: the run's data set has no ${split} split`);
  const net = initNetwork(config.model, new Rng(0));
  const started = Date.now();
  try {
    loadTensorMap(net, cp.params);
    const accuracy = accuracyVsSamples(net, target, samples, new Rng(seed));
    const metrics = evaluateSplit(net, target, Math.min(samples, 10), new Rng(seed + 1));
    const file = path.join(runDir, `eval-${split}.json`);
    const result: RunEvaluation = {
      model: config.model.name,
      estimator: config.train.estimator,
      split,
      examples: target.n,
      step: cp.step,
      epoch: cp.epoch,
      samples,
      accuracy,
      metrics,
      seconds: (Date.now() - started) / 1000,
      file,
    };
    writeFileAtomic(file, JSON.stringify(result, null, 1) + '\n');
    return result;
  } finally {
    disposeNetwork(net);
  }
}

/** The sample counts worth showing: powers of two up to `samples`. */
export function shownSampleCounts(samples: number): number[] {
  const out: number[] = [];
  for (let s = 1; s <= samples; s *= 2) out.push(s);
  if (out[out.length - 1] !== samples) out.push(samples);
  return out;
}
