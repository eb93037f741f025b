// `sbn train`: a training run with a progress bar, Ctrl-C to stop cleanly, and a summary at the end.
import * as fs from 'node:fs';
import { SingleBar, Presets } from 'cli-progress';
import * as os from 'node:os';
import { formatPath } from '../../engine/spec/sourceMap';
import { memoryProblem, trainMaximum, type ModelSpec, type TrainSpec } from '../../engine/spec';
import { RunStore } from '../../engine/runs';
import {
  ConfigError,
  describeResume,
  resumeSession,
  runSession,
  startSession,
  type Session,
} from '../../engine/train/session';
import type { StepEvent } from '../../engine/train/trainer';
import { startBackend } from '../backend';
import { CliError, fileSystemProblem } from '../errors';
import { loadModel, parseEstimatorName, parsePositiveInt, parsePositiveNumber, parseSeed } from '../inputs';
import { out } from '../io';
import { log } from '../log';
import { listenForStop } from '../stopSignal';
import { formatSummary } from '../format';
import { prepareOutputFolder } from '../outputs';

export interface TrainCliOptions {
  epochs?: string;
  estimator?: string;
  lr?: string;
  batchSize?: string;
  seed?: string;
  samples?: string;
  out: string;
  resume?: string;
  startOver?: boolean;
  backend?: string;
  progress: boolean;
}

function overridesOf(o: TrainCliOptions): Partial<TrainSpec> {
  // `auto` is not an estimator of its own but a choice among them per layer (docs/math.md §3.9)
  const estimator =
    o.estimator === undefined ? undefined : o.estimator === 'auto' ? 'auto' : parseEstimatorName(o.estimator);
  if (estimator === 'exact')
    throw new CliError('--estimator: exact enumeration is a reference, not a training estimator');
  return {
    estimator: estimator,
    epochs: o.epochs === undefined ? undefined : parsePositiveInt(o.epochs, '--epochs', trainMaximum('epochs')),
    lr: o.lr === undefined ? undefined : o.lr === 'search' ? 'search' : parsePositiveNumber(o.lr, '--lr'),
    batchSize: o.batchSize === undefined ? undefined : parsePositiveInt(o.batchSize, '--batch-size'),
    seed: o.seed === undefined ? undefined : parseSeed(o.seed),
    samples: o.samples === undefined ? undefined : parsePositiveInt(o.samples, '--samples', trainMaximum('samples')),
  };
}

/** The model file's memory check (done when it was read) again with the command line's overrides. */
function checkMemory(modelFile: string, model: ModelSpec, overrides: Partial<TrainSpec>): void {
  if (!model.train) return;
  const given = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const problem = memoryProblem({ ...model, train: { ...model.train, ...given } }, os.totalmem());
  if (!problem) return;
  const key = problem.path[0] === 'train' ? String(problem.path[1]) : undefined;
  const flag =
    key !== undefined && key in given ? `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` : undefined;
  throw new CliError(
    flag ? `${flag}: ${problem.message}` : `${modelFile}: ${formatPath(problem.path)}: ${problem.message}`,
  );
}

/** What a resume after a write failure continues from: the last checkpoint, which atomic writes keep intact. */
function lastCheckpointNote(dir: string): string {
  try {
    const cp = RunStore.readCheckpoint(dir);
    return `the run's last checkpoint (step ${cp.step}, epoch ${cp.epoch.toFixed(2)}) stays valid`;
  } catch {
    return 'the run has no checkpoint yet, so a resume starts it from step 0';
  }
}

export function versions(): Record<string, string> {
  const read = (name: string) => {
    try {
      const file = require.resolve(`${name}/package.json`);
      return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
    } catch {
      return 'unknown';
    }
  };
  return { node: process.version, tfjs: read('@tensorflow/tfjs'), sbn: process.env.SBN_VERSION ?? '0.1.0' };
}

export function checkpointSeconds(): number {
  const raw = process.env.SBN_CHECKPOINT_SECONDS;
  if (raw === undefined || raw === '') return 120;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < 0)
    throw new CliError(`SBN_CHECKPOINT_SECONDS: expected a number of seconds ≥ 0, got "${raw}"`);
  return v;
}

export async function trainCommand(modelFile: string | undefined, o: TrainCliOptions): Promise<void> {
  // first, so that a Ctrl-C while the backend starts or the data loads stops the run instead of killing the process
  const stop = listenForStop('second Ctrl-C: exiting at once, without a new checkpoint');
  let session: Session;
  let backendName: string;
  let checkpointEvery: number;
  try {
    // everything the user can get wrong is checked before a run folder exists
    checkpointEvery = checkpointSeconds();
    if (o.resume) {
      const ignored = [
        modelFile && 'a model file',
        o.estimator && '--estimator',
        o.lr && '--lr',
        o.batchSize && '--batch-size',
        o.seed && '--seed',
        o.samples && '--samples',
      ].filter(Boolean);
      if (ignored.length)
        throw new CliError(
          '--resume: a resumed run keeps its configuration; only --epochs, --start-over and --backend may be given ' +
            `(got ${ignored.join(', ')})`,
        );
      const epochs =
        o.epochs === undefined ? undefined : parsePositiveInt(o.epochs, '--epochs', trainMaximum('epochs'));
      const backend = await startBackend(o.backend);
      backendName = backend.name;
      const resumed = resumeSession(o.resume, { epochs, backend: backend.name, startOver: o.startOver });
      session = resumed;
      for (const w of resumed.warnings) log(`warning: ${w}`);
      log(`resuming ${resumed.store.dir} ${resumed.note}`);
    } else {
      if (o.startOver) throw new CliError('--start-over: only with --resume <run folder>');
      if (!modelFile) throw new CliError('train: give a model file, or --resume <run folder>');
      const model = loadModel(modelFile);
      const overrides = overridesOf(o);
      checkMemory(modelFile, model, overrides);
      prepareOutputFolder(o.out, '--out');
      const backend = await startBackend(o.backend);
      backendName = backend.name;
      session = startSession(modelFile, fs.readFileSync(modelFile, 'utf8'), model, overrides, o.out, {
        backend: backend.name,
        backendDetail: backend.detail,
        versions: versions(),
      });
      log(`run ${session.store.dir}`);
    }
  } catch (e) {
    stop.dispose();
    if (e instanceof ConfigError) throw new CliError(e.message);
    throw e;
  }
  const { config, data, store } = session;
  stop.onExit(() => {
    if (!store.isOpen) return; // the run has already recorded how it ended
    store.setStatus('stopped', `exited on a second Ctrl-C; ${describeResume(store.dir)}`);
    store.close();
  });
  log(
    `${config.train.estimator} on ${data.name} ` +
      `(${data.train.n} training, ${data.validation?.n ?? 0} validation, ${data.test?.n ?? 0} test examples), ` +
      `${config.train.epochs} epochs of batch ${config.train.batchSize}`,
  );

  const bar =
    o.progress && process.stderr.isTTY
      ? new SingleBar(
          {
            format:
              'epoch {ep} |{bar}| {percentage}% | step {value}/{total} | loss {loss} | val acc {acc} | ' +
              '{rate} samples/s | ETA {eta_formatted}',
            hideCursor: true,
            clearOnComplete: false,
            etaBuffer: 50,
            stream: process.stderr,
          },
          Presets.shades_classic,
        )
      : undefined;
  let lastAcc = '—';
  let started = false;
  const onStep = (e: StepEvent) => {
    const payload = {
      ep: `${Math.min(Math.ceil(e.epoch), config.train.epochs)}/${config.train.epochs}`,
      loss: e.loss.toFixed(4),
      acc: lastAcc,
      rate: e.samplesPerSecond.toFixed(0),
    };
    if (bar) {
      if (!started) {
        bar.start(e.totalSteps, e.step, payload);
        started = true;
      } else bar.update(e.step, payload);
    } else if (e.step % (config.train.logInterval * 10) === 0) {
      log(
        `step ${e.step}/${e.totalSteps} epoch ${e.epoch.toFixed(2)} loss ${e.loss.toFixed(4)} ` +
          `${e.samplesPerSecond.toFixed(0)} samples/s`,
      );
    }
  };
  try {
    const { result, summary } = await runSession(session, backendName, {
      shouldStop: stop.requested,
      // how often a mid-epoch checkpoint is written at a log point (epoch ends and stops always write one)
      checkpointSeconds: checkpointEvery,
      events: {
        step: onStep,
        eval: (e) => {
          if (e.split === 'validation' || (e.split === 'train' && !data.validation))
            lastAcc = `${(100 * e.acc_e).toFixed(2)}%`;
          if (!bar)
            log(
              `eval ${e.split} epoch ${e.epoch.toFixed(2)}: u_loss ${e.u_loss.toFixed(4)} ` +
                `acc1 ${(100 * e.acc1).toFixed(2)}% acc_e ${(100 * e.acc_e).toFixed(2)}%`,
            );
        },
        lrTrial: (e) =>
          log(`lr trial ${e.trial}: lr ${e.lr.toExponential(2)} → ${e.diverged ? 'diverged' : e.objective.toFixed(4)}`),
        message: (m) => log(m),
      },
    });
    bar?.stop();
    if (result.status === 'stopped' && result.message) log(result.message);
    out(formatSummary(summary));
    if (result.status === 'diverged') throw new CliError(result.message ?? 'training diverged', 1);
  } catch (e) {
    // A full disk, a lost permission… while the run writes: checkpoints are written atomically, so the last one
    // is intact and a resume continues from it.
    const p = fileSystemProblem(e);
    if (p) {
      const dir = session.store.dir;
      const where = p.path ?? dir;
      throw new CliError(
        `${where}: cannot write: ${p.what.replace(/; .*$/, '')} (${p.code}); ${lastCheckpointNote(dir)}: fix this, then continue with sbn train --resume ${dir}`,
      );
    }
    throw e;
  } finally {
    bar?.stop();
    stop.dispose();
  }
}
