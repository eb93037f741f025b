// `npm run bench:train`: samples per second of one training step (estimate + optimiser update) for the MNIST
// MLP (784-512-512-10) and the Fashion conv example, per estimator and backend; the ratios PSA/DSTE and
// DSTE/tanh (deterministic network) measured in the same run; and the conv forward GFLOP/s next to the matMul
// GFLOP/s of the same backend. Each backend runs in its own process; best of several repetitions.
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/engine/backend';
import { initNetwork, disposeNetwork } from '../src/engine/model/network';
import { Rng } from '../src/engine/rng';
import {
  createEstimator,
  disposeEstimate,
  TRAINING_ESTIMATORS,
  type EstimatorOptions,
  type TrainingEstimatorName,
} from '../src/engine/estimators';
import { createOptimizer } from '../src/engine/train/optimizer';
import { convForward } from '../src/engine/model/layers';
import { bestOf, exampleModel, perBackend, writeResults } from './common';

interface Entry {
  label: string;
  name: TrainingEstimatorName;
  options: EstimatorOptions;
}
/** Every training estimator with its defaults, and REINFORCE with the learned input baseline (NVIL). */
const ENTRIES: Entry[] = [
  ...TRAINING_ESTIMATORS.map((name) => ({ label: name, name, options: {} })),
  { label: 'reinforce(input)', name: 'reinforce', options: { baseline: 'input' } },
];
/**
 * About one downstream pass per hidden unit: timed on the MNIST MLP only (1 step, as a diagnostics reference costs);
 * the conv example's ~10⁴ hidden units would take minutes per step.
 */
const MLP_ONLY = new Set(['local-expectation']);

interface Row {
  backend: string;
  model: string;
  estimator: string;
  msPerStep: number;
  samplesPerSecond: number;
}
interface Throughput {
  backend: string;
  what: string;
  gflops: number;
}

async function child(backend: string): Promise<{ rows: Row[]; throughput: Throughput[] }> {
  const info = await initBackend(backend);
  // throughput first, on a quiet process: conv forward of the paper's CIFAR_S1 layer 2 shape, and a 1024² matMul
  const throughput: Throughput[] = [];
  const a = tf.randomUniform([1024, 1024]);
  const b = tf.randomUniform([1024, 1024]);
  // (no typed array may be returned from tf.tidy: it would walk every element)
  const mm = bestOf(5, () => {
    tf.tidy(() => {
      tf.matMul(a, b).dataSync();
    });
  });
  throughput.push({ backend: info.name, what: 'matMul 1024²', gflops: (2 * 1024 ** 3) / mm / 1e9 });
  const xc = tf.randomUniform<tf.Rank.R4>([64, 30, 30, 96]);
  const wc = tf.randomUniform<tf.Rank.R4>([3, 3, 96, 96]);
  const conv = bestOf(3, () => {
    tf.tidy(() => {
      convForward(xc, wc, 1, 0).dataSync();
    });
  });
  throughput.push({
    backend: info.name,
    what: 'conv fwd [64,30,30,96]⊛[3,3,96,96]',
    gflops: (2 * 64 * 28 * 28 * 96 * 96 * 9) / conv / 1e9,
  });
  tf.dispose([a, b, xc, wc]);
  const rows: Row[] = [];
  const rng = new Rng(1);
  const batch = 64;
  for (const [label, file] of [
    ['mnist-mlp 784-512-512-10', 'mnist-mlp-psa.sbn.yaml'],
    ['fashion-conv', 'fashion-conv-psa.sbn.yaml'],
  ] as const) {
    const spec = exampleModel(file);
    const net = initNetwork(spec, rng);
    const shape = spec.input.shape;
    const x =
      shape.length === 3
        ? tf.tensor4d(rng.uniforms(batch * shape[0] * shape[1] * shape[2]), [batch, shape[1], shape[2], shape[0]])
        : tf.tensor2d(rng.uniforms(batch * shape[0]), [batch, shape[0]]);
    const y = tf.tensor1d(
      Array.from({ length: batch }, () => rng.int(10)),
      'float32',
    );
    for (const { label: entry, name, options } of ENTRIES) {
      const expensive = MLP_ONLY.has(entry);
      if (expensive && label.startsWith('fashion')) continue;
      const est = createEstimator(name, options);
      const opt = createOptimizer({ type: 'sgd', momentum: 0.9, nesterov: true });
      const step = () => {
        const e = est.estimate(net, { x, y, groups: 1 }, rng);
        const grads = e.layers.map((l) => ({ weight: tf.squeeze(l.weight, [0]), bias: tf.squeeze(l.bias, [0]) }));
        opt.step(net, grads, 1e-4);
        net.layers[0].bias.dataSync();
        tf.dispose(grads);
        disposeEstimate(e);
      };
      step();
      if (!expensive) step();
      const reps = expensive ? 1 : label.startsWith('fashion') ? 3 : 5;
      const per = expensive ? 1 : 3;
      const seconds =
        bestOf(reps, () => {
          for (let i = 0; i < per; i++) step();
        }) / per;
      rows.push({
        backend: info.name,
        model: label,
        estimator: entry,
        msPerStep: 1000 * seconds,
        samplesPerSecond: batch / seconds,
      });
      opt.dispose();
    }
    tf.dispose([x, y]);
    disposeNetwork(net);
  }
  return { rows, throughput };
}

async function main(): Promise<void> {
  const results = await perBackend('bench:train', child);
  if (!results) return;
  const rows = results.flatMap((r) => r.rows);
  const throughput = results.flatMap((r) => r.throughput);
  const lines: string[] = [];
  for (const m of [...new Set(rows.map((r) => r.model))]) {
    lines.push('', `${m}, batch 64: samples/s per training step (ms per step)`);
    const bs = [...new Set(rows.map((r) => r.backend))];
    lines.push(['estimator'.padEnd(18), ...bs.map((b) => b.padStart(22))].join(''));
    for (const { label: e } of ENTRIES) {
      lines.push(
        [
          e.padEnd(18),
          ...bs.map((b) => {
            const r = rows.find((x) => x.model === m && x.backend === b && x.estimator === e);
            const missing = MLP_ONLY.has(e) ? 'not timed' : '—';
            return (r ? `${r.samplesPerSecond.toFixed(0)} (${r.msPerStep.toFixed(1)})` : missing).padStart(22);
          }),
        ].join(''),
      );
    }
    for (const b of bs) {
      const ms = (e: string) => rows.find((x) => x.model === m && x.backend === b && x.estimator === e)!.msPerStep;
      lines.push(
        `  ${b}: PSA / DSTE = ${(ms('psa') / ms('dste')).toFixed(2)}, ` +
          `DSTE / tanh network = ${(ms('dste') / ms('tanh')).toFixed(2)}`,
      );
    }
  }
  lines.push('', 'throughput (GFLOP/s)');
  for (const t of throughput) lines.push(`  ${t.backend.padEnd(11)} ${t.what.padEnd(38)} ${t.gflops.toFixed(1)}`);
  console.log(lines.join('\n'));
  process.stderr.write(
    `bench:train: results in ${path.relative(process.cwd(), writeResults('train.json', { rows, throughput }))}\n`,
  );
}

void main();
