// A training session as the CLI and the extension's worker both run it: resolve the configuration (written
// to config.json and read back on resume), load the data it names, create or reopen the run folder, train,
// and summarise. Errors the user can fix are ConfigErrors naming the file and the field.
import { currentBackend } from '../backend';
import { kernelsInfo, nativeKernels, nativeKernelsPath } from '../kernels';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ModelSpec, TrainSpec } from '../spec';
import { DataError, loadDataset, type LoadedData } from '../data';
import { checkpointParamsProblem } from '../model/network';
import * as os from 'node:os';
import { memoryProblem, parseModelText } from '../spec';
import { formatPath } from '../spec/sourceMap';
import { NO_TRAIN_SECTION } from '../spec/model';
import {
  CONFIG_FILE,
  RunStore,
  readConfig,
  readEnvironment,
  readMetrics,
  effectiveMetrics,
  describeMetricsProblem,
  describeUnknownKind,
  environmentFacts,
  type Checkpoint,
  type RunSummary,
} from '../runs';
import { resolveTrainSpec, train, type ResolvedTrainSpec, type TrainerEvents, type TrainResult } from './trainer';
import { describeResume, localTime, resumeSearch } from './recovery';
import { defaultStartedBy, runProvenance } from '../provenance';

export { describeResume } from './recovery';
export type { RunSummary } from '../runs';

export class ConfigError extends Error {}

export interface RunConfig {
  format: 'sbn-run-config';
  version: 1;
  model: ModelSpec;
  train: ResolvedTrainSpec;
  /** Absolute path of the model file the run started from, and the folder its data paths are relative to. */
  modelFile: string;
  baseDir: string;
}

export function buildRunConfig(model: ModelSpec, modelFile: string, overrides: Partial<TrainSpec> = {}): RunConfig {
  if (!model.train) throw new ConfigError(`${modelFile}: train: ${NO_TRAIN_SECTION} — see examples/`);
  if (!model.data)
    throw new ConfigError(`${modelFile}: data: the model file has no data section (dataset, …) — see examples/`);
  const given = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const t = resolveTrainSpec({ ...model.train, ...given });
  if (t.baseline === 'loo' && t.samples < 2)
    throw new ConfigError(`${modelFile}: train.samples: the loo baseline needs at least 2 samples per example`);
  return {
    format: 'sbn-run-config',
    version: 1,
    model: { ...model, train: t },
    train: t,
    modelFile: path.resolve(modelFile),
    baseDir: path.dirname(path.resolve(modelFile)),
  };
}

/** Load the data a configuration names; `source` is the file named in error messages. */
export function loadRunData(config: RunConfig, source: string): LoadedData {
  const model = config.model;
  try {
    return loadDataset(model.data!, {
      baseDir: config.baseDir,
      inputShape: model.input.shape,
      loss: model.output.loss,
      classes: model.output.units,
    });
  } catch (e) {
    if (e instanceof DataError) throw new ConfigError(`${source}: ${e.message}`);
    throw e;
  }
}

export interface Session {
  store: RunStore;
  config: RunConfig;
  data: LoadedData;
  resumeFrom?: Checkpoint;
}

export interface Environment {
  backend: string;
  backendDetail: string;
  versions: Record<string, string>;
  /**
   * What started the run: the exact command line or the editor action (environment.json `provenance`); default
   * `defaultStartedBy()`.
   */
  startedBy?: string;
}

/**
 * environment.json: the caller's backend and versions, the native backend's origin, libtensorflow and devices
 * (tensorflow only), and which PSA kernels ran (docs/run-format.md).
 */
export function runEnvironment(env: Environment): Record<string, unknown> {
  const { startedBy, ...given } = env;
  const native = currentBackend()?.name === env.backend ? currentBackend()?.native : undefined;
  const k = nativeKernels()?.info();
  return {
    ...given,
    provenance: runProvenance(startedBy ?? defaultStartedBy()),
    native: native
      ? {
          origin: native.origin,
          package: native.package,
          binding: native.bindingPath,
          libtensorflow: { version: native.libtensorflowVersion, dir: native.libtensorflowDir, gpu: native.gpu },
          devices: native.devices,
        }
      : null,
    kernels: kernelsInfo().detail,
    kernelsKind: kernelsInfo().kind,
    kernelsPath: nativeKernelsPath() ?? null,
    kernelsIsa: k?.isa ?? null,
    kernelsThreads: k?.threads ?? null,
    platform: `${process.platform}-${process.arch}`,
  };
}

/**
 * A new run folder for a model file (its text is copied as it is now): under `runsRoot`, named by time, model and
 * estimator; or, given `{ runDir }`, that folder exactly (it must not exist yet).
 */
export function startSession(
  modelFile: string,
  modelText: string,
  model: ModelSpec,
  overrides: Partial<TrainSpec>,
  runsRoot: string | { runDir: string },
  env: Environment,
): Session {
  const config = buildRunConfig(model, modelFile, overrides);
  const data = loadRunData(config, modelFile);
  const init = { modelFileName: path.basename(modelFile), modelText, config, environment: runEnvironment(env) };
  const store =
    typeof runsRoot === 'string'
      ? RunStore.create(runsRoot, `${config.model.name}-${config.train.estimator}`, init)
      : RunStore.createAt(runsRoot.runDir, init);
  return { store, config, data };
}

export interface ResumeOptions {
  /** Train until this many epochs (written to config.json). */
  epochs?: number;
  /** The backend this process runs on: a run trained on another one is continued with a warning. */
  backend?: string;
  /** With checkpoints but none valid: train again from step 0 in the same folder instead of refusing. */
  startOver?: boolean;
}

export interface ResumedSession extends Session {
  /** What the resume does: "resuming from step N (checkpoint.json of <time>)" or "from step 0 (…)". */
  note: string;
  /** Problems found on the way (damaged checkpoints, corrupt metrics lines, another backend), also in metrics.jsonl. */
  warnings: string[];
}

/**
 * Reopen a run folder to continue it from its newest valid checkpoint (docs/run-format.md, "Resume"): a damaged
 * checkpoint is reported and kept beside (`<file>.damaged`), an older valid one is used; with checkpoints but
 * none valid it refuses unless `startOver`; with none at all it starts from step 0 and records that.
 */
export function resumeSession(runDir: string, options: ResumeOptions = {}): ResumedSession {
  let store: RunStore;
  try {
    store = RunStore.open(runDir);
  } catch (e) {
    throw new ConfigError(`${runDir}: cannot resume (${(e as Error).message})`);
  }
  try {
    // checked field by field: a damaged or edited config.json is named with what is wrong
    const config = readRunConfig(store.dir);
    if (options.epochs) {
      config.train.epochs = options.epochs;
      if (config.model.train) config.model.train.epochs = options.epochs;
    }
    const data = loadRunData(config, path.join(runDir, 'config.json'));
    const search = resumeSearch(store.dir, data.train.n);
    if (!search.found && search.damaged.length > 0 && !options.startOver) {
      throw new ConfigError(
        `${runDir}: cannot resume: no valid checkpoint ` +
          `(${search.damaged.map((d) => `${d.file}: ${d.problem}`).join('; ')}) — ` +
          'start it over from step 0 with --start-over (sbn train --resume <run> --start-over)',
      );
    }
    const warnings: string[] = search.damaged.map(
      (d) => `${path.join(runDir, d.file)}: damaged checkpoint, not used (${d.problem}); kept as ${d.file}.damaged`,
    );
    const metrics = readMetrics(store.dir, { tolerant: true });
    for (const c of metrics.corrupt) warnings.push(describeMetricsProblem(runDir, c));
    for (const u of metrics.unknownKinds) warnings.push(describeUnknownKind(runDir, u));
    if (options.backend) {
      let trainedOn: string | undefined;
      try {
        trainedOn = environmentFacts(readEnvironment(store.dir)).backend;
      } catch {
        trainedOn = undefined;
      }
      if (typeof trainedOn === 'string' && trainedOn !== options.backend) {
        warnings.push(
          `this run was trained on ${trainedOn} and continues on ${options.backend}: ` +
            `its results will not be bit-identical to an uninterrupted run on ${trainedOn}`,
        );
      }
    }
    for (const d of search.damaged)
      fs.renameSync(path.join(store.dir, d.file), path.join(store.dir, `${d.file}.damaged`));
    const found = search.found;
    // what the search cannot know without the model: parameters of the wrong shape (e.g. transposed tensors)
    const wrong =
      found && (checkpointParamsProblem(config.model, found.checkpoint.params) ?? resumeStateProblem(found.checkpoint));
    if (wrong) throw new ConfigError(`${path.join(runDir, found.file)}: ${wrong}`);
    const note = found
      ? `from step ${found.checkpoint.step} (${found.file} of ${localTime(found.written)})`
      : `from step 0 (${search.damaged.length ? 'starting over: no valid checkpoint' : 'no checkpoint yet'})`;
    const step = found?.checkpoint.step ?? 0;
    for (const w of warnings) store.appendMetrics({ kind: 'warning', step, message: w });
    // without a checkpoint the records already written are recomputed from step 0: readers drop them by this record
    if (!found) store.appendMetrics({ kind: 'resume', step: 0, epoch: 0 });
    if (options.epochs) store.writeConfig(config);
    store.setStatus('running', `resumed ${note}`);
    return { store, config, data, resumeFrom: found?.checkpoint, note, warnings };
  } catch (e) {
    store.close();
    throw e;
  }
}

export function summarise(dir: string, result: TrainResult, backend: string, wallSeconds: number): RunSummary {
  const config = readConfig(dir) as RunConfig;
  const records = effectiveMetrics(readMetrics(dir, { tolerant: true }).records);
  const last: RunSummary['last'] = {};
  const epochSeconds: number[] = [];
  let chosenLr: number | undefined;
  for (const r of records) {
    if (r.kind === 'eval')
      last[r.split] = { u_loss: r.u_loss, acc1: r.acc1, acc_e: r.acc_e, entropy: r.entropy, epoch: r.epoch };
    if (r.kind === 'epoch') epochSeconds.push(r.seconds);
    if (r.kind === 'lr-chosen') chosenLr = r.lr;
  }
  return {
    run: dir,
    status: result.status,
    model: config.model.name,
    estimator: config.train.estimator,
    backend,
    steps: result.step,
    epochs: result.epoch,
    lr: chosenLr ?? result.lr,
    secondsPerEpoch: epochSeconds.length ? epochSeconds.reduce((a, b) => a + b, 0) / epochSeconds.length : null,
    wallSeconds,
    last,
    message: result.message,
  };
}

/** Train a session to its end (or a stop), write the summary and release the run. */
export async function runSession(
  session: Session,
  backend: string,
  options: { events?: TrainerEvents; shouldStop?: () => boolean; checkpointSeconds?: number },
): Promise<{ result: TrainResult; summary: RunSummary }> {
  const started = Date.now();
  const { store, config, data } = session;
  let result: TrainResult;
  try {
    result = await train(
      {
        spec: config.model,
        train: config.train,
        data,
        store,
        events: options.events,
        shouldStop: options.shouldStop,
        checkpointSeconds: options.checkpointSeconds,
      },
      session.resumeFrom,
    );
  } catch (e) {
    store.setStatus('crashed', (e as Error).message);
    store.close();
    throw e;
  }
  if (result.status === 'stopped') {
    result = { ...result, message: `stopped at step ${result.step}; ${describeResume(store.dir)}` };
    store.setStatus('stopped', result.message, result.step);
  }
  const summary = summarise(store.dir, result, backend, (Date.now() - started) / 1000);
  store.writeSummary(summary);
  store.close();
  return { result, summary };
}

/**
 * config.json of a run, checked: a JSON object of this format whose model is a valid model file and whose resolved
 * train section has the values the trainer reads, so that a damaged or edited file is named with what is wrong
 * rather than failing deep in the trainer (or allocating what the machine does not have).
 */
export function readRunConfig(dir: string): RunConfig {
  const file = path.join(dir, CONFIG_FILE);
  let value: unknown;
  try {
    value = readConfig(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(
      code === 'ENOENT' ? `${dir}: not a run folder (${CONFIG_FILE} not found)` : (e as Error).message,
    );
  }
  const c = value as Partial<RunConfig> | null;
  if (typeof c !== 'object' || c === null || Array.isArray(c))
    throw new ConfigError(`${file}: expected a JSON object, the file is damaged`);
  if (c.format !== 'sbn-run-config' || c.version !== 1) {
    throw new ConfigError(
      `${file}: not a run configuration this build reads ` +
        `(format ${JSON.stringify(c.format)}, version ${JSON.stringify(c.version)}; expected "sbn-run-config", 1)`,
    );
  }
  if (typeof c.modelFile !== 'string' || typeof c.baseDir !== 'string')
    throw new ConfigError(`${file}: modelFile and baseDir must be strings`);
  if (typeof c.model !== 'object' || c.model === null || typeof c.train !== 'object' || c.train === null) {
    throw new ConfigError(`${file}: model and train must be objects`);
  }
  // The model as a model file (its train section is the resolved one, checked below).
  const parsed = parseModelText(JSON.stringify({ ...c.model, train: undefined }), 'config.json');
  if (!parsed.ok) {
    const [first] = parsed.errors;
    throw new ConfigError(`${file}: ${first.path ? `model.${first.path}: ` : ''}${first.message}`);
  }
  if (!parsed.model.data) throw new ConfigError(`${file}: model.data: missing (the run's data set)`);
  const t = c.train as unknown as Record<string, unknown>;
  const counts: Array<[string, number]> = [
    ['epochs', 1],
    ['batchSize', 1],
    ['samples', 1],
    ['evalSamples', 1],
    ['logInterval', 1],
    ['evalInterval', 0],
    ['seed', 0],
  ];
  for (const [key, min] of counts) {
    const v = t[key];
    if (!Number.isSafeInteger(v) || (v as number) < min)
      throw new ConfigError(`${file}: train.${key}: expected an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  }
  if (typeof t.estimator !== 'string')
    throw new ConfigError(`${file}: train.estimator: expected an estimator name, got ${JSON.stringify(t.estimator)}`);
  if (typeof t.clip !== 'number' || !(t.clip > 0))
    throw new ConfigError(`${file}: train.clip: expected a number > 0, got ${JSON.stringify(t.clip)}`);
  if (typeof t.optimizer !== 'object' || t.optimizer === null)
    throw new ConfigError(`${file}: train.optimizer: expected an object`);
  if (t.lr === undefined || t.lr === null) throw new ConfigError(`${file}: train.lr: missing`);
  const memory = memoryProblem({ ...parsed.model, train: c.train }, os.totalmem());
  if (memory) throw new ConfigError(`${file}: model.${formatPath(memory.path)}: ${memory.message}`);
  return c as RunConfig;
}

function isRngState(v: unknown): boolean {
  const s = (v as { s?: unknown } | null)?.s;
  // the four 32-bit words, stored signed or unsigned
  return (
    Array.isArray(s) && s.length === 4 && s.every((x) => Number.isInteger(x) && x >= -0x80000000 && x <= 0xffffffff)
  );
}

/**
 * What is missing or malformed in the training state of a checkpoint (random generators, data position, counters)
 * that a resume restores, named by its field; undefined when a resume can use it.
 */
export function resumeStateProblem(cp: Checkpoint): string | undefined {
  const rng = cp.rng;
  if (!rng || !isRngState(rng.noise) || !isRngState(rng.eval))
    return 'rng: the random generator states (noise, eval) are missing or malformed';
  for (const key of ['diagnostics', 'stats'])
    if (rng[key] !== undefined && !isRngState(rng[key])) return `rng.${key}: malformed random generator state`;
  const data = cp.data;
  if (
    !data ||
    !Number.isSafeInteger(data.epoch) ||
    !Number.isSafeInteger(data.position) ||
    !isRngState(data.rng) ||
    !isRngState(data.orderRng)
  ) {
    return 'data: the position in the data (epoch, position, rng, orderRng) is missing or malformed';
  }
  const extra = cp.extra;
  const acc = extra?.accumulators as Record<string, unknown> | undefined;
  if (
    !extra ||
    typeof acc !== 'object' ||
    acc === null ||
    !['logSum', 'logCount', 'epochSum', 'epochCount'].every((k) => typeof acc[k] === 'number') ||
    typeof extra.epochsDone !== 'number' ||
    extra.lr === undefined
  ) {
    return 'extra: the training counters (accumulators, epochsDone, lr) are missing or malformed';
  }
  return undefined;
}
