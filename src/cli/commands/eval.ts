// `sbn eval <run>`: test accuracy of a trained run as a function of the number of SBN samples (spec §4.7).
import * as path from 'node:path';
import { RunStore, readConfig, type Checkpoint } from '../../engine/runs';
import { initNetwork, loadTensorMap, disposeNetwork } from '../../engine/network';
import { accuracyVsSamples, evaluateSplit } from '../../engine/train/evaluate';
import { Rng } from '../../engine/rng';
import { writeFileAtomic } from '../../engine/files';
import { startBackend } from '../backend';
import { CliError } from '../errors';
import { parsePositiveInt, parseSeed } from '../inputs';
import { log } from '../log';
import { ConfigError, loadRunData, type RunConfig } from '../../engine/train/session';

export interface EvalOptions { samples: string; split: string; checkpoint: string; seed: string; backend?: string }

export async function evalCommand(runDir: string, o: EvalOptions): Promise<void> {
  const samples = parsePositiveInt(o.samples, '--samples');
  if (samples > 1024) throw new CliError('--samples: at most 1024');
  const seed = parseSeed(o.seed);
  if (!['test', 'validation', 'train'].includes(o.split)) throw new CliError(`--split: expected test, validation or train, got "${o.split}"`);
  let config: RunConfig;
  let cp: Checkpoint;
  try {
    RunStore.info(runDir);
    config = readConfig(runDir) as RunConfig;
  } catch (e) {
    throw new CliError(`${runDir}: not a run folder (${(e as Error).message})`);
  }
  try {
    cp = RunStore.readCheckpoint(runDir, o.checkpoint === 'latest' ? 'latest' : parsePositiveInt(o.checkpoint, '--checkpoint'));
  } catch (e) {
    throw new CliError(`${runDir}: no checkpoint to evaluate (${(e as Error).message})`);
  }
  let data;
  try {
    data = loadRunData(config, path.join(runDir, 'config.json'));
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(e.message);
    throw e;
  }
  const split = o.split === 'test' ? data.test : o.split === 'validation' ? data.validation : data.train;
  if (!split) throw new CliError(`--split: the run's data set has no ${o.split} split`);
  const backend = await startBackend(o.backend);
  const net = initNetwork(config.model, new Rng(0));
  loadTensorMap(net, cp.params);
  const started = Date.now();
  const accuracy = accuracyVsSamples(net, split, samples, new Rng(seed));
  const metrics = evaluateSplit(net, split, Math.min(samples, 10), new Rng(seed + 1));
  disposeNetwork(net);
  const seconds = (Date.now() - started) / 1000;
  const shown = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024].filter((s) => s <= samples);
  const lines = [
    `${config.model.name} (${config.train.estimator}), checkpoint step ${cp.step} epoch ${cp.epoch}, ${o.split} split (${split.n} examples), backend ${backend.name}`,
    'samples  accuracy',
    ...shown.map((s) => `${String(s).padStart(7)}  ${(100 * accuracy[s - 1]).toFixed(2)}%`),
    `u_loss ${metrics.u_loss.toFixed(4)}, acc1 ${(100 * metrics.acc1).toFixed(2)}%, acc_e(${metrics.samples}) ${(100 * metrics.acc_e).toFixed(2)}%, entropy ${metrics.entropy.toFixed(3)} bits`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  const out = path.join(runDir, `eval-${o.split}.json`);
  writeFileAtomic(out, JSON.stringify({ split: o.split, step: cp.step, epoch: cp.epoch, samples, accuracy, metrics, backend: backend.name, seconds }, null, 1) + '\n');
  log(`${seconds.toFixed(1)} s; written to ${out}`);
}
