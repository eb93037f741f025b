// Per-layer bias of the suite's estimators (issue 20): how far each method's mean gradient lies from the diagnostics
// reference (src/engine/gradients/reference.ts: the exact gradient where enumeration fits, otherwise the mean of
// local-expectation draws, with its own standard error) on the first N training examples — at initialisation (the
// suite's initial network, the same for every method: docs/math.md §4.4) and at the last checkpoint of the method's
// seed-1 run. Written entry by entry to bias.json in the suite folder; an entry measured with the same settings is
// not measured again, so an interrupted measurement continues where it stopped.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../files';
import { withFileLock } from '../fileLock';
import { runToEnd } from '../passes';
import { Rng } from '../rng';
import { RunStore } from '../runs';
import type { ModelSpec } from '../spec';
import type { EstimatorName } from '../estimators';
import type { LoadedData } from '../data/types';
import { gradientDrawsPass, type Dataset } from '../gradients/draws';
import { referenceGradientPass } from '../gradients/reference';
import { disposeNetwork, initNetwork, loadTensorMap, parameterSizes, type Network } from '../model/network';
import { nonFiniteParameter } from '../train/recovery';
import { buildRunConfig, loadRunData, readRunConfig, type RunConfig } from '../train/session';
import { initialNetwork } from '../train/trainer';
import { BIAS_FILE, readSuiteBias, type SuiteBiasFile } from './biasFile';
import { methodModel, readSuiteState, runPath, SUITE_METHODS, type SuiteDefinition } from './trainSuite';
import type { LayerBias, SuiteBiasEntry } from './types';

/** Default draws of each estimator, training examples, reference bound and target (the CLI's defaults). */
export const DEFAULT_BIAS_DRAWS = 64;
export const DEFAULT_BIAS_EXAMPLES = 16;
export const DEFAULT_BIAS_REFERENCE_DRAWS = 256;
export const DEFAULT_BIAS_REFERENCE_ERROR = 0.05;
/** The methods measured when none are named: the two the paper's depth claim is about. */
export const DEFAULT_BIAS_METHODS = ['psa', 'dste'];

export interface SuiteBiasOptions {
  suite: SuiteDefinition;
  dir: string;
  /** Names of SUITE_METHODS. */
  methods: string[];
  draws: number;
  examples: number;
  seed: number;
  reference: { maxDraws: number; targetError: number };
  /** As `sbn experiment train` was given them (the initial network is built from the same data). */
  dataPath?: string;
  limit?: number;
  /** Progress: an entry measured, found done earlier, or not measurable yet (with why). */
  onEntry?: (e: { stage: SuiteBiasEntry['stage']; method: string; action: 'done' | 'skip' | 'pending' }) => void;
  onNote?: (text: string) => void;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** The first `examples` training examples of a run's data, as the gradient machinery takes them. */
export function biasBatch(data: LoadedData, examples: number): Dataset {
  const n = Math.min(examples, data.train.n);
  const features = data.train.x.length / data.train.n;
  const X: number[][] = [];
  for (let i = 0; i < n; i++) X.push(Array.from(data.train.x.subarray(i * features, (i + 1) * features)));
  return { X, Y: Array.from(data.train.y.subarray(0, n)) };
}

/**
 * Per method, the per-layer cosine and relative error of its estimator's mean gradient (over `draws` draws) to one
 * reference gradient of `net` on `batch`, with the standard errors of both means.
 */
export function measureLayerBias(
  net: Network,
  batch: Dataset,
  methods: string[],
  o: Pick<SuiteBiasOptions, 'draws' | 'seed' | 'reference'>,
): Map<string, Omit<SuiteBiasEntry, 'stage' | 'method' | 'runDir' | 'epoch'>> {
  const sizes = parameterSizes(net);
  const started = Date.now();
  const ref = runToEnd(
    referenceGradientPass(net, batch, {
      seed: o.seed + 7777,
      targetError: o.reference.targetError,
      maxDraws: o.reference.maxDraws,
      budgetSeconds: Infinity,
      // bounded by draws, not by the clock: the same settings give the same reference on every machine
      ignoreClock: true,
    }),
  );
  const referenceSeconds = (Date.now() - started) / 1000;
  const refNorm = ref.layers.map((l) => Math.sqrt(dot(l, l)));
  const out = new Map<string, Omit<SuiteBiasEntry, 'stage' | 'method' | 'runDir' | 'epoch'>>();
  for (const [index, method] of methods.entries()) {
    const train = SUITE_METHODS.find((m) => m.method === method)!.train;
    const estimator = train.estimator as EstimatorName;
    const t0 = Date.now();
    const summary = runToEnd(
      gradientDrawsPass(net, batch, estimator, {
        draws: o.draws,
        seed: o.seed + 101 * (index + 1),
        estimatorOptions: { tau: train.tau, baseline: train.baseline },
      }),
    );
    const layers: LayerBias[] = sizes.map((_, k) => {
      const mean = summary.layers[k].mean;
      const r = ref.layers[k];
      const scale = Math.max(refNorm[k], 1e-300);
      const diff = mean.map((v, i) => v - r[i]);
      const meanNorm = Math.sqrt(dot(mean, mean));
      const meanError = Math.sqrt(dot(summary.layers[k].std, summary.layers[k].std) / o.draws) / scale;
      return {
        layer: net.layerNames[k],
        cos: meanNorm > 0 && refNorm[k] > 0 ? dot(mean, r) / (meanNorm * refNorm[k]) : 0,
        relativeError: Math.sqrt(dot(diff, diff)) / scale,
        referenceError: ref.relativeError[k],
        meanError,
        noiseFloor: Math.hypot(meanError, ref.relativeError[k]),
      };
    });
    out.set(method, {
      estimator,
      reference: ref.kind,
      referenceDraws: ref.draws,
      draws: o.draws,
      examples: batch.X.length,
      seed: o.seed,
      // the reference is shared by the methods measured on this network: each entry carries its share
      seconds: (Date.now() - t0) / 1000 + referenceSeconds / methods.length,
      layers,
    });
  }
  return out;
}

/** The run configuration of a method as `sbn experiment train` made it (its model file in the suite folder). */
function methodConfig(o: SuiteBiasOptions, method: string): { config: RunConfig; source: string } {
  const file = path.join(o.dir, 'models', `${method}.sbn.json`);
  const model = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as ModelSpec) : methodModel(o, method);
  return { config: buildRunConfig(model, file), source: file };
}

function sameSettings(e: SuiteBiasEntry, o: SuiteBiasOptions): boolean {
  return e.draws === o.draws && e.examples === o.examples && e.seed === o.seed;
}

/** Replaces (or adds) entries in bias.json, under its lock: two processes never lose each other's entries. */
function recordEntries(dir: string, entries: SuiteBiasEntry[]): void {
  const file = path.join(dir, BIAS_FILE);
  withFileLock(file, () => {
    const kept = readSuiteBias(dir).filter((e) => !entries.some((n) => n.stage === e.stage && n.method === e.method));
    const data: SuiteBiasFile = { format: 'sbn-suite-bias', version: 1, entries: [...kept, ...entries] };
    writeFileAtomic(file, JSON.stringify(data, null, 1) + '\n');
  });
}

/**
 * Measures what is missing: every method at init (one shared reference), then every method whose seed-1 run has
 * ended at its last checkpoint. Returns the entries of bias.json afterwards and the methods still pending.
 */
export function runSuiteBias(o: SuiteBiasOptions): { entries: SuiteBiasEntry[]; pending: string[] } {
  readSuiteState(o.dir, o.suite.name); // the folder holds this suite (or none yet)
  const done = (stage: SuiteBiasEntry['stage'], method: string) =>
    readSuiteBias(o.dir).some((e) => e.stage === stage && e.method === method && sameSettings(e, o));
  const initTodo = o.methods.filter((m) => !done('init', m));
  for (const m of o.methods.filter((x) => !initTodo.includes(x)))
    o.onEntry?.({ stage: 'init', method: m, action: 'skip' });
  if (initTodo.length > 0) {
    const { config, source } = methodConfig(o, initTodo[0]);
    const data = loadRunData(config, source);
    const net = initialNetwork(config.model, config.train, data);
    try {
      const measured = measureLayerBias(net, biasBatch(data, o.examples), initTodo, o);
      recordEntries(
        o.dir,
        initTodo.map((method) => ({ stage: 'init', method, runDir: null, epoch: 0, ...measured.get(method)! })),
      );
    } finally {
      disposeNetwork(net);
    }
    for (const method of initTodo) o.onEntry?.({ stage: 'init', method, action: 'done' });
  }
  const pending: string[] = [];
  const state = readSuiteState(o.dir, o.suite.name);
  for (const method of o.methods) {
    if (done('final', method)) {
      o.onEntry?.({ stage: 'final', method, action: 'skip' });
      continue;
    }
    const entry = state.methods[method];
    const runDir = entry && runPath(o.dir, entry.runDir);
    if (!entry?.done || !runDir || !fs.existsSync(runDir)) {
      pending.push(method);
      o.onEntry?.({ stage: 'final', method, action: 'pending' });
      continue;
    }
    const cp = RunStore.readCheckpoint(runDir, 'latest');
    const nonFinite = nonFiniteParameter(cp);
    if (nonFinite) {
      o.onNote?.(`${method}: the last checkpoint of ${entry.runDir} is not finite (${nonFinite}); not measured`);
      pending.push(method);
      continue;
    }
    const config = readRunConfig(runDir);
    const data = loadRunData(config, path.join(runDir, 'config.json'));
    const net = initNetwork(config.model, new Rng(0));
    try {
      loadTensorMap(net, cp.params);
      const measured = measureLayerBias(net, biasBatch(data, o.examples), [method], o).get(method)!;
      const relative = path.relative(o.dir, runDir);
      recordEntries(o.dir, [{ stage: 'final', method, runDir: relative, epoch: cp.epoch, ...measured }]);
    } finally {
      disposeNetwork(net);
    }
    o.onEntry?.({ stage: 'final', method, action: 'done' });
  }
  return { entries: readSuiteBias(o.dir), pending };
}
