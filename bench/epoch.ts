// `npm run bench:epoch`: where one epoch of `sbn train` goes, phase by phase, for examples/mnist-mlp-psa.sbn.yaml
// (55 000 training images, batch 64, evaluations at 10 samples): a whole epoch through the trainer as the CLI runs
// it (a run folder in a temporary directory, every record and checkpoint written), timed from its events, and each
// phase of the loop timed alone — batch assembly, the training step, layer statistics, a metrics record, the epoch
// checkpoint and the three evaluations. One backend (tensorflow unless $SBN_BACKEND says otherwise).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { initBackend } from '../src/engine/backend';
import { loadModelFile } from '../src/engine/spec';
import { disposeNetwork, initNetwork, loadTensorMap } from '../src/engine/model/network';
import { RunStore } from '../src/engine/runs';
import { Rng } from '../src/engine/rng';
import { createEstimator, type TrainingEstimatorName } from '../src/engine/estimators';
import { inputTensor } from '../src/engine/gradients/draws';
import { BatchIterator } from '../src/engine/data';
import { createOptimizer } from '../src/engine/train/optimizer';
import { layerStatistics } from '../src/engine/train/monitor';
import { evaluateSplit } from '../src/engine/train/evaluate';
import { startSession } from '../src/engine/train/session';
import { train, trainStep, type StepState } from '../src/engine/train/trainer';
import { repoRoot, writeResults } from './common';

const MODEL = 'examples/mnist-mlp-psa.sbn.yaml';

/** Wall-clock and CPU time (all threads of this process) now, in seconds. */
function clock(): { wall: number; cpu: number } {
  const c = process.cpuUsage();
  return { wall: performance.now() / 1000, cpu: (c.user + c.system) / 1e6 };
}

/** Mean wall-clock and CPU seconds of one of `reps` calls. */
function timed(reps: number, fn: () => unknown): { seconds: number; cpuSeconds: number } {
  const from = clock();
  for (let i = 0; i < reps; i++) fn();
  const to = clock();
  return { seconds: (to.wall - from.wall) / reps, cpuSeconds: (to.cpu - from.cpu) / reps };
}

async function main(): Promise<void> {
  const backend = await initBackend(process.env.SBN_BACKEND ?? 'tensorflow');
  const file = path.join(repoRoot, MODEL);
  const parsed = loadModelFile(file);
  if (!parsed.ok) throw new Error(`${MODEL}: ${parsed.errors[0].message}`);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-bench-epoch-'));
  try {
    const session = startSession(file, fs.readFileSync(file, 'utf8'), parsed.model, { epochs: 1 }, out, {
      backend: backend.name,
      backendDetail: backend.detail,
      versions: {},
    });
    const { config, data, store } = session;
    const t = config.train;

    // the whole epoch as `sbn train` runs it: steps up to the last one, then the train and validation
    // evaluations, the epoch record and checkpoint, then the test evaluation
    const marks: Record<string, { wall: number; cpu: number }> = {};
    const started = clock();
    let steps = 0;
    await train({
      spec: config.model,
      train: t,
      data,
      store,
      events: {
        step: (e) => {
          steps = e.step;
          if (e.step === e.stepsPerEpoch) marks.steps = clock();
        },
        eval: (e) => {
          marks[e.split] = clock();
        },
        checkpoint: () => {
          marks.checkpoint ??= clock();
        },
      },
    });
    const ended = clock();
    store.close();
    // wall-clock seconds of each phase, and CPU seconds (the work, whatever else the machine runs)
    const phase = (from: { wall: number; cpu: number }, to: { wall: number; cpu: number }) => ({
      seconds: to.wall - from.wall,
      cpuSeconds: to.cpu - from.cpu,
    });
    const whole = {
      steps,
      loop: phase(started, marks.steps),
      evalTrain: phase(marks.steps, marks.train),
      evalValidation: phase(marks.train, marks.validation),
      checkpoint: phase(marks.validation, marks.checkpoint),
      evalTest: phase(marks.checkpoint, ended),
      epoch: phase(started, ended),
    };

    // the loop's phases alone, on the network the epoch trained
    const net = initNetwork(config.model, new Rng(t.seed));
    loadTensorMap(net, RunStore.readCheckpoint(store.dir, 1).params);
    const iterator = new BatchIterator(data.train, {
      batchSize: t.batchSize,
      rng: new Rng(1),
      shuffle: true,
      augment: 'none',
      inputShape: data.inputShape,
    });
    let batches = 0;
    const batch = timed(1, () => {
      while (iterator.next()) batches++;
    });
    const s: StepState = {
      net,
      optimizer: createOptimizer(t.optimizer),
      estimator: createEstimator(t.estimator as TrainingEstimatorName, {}),
      noise: new Rng(2),
      step: 0,
    };
    const b = iterator.next()!;
    trainStep(s, t, b, 1e-4);
    const step = timed(100, () => trainStep(s, t, b, 1e-4));
    const x = inputTensor(net, b.x, b.n);
    const statsRng = new Rng(3);
    layerStatistics(net, x, statsRng);
    const stats = timed(10, () => layerStatistics(net, x, statsRng));
    x.dispose();
    const evalRng = new Rng(4);
    const evaluation = timed(1, () => evaluateSplit(net, data.train, t.evalSamples, evalRng, 5000));
    s.optimizer.dispose();
    disposeNetwork(net);
    const perBatch = { seconds: batch.seconds / batches, cpuSeconds: batch.cpuSeconds / batches };
    const phases = { batch: perBatch, step, layerStats: stats, evaluation5000: evaluation };
    const show = (p: { seconds: number; cpuSeconds: number }) =>
      `${p.seconds.toFixed(2)} s (CPU ${p.cpuSeconds.toFixed(2)} s)`;
    const ms = (p: { seconds: number; cpuSeconds: number }) =>
      `${(1000 * p.seconds).toFixed(2)} ms (CPU ${(1000 * p.cpuSeconds).toFixed(2)} ms)`;
    const lines = [
      `${MODEL}, one epoch (${backend.name}): ${show(whole.epoch)}`,
      `  ${whole.steps} steps ${show(whole.loop)}: ${((1000 * whole.loop.seconds) / steps).toFixed(1)} ms per step`,
      `  evaluations: train ${show(whole.evalTrain)}, validation ${show(whole.evalValidation)}, ` +
        `test ${show(whole.evalTest)}; epoch checkpoint ${show(whole.checkpoint)}`,
      'phases alone, on the trained network:',
      `  batch assembly ${ms(perBatch)}, training step ${ms(step)}, ` +
        `layer statistics ${ms(stats)} (every ${t.logInterval} steps)`,
      `  evaluation of 5000 examples at ${t.evalSamples} samples ${show(evaluation)}`,
    ];
    console.log(lines.join('\n'));
    const written = writeResults('epoch.json', { backend: backend.name, model: MODEL, whole, phases });
    process.stderr.write(`bench:epoch: results in ${path.relative(process.cwd(), written)}\n`);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

void main();
