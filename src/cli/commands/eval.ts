// `sbn eval <run>`: test accuracy of a trained run as a function of the number of SBN samples (docs/math.md §4.7).
import { ConfigError } from '../../engine/train/session';
import { evaluateRun, shownSampleCounts, type RunEvaluation } from '../../engine/train/evaluateRun';
import { startBackend } from '../backend';
import { CliError } from '../errors';
import { parsePositiveInt, parseSeed } from '../inputs';
import { out } from '../io';
import { log } from '../log';

export interface EvalOptions {
  samples: string;
  split: string;
  checkpoint: string;
  seed: string;
  backend?: string;
}

export async function evalCommand(runDir: string, o: EvalOptions): Promise<void> {
  const samples = parsePositiveInt(o.samples, '--samples');
  if (samples > 1024) throw new CliError('--samples: at most 1024');
  const seed = parseSeed(o.seed);
  if (!['test', 'validation', 'train'].includes(o.split))
    throw new CliError(`--split: expected test, validation or train, got "${o.split}"`);
  const checkpoint = o.checkpoint === 'latest' ? 'latest' : parsePositiveInt(o.checkpoint, '--checkpoint');
  const backend = await startBackend(o.backend);
  let r: RunEvaluation;
  try {
    r = evaluateRun(runDir, samples, o.split as RunEvaluation['split'], seed, checkpoint);
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(e.message);
    throw e;
  }
  const lines = [
    `${r.model} (${r.estimator}), checkpoint step ${r.step} epoch ${r.epoch}, ` +
      `${r.split} split (${r.examples} examples), backend ${backend.name}`,
    'samples  accuracy',
    ...shownSampleCounts(samples).map((s) => `${String(s).padStart(7)}  ${(100 * r.accuracy[s - 1]).toFixed(2)}%`),
    `u_loss ${r.metrics.u_loss.toFixed(4)}, acc1 ${(100 * r.metrics.acc1).toFixed(2)}%, ` +
      `acc_e(${r.metrics.samples}) ${(100 * r.metrics.acc_e).toFixed(2)}%, ` +
      `entropy ${r.metrics.entropy.toFixed(3)} bits`,
  ];
  out(lines.join('\n') + '\n');
  log(`${r.seconds.toFixed(1)} s; written to ${r.file}`);
}
