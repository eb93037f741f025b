// What every benchmark shares: best-of-N timing, one child process per backend (the tfjs backend is global
// per process), writing results under bench/results/, and the step cases of bench:kernels and bench:peer (the
// networks, the CIFAR layer, PSA and DSTE training and layer steps).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { availableBackends, type BackendInfo } from '../src/engine/backend';
import type { LoadedData, Split } from '../src/engine/data';
import { RunStore } from '../src/engine/runs';
import { trainStep, type StepState, type TrainerEvents } from '../src/engine/train/trainer';
import { buildRunConfig, runEnvironment, runSession } from '../src/engine/train/session';
import { createEstimator } from '../src/engine/estimators';
import { writeFileAtomic } from '../src/engine/files';
import { prepareLayer, type ConvGeometry } from '../src/engine/model/layers';
import { disposeNetwork, initNetwork } from '../src/engine/model/network';
import { noiseOf } from '../src/engine/model/noise';
import type { Rng } from '../src/engine/rng';
import { loadModelFile, type ModelSpec, type OptimizerSpec } from '../src/engine/spec';
import { createOptimizer } from '../src/engine/train/optimizer';
import { shapeSize } from '../src/engine/spec/geometry';
import { TRAIN_DEFAULTS } from '../src/engine/spec/model';
import { SUITES } from '../src/engine/experiments/trainSuite';

export const repoRoot = path.resolve(__dirname, '..', '..');

export function bestOf(reps: number, fn: () => void): number {
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t = process.hrtime.bigint();
    fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e9);
  }
  return best;
}

/**
 * Run `child(backend)` once per available backend in its own process (this same script with `--child B`)
 * and collect the results. Inside a child, runs the child and prints its result instead (returns undefined).
 */
export async function perBackend<T>(name: string, child: (backend: string) => Promise<T>): Promise<T[] | undefined> {
  const i = process.argv.indexOf('--child');
  if (i >= 0) {
    process.stdout.write(JSON.stringify(await child(process.argv[i + 1])) + '\n');
    return undefined;
  }
  const only = process.env.SBN_BENCH_BACKENDS?.split(',');
  const results: T[] = [];
  for (const b of availableBackends().filter((x) => x !== 'cpu' && (!only || only.includes(x)))) {
    process.stderr.write(`${name}: ${b} …\n`);
    const r = spawnSync(process.execPath, [process.argv[1], '--child', b], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 26,
    });
    if (r.status !== 0) {
      process.stderr.write(`${name}: ${b} failed (exit ${r.status})\n`);
      continue;
    }
    results.push(JSON.parse(r.stdout.trim().split('\n').pop()!) as T);
  }
  return results;
}

export function writeResults(file: string, data: unknown): string {
  const out = path.join(repoRoot, 'bench', 'results', file);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  writeFileAtomic(out, JSON.stringify({ date: new Date().toISOString(), ...(data as object) }, null, 1) + '\n');
  return out;
}

/** The dense net of the paper's MNIST experiments and of examples/mnist-mlp-*.sbn.yaml: 784-512-512-10, ±1. */
export const MLP_784_512_512_10: ModelSpec = {
  name: 'mlp-784-512-512-10',
  input: { shape: [784] },
  states: 'pm1',
  noise: 'logistic',
  layers: [
    { type: 'dense', units: 512 },
    { type: 'dense', units: 512 },
  ],
  output: { units: 10, loss: 'nll' },
};

/** CIFAR_S1's layer 2 (the paper's conv net): 96×30×30 → 96×28×28, 3×3, no padding. */
export const CIFAR_S1_LAYER2: ConvGeometry = {
  kind: 'conv',
  inShape: [96, 30, 30],
  filters: 96,
  kernel: 3,
  stride: 1,
  padding: 0,
  outShape: [96, 28, 28],
};

/**
 * The smallest network whose training step is CIFAR_S1 layer 2's step as the trainer runs it (the native conv step):
 * the cifar10-s1 suite's first two binary conv layers (3×32×32 → 96×30×30 → 96×28×28), flattened into its
 * classifier. Layer 2 is 65 M of the 68 M multiply-adds per image; layer 1's states are binary, so PSA's ratio
 * convolution through layer 2 is part of the step, as it is in the whole net.
 */
export const CIFAR_S1_LAYERS_1_2: ModelSpec = (() => {
  const cifar = SUITES['cifar10-s1'].model;
  return {
    ...cifar,
    name: 'cifar-s1-layers-1-2',
    layers: [...cifar.layers.slice(0, 2), { type: 'flatten' }],
    data: undefined,
    train: undefined,
  };
})();

/** The optimiser and learning rate of the benchmarks' training steps: SGD with Nesterov momentum 0.9. */
export const STEP_OPTIMIZER: OptimizerSpec = { type: 'sgd', momentum: 0.9, nesterov: true };
export const STEP_LR = 1e-4;

/** A model file of examples/, parsed. */
export function exampleModel(file: string): ModelSpec {
  const r = loadModelFile(path.join(repoRoot, 'examples', file));
  if (!r.ok) throw new Error(`${file}: ${r.errors[0].message}`);
  return r.model;
}

export function randomPm1(rng: Rng, shape: number[]): tf.Tensor {
  const v = rng.uniforms(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < v.length; i++) v[i] = v[i] < 0.5 ? -1 : 1;
  return tf.tensor(v, shape);
}

/** A PSA and a DSTE step of the same case, each a function that runs one step to the end (read-back included). */
export interface StepPair {
  psa: () => void;
  dste: () => void;
  dispose(): void;
}

/**
 * Training steps of PSA and DSTE on one network and a fixed random batch (inputs uniform in [0, 1), as data scaled
 * to `unit`): the trainer's own step (trainer.ts trainStep: estimate, clip at the default bound, finiteness check,
 * SGD-Nesterov update); each side has its own optimiser state on the one shared network.
 */
export function trainingStepPair(spec: ModelSpec, batch: number, rng: Rng): StepPair {
  const net = initNetwork(spec, rng);
  const x = Float32Array.from(rng.uniforms(batch * shapeSize(spec.input.shape)));
  const y = Float32Array.from({ length: batch }, () => rng.int(spec.output.units));
  const opts = [createOptimizer(STEP_OPTIMIZER), createOptimizer(STEP_OPTIMIZER)];
  const settings = { samples: 1, clip: TRAIN_DEFAULTS.clip };
  const step = (name: 'psa' | 'dste', optimizer: (typeof opts)[number]) => {
    const state: StepState = { net, optimizer, estimator: createEstimator(name), noise: rng, step: 0 };
    return () => {
      trainStep(state, settings, { x, y, n: batch }, STEP_LR);
      net.layers[0].bias.dataSync();
    };
  };
  return {
    psa: step('psa', opts[0]),
    dste: step('dste', opts[1]),
    dispose() {
      opts.forEach((o) => o.dispose());
      disposeNetwork(net);
    },
  };
}

/**
 * One layer step of PSA and DSTE on a conv layer: forward, sampling, parameter gradient and backward to the input,
 * given a fixed gradient λ arriving at the layer's states.
 */
export function convLayerStepPair(g: ConvGeometry, batch: number, rng: Rng): StepPair {
  const [C, H, W] = g.inShape;
  const [F, Ho, Wo] = g.outShape;
  const fanIn = g.kernel * g.kernel * C;
  const weight = tf.mul<tf.Tensor4D>(
    tf.tensor(rng.uniforms(fanIn * F), [g.kernel, g.kernel, C, F]),
    2 / Math.sqrt(fanIn),
  );
  const bias = tf.zeros<tf.Rank.R1>([F]);
  const layer = prepareLayer(g, { weight, bias });
  const noise = noiseOf('logistic');
  const x = randomPm1(rng, [batch, H, W, C]);
  const lambda = tf.mul(tf.tensor(rng.uniforms(batch * Ho * Wo * F), [batch, Ho, Wo, F]), 0.01);
  const u = tf.tensor(rng.uniforms(batch * Ho * Wo * F), [batch, Ho, Wo, F]);
  const step = (psa: boolean) => () => {
    const out = tf.tidy(() => {
      const a = layer.forward(x);
      const xs = tf.sub(tf.mul(tf.cast(tf.less(u, noise.cdf(a)), 'float32'), 2), 1); // sampled ±1 states
      const grads = layer.paramGradient(
        psa ? tf.mul(tf.mul(lambda, tf.neg(xs)), noise.pdf(a)) : tf.mul(lambda, tf.mul(noise.pdf(a), 2)),
        x,
        1,
      );
      const back = psa
        ? layer.psaBackward(a, tf.mul(x, -2), tf.mul(tf.neg(xs), lambda), noise)
        : layer.backwardInput(tf.mul(lambda, tf.mul(noise.pdf(a), 2)));
      return [grads.weight, grads.bias, back];
    });
    out.forEach((t) => t.dataSync());
    tf.dispose(out);
  };
  return {
    psa: step(true),
    dste: step(false),
    dispose() {
      tf.dispose([weight, bias, x, lambda, u]);
    },
  };
}

/** The model file whose epoch bench:peer and bench:profile time. */
export const EPOCH_MODEL = 'mnist-mlp-psa.sbn.yaml';
/** MNIST's sizes: 60 000 training images (less the model file's validation split) and 10 000 test images. */
export const MNIST_TRAIN = 60000;
export const MNIST_TEST = 10000;

function randomSplit(rng: Rng, n: number, features: number, classes: number): Split {
  return { x: rng.uniforms(n * features), y: Float32Array.from({ length: n }, () => rng.int(classes)), n };
}

/**
 * Random data of MNIST's sizes for a model (inputs uniform in [0, 1), labels uniform over the classes): the time of
 * an epoch does not depend on the values. `train` overrides the training examples (default: MNIST's less the
 * model's validation split).
 */
export function mnistSizedData(spec: ModelSpec, rng: Rng, train?: number): LoadedData {
  const features = spec.input.shape.reduce((a, b) => a * b, 1);
  const classes = spec.output.units;
  const validation = spec.data?.validation ?? 0;
  return {
    name: 'random',
    train: randomSplit(rng, train ?? MNIST_TRAIN - validation, features, classes),
    validation: validation > 0 ? randomSplit(rng, validation, features, classes) : undefined,
    test: randomSplit(rng, MNIST_TEST, features, classes),
    inputShape: spec.input.shape,
    classes,
    source: 'random MNIST-sized data (bench)',
  };
}

/**
 * One epoch of an examples/ model file as `sbn train` runs it — the training session API with a run folder (in a
 * temporary directory, removed after), so metrics, checkpoints and every evaluation are included. Returns ms.
 */
export async function trainEpoch(
  spec: ModelSpec,
  file: string,
  data: LoadedData,
  backend: BackendInfo,
  events?: TrainerEvents,
): Promise<number> {
  const modelFile = path.join(repoRoot, 'examples', file);
  const config = buildRunConfig(spec, modelFile, { epochs: 1 });
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-bench-epoch-'));
  try {
    const environment = runEnvironment({ backend: backend.name, backendDetail: backend.detail, versions: {} });
    const init = { modelFileName: file, modelText: fs.readFileSync(modelFile, 'utf8'), config, environment };
    const store = RunStore.create(root, `${spec.name}-bench`, init);
    const t = Date.now();
    await runSession({ store, config, data }, backend.name, { events });
    return Date.now() - t;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
