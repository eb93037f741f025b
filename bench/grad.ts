// `npm run bench:grad`: gradient draws per second of every estimator on the paper's 5-5-5 net (200 points,
// draws stacked as in `sbn gradeval`) and on a dense SBN 784-512-512-10 with batch 64, on every backend
// that loads here, with the PSA / DSTE step ratio measured in the same run; and `sbn grad`'s draws
// (gradientDraws) on two conv nets next to their dense equivalents (the same net unfolded into dense layers,
// model/denseEquivalent.ts), with the conv / dense-equivalent time per draw. Each backend runs in its own
// process (the tfjs backend is global per process). Timings: best of several repetitions after warm-up.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/engine/backend';
import {
  disposeNetwork,
  flatParameters,
  initNetwork,
  modelGeometry,
  networkFromValues,
  networkValues,
  type LayerValues,
  type Network,
} from '../src/engine/model/network';
import { codingOf } from '../src/engine/model/coding';
import { noiseOf } from '../src/engine/model/noise';
import { denseEquivalent } from '../src/engine/model/denseEquivalent';
import { gradientDraws, type Dataset } from '../src/engine/gradients/draws';
import { Rng } from '../src/engine/rng';
import { createEstimator, disposeEstimate, ESTIMATOR_NAMES, type EstimatorName } from '../src/engine/estimators';
import { exactGradient } from '../src/engine/estimators/exact';
import type { ModelSpec } from '../src/engine/spec/types';
import { AUTHORS_CHECKPOINTS_FILE, authorsReferenceDir } from '../src/cli/reference';
import { MLP_784_512_512_10 as MLP, bestOf, perBackend, writeResults } from './common';

interface Row {
  backend: string;
  net: string;
  estimator: string;
  drawsPerSecond: number;
  msPerDraw: number;
}

const GRADEVAL: ModelSpec = {
  name: 'gradeval-5-5-5',
  input: { shape: [2] },
  states: '01',
  noise: 'logistic',
  layers: [
    { type: 'dense', units: 5 },
    { type: 'dense', units: 5 },
    { type: 'dense', units: 5 },
  ],
  output: { units: 1, loss: 'logistic' },
};

/**
 * A small conv net on 20 points, as `sbn grad` runs small models: hundreds of draws per stacked batch, where a
 * per-draw cost shows most.
 */
const SMALL_CONV: ModelSpec = {
  name: 'conv-2x8x8',
  input: { shape: [2, 8, 8] },
  states: 'pm1',
  noise: 'logistic',
  layers: [
    { type: 'conv', filters: 4, kernel: 3, stride: 1, padding: 1 },
    { type: 'conv', filters: 4, kernel: 3, stride: 2, padding: 1 },
    { type: 'flatten' },
  ],
  output: { units: 3, loss: 'nll' },
};
/** The Fashion-MNIST example's layers (examples/fashion-conv-psa.sbn.yaml) on the diagnostics batch of 32 rows. */
const FASHION_CONV: ModelSpec = {
  name: 'fashion-conv',
  input: { shape: [1, 28, 28] },
  states: 'pm1',
  noise: 'logistic',
  layers: [
    { type: 'conv', filters: 16, kernel: 3, stride: 2, padding: 1 },
    { type: 'conv', filters: 32, kernel: 3, stride: 2, padding: 1 },
    { type: 'flatten' },
    { type: 'dense', units: 256 },
  ],
  output: { units: 10, loss: 'nll' },
};
/** Conv cases: the model, its data rows, the draws timed per repetition, the estimators. */
const CONV_CASES: { spec: ModelSpec; points: number; draws: number; estimators: EstimatorName[] }[] = [
  { spec: SMALL_CONV, points: 20, draws: 1000, estimators: ['dste', 'psa', 'reinforce'] },
  { spec: FASHION_CONV, points: 32, draws: 20, estimators: ['dste', 'psa'] },
];

/** The dense equivalent of a net: every affine layer unfolded into a dense one (channel-major units). */
function denseEquivalentNetwork(net: Network): Network {
  const flat = flatParameters(net);
  const forms = net.geometry.map((g, k) => {
    const nW = flat[k].length - (g.kind === 'dense' ? g.units : g.filters);
    return denseEquivalent(g, flat[k].subarray(0, nW), flat[k].subarray(nW)).layer;
  });
  const spec: ModelSpec = {
    ...net.spec,
    name: `${net.spec.name} (dense equivalent)`,
    input: { shape: [forms[0].in] },
    layers: forms.slice(0, -1).map((f) => ({ type: 'dense' as const, units: f.out })),
  };
  const { geometry, names } = modelGeometry(spec);
  return {
    spec,
    coding: codingOf(spec.states),
    noise: noiseOf(spec.noise),
    geometry,
    layers: forms.map((f) => ({
      weight: tf.tensor2d(Float32Array.from(f.weight), [f.out, f.in]),
      bias: tf.tensor1d(Float32Array.from(f.bias)),
    })),
    layerNames: names,
  };
}

/** `sbn grad`'s draws on each conv case and on its dense equivalent, same data and seed. */
function convRows(backend: string, rng: Rng): Row[] {
  const rows: Row[] = [];
  for (const c of CONV_CASES) {
    const conv = initNetwork(c.spec, rng);
    const dense = denseEquivalentNetwork(conv);
    const inputs = conv.geometry[0].inShape.reduce((a, b) => a * b, 1);
    const data: Dataset = {
      X: Array.from({ length: c.points }, () => Array.from(rng.uniforms(inputs))),
      Y: Array.from({ length: c.points }, () => rng.int(c.spec.output.units)),
    };
    for (const name of c.estimators) {
      for (const [net, label] of [
        [conv, `${c.spec.name} conv (${c.points} points)`],
        [dense, `${c.spec.name} dense equivalent (${c.points} points)`],
      ] as const) {
        const run = () => gradientDraws(net, data, name, { draws: c.draws, seed: 1 });
        run();
        const seconds = bestOf(3, run);
        rows.push({
          backend,
          net: label,
          estimator: name,
          drawsPerSecond: c.draws / seconds,
          msPerDraw: (1000 * seconds) / c.draws,
        });
      }
    }
    disposeNetwork(conv);
    disposeNetwork(dense);
  }
  return rows;
}

/** The authors' chk-100 and their 200 points (reference/authors-psa-neurips2020). */
function authorsCheckpoint(): { layers: LayerValues[]; X: number[][]; Y: number[] } {
  const file = path.join(authorsReferenceDir(), AUTHORS_CHECKPOINTS_FILE);
  const d = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    X: number[][];
    Y: number[];
    checkpoints: Record<string, { layers: LayerValues[] }>;
  };
  return { layers: d.checkpoints['chk-100'].layers, X: d.X, Y: d.Y };
}

async function child(backend: string): Promise<Row[]> {
  const info = await initBackend(backend);
  const rows: Row[] = [];
  const rng = new Rng(1);
  // 5-5-5: the authors' checkpoint on their data
  const smallData = authorsCheckpoint();
  const small = networkFromValues(GRADEVAL, smallData.layers);
  const G = 1000; // draws stacked into one batch, as `sbn gradeval` does
  const xs = tf.tile<tf.Tensor2D>(tf.tensor2d(smallData.X), [G, 1]);
  const ys = tf.tile<tf.Tensor1D>(tf.tensor1d(smallData.Y, 'float32'), [G]);
  for (const name of ESTIMATOR_NAMES) {
    const values = networkValues(small);
    const est = name === 'exact' ? undefined : createEstimator(name);
    const draws = est ? G : 1;
    const run = () => {
      if (!est) {
        exactGradient(GRADEVAL, values, smallData.X, smallData.Y);
        return;
      }
      const e = est.estimate(small, { x: xs, y: ys, groups: G }, rng);
      e.layers.forEach((l) => l.weight.dataSync());
      disposeEstimate(e);
    };
    run();
    const seconds = bestOf(5, run);
    rows.push({
      backend: info.name,
      net: '5-5-5 (200 points)',
      estimator: name,
      drawsPerSecond: draws / seconds,
      msPerDraw: (1000 * seconds) / draws,
    });
  }
  // 784-512-512-10, batch 64: one draw = one gradient step's estimate
  const mlp: Network = initNetwork(MLP, rng);
  const x = tf.tensor2d(rng.uniforms(64 * 784), [64, 784]);
  const y = tf.tensor1d(
    Array.from({ length: 64 }, () => rng.int(10)),
    'float32',
  );
  for (const name of ESTIMATOR_NAMES) {
    if (name === 'exact') continue;
    const est = createEstimator(name, { baseline: 'none' });
    const step = () => {
      const e = est.estimate(mlp, { x, y, groups: 1 }, rng);
      e.layers.forEach((l) => l.weight.dataSync());
      disposeEstimate(e);
    };
    for (let i = 0; i < 2; i++) step();
    const perRep = 5;
    const seconds =
      bestOf(5, () => {
        for (let i = 0; i < perRep; i++) step();
      }) / perRep;
    rows.push({
      backend: info.name,
      net: '784-512-512-10 (batch 64)',
      estimator: name,
      drawsPerSecond: 1 / seconds,
      msPerDraw: 1000 * seconds,
    });
  }
  rows.push(...convRows(info.name, rng));
  return rows;
}

interface ConvRatio {
  backend: string;
  model: string;
  estimator: string;
  convMsPerDraw: number;
  denseEquivalentMsPerDraw: number;
  convOverDenseEquivalent: number;
}

function convRatios(rows: Row[]): ConvRatio[] {
  const out: ConvRatio[] = [];
  for (const c of CONV_CASES) {
    for (const backend of [...new Set(rows.map((r) => r.backend))]) {
      for (const estimator of c.estimators) {
        const ms = (kind: string) =>
          rows.find(
            (r) => r.backend === backend && r.estimator === estimator && r.net.startsWith(`${c.spec.name} ${kind}`),
          )?.msPerDraw;
        const conv = ms('conv');
        const dense = ms('dense');
        if (conv === undefined || dense === undefined) continue;
        out.push({
          backend,
          model: c.spec.name,
          estimator,
          convMsPerDraw: conv,
          denseEquivalentMsPerDraw: dense,
          convOverDenseEquivalent: conv / dense,
        });
      }
    }
  }
  return out;
}

function table(rows: Row[]): string {
  const lines: string[] = [];
  for (const net of [...new Set(rows.map((r) => r.net))]) {
    const backends = [...new Set(rows.map((r) => r.backend))];
    lines.push('', `${net}: draws per second (ms per draw)`);
    lines.push(['estimator'.padEnd(14), ...backends.map((b) => b.padStart(22))].join(''));
    for (const est of [...new Set(rows.filter((r) => r.net === net).map((r) => r.estimator))]) {
      lines.push(
        [
          est.padEnd(14),
          ...backends.map((b) => {
            const r = rows.find((x) => x.net === net && x.backend === b && x.estimator === est);
            return (r ? `${r.drawsPerSecond.toFixed(1)} (${r.msPerDraw.toFixed(2)})` : '—').padStart(22);
          }),
        ].join(''),
      );
    }
    for (const b of backends) {
      const ms = (e: EstimatorName) =>
        rows.find((r) => r.net === net && r.backend === b && r.estimator === e)?.msPerDraw;
      const psa = ms('psa');
      const dste = ms('dste');
      if (psa && dste) lines.push(`  ${b}: PSA step / DSTE step = ${(psa / dste).toFixed(2)}`);
    }
  }
  const ratios = convRatios(rows);
  for (const model of [...new Set(ratios.map((r) => r.model))]) {
    lines.push('', `${model}: conv / dense equivalent, time per draw`);
    for (const b of [...new Set(ratios.map((r) => r.backend))]) {
      const these = ratios.filter((r) => r.model === model && r.backend === b);
      lines.push(`  ${b}: ${these.map((r) => `${r.estimator} ${r.convOverDenseEquivalent.toFixed(2)}`).join(', ')}`);
    }
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const results = await perBackend('bench:grad', child);
  if (!results) return;
  const rows = results.flat();
  console.log(table(rows));
  const file = writeResults('grad.json', { rows, convOverDenseEquivalent: convRatios(rows) });
  process.stderr.write(`bench:grad: results in ${path.relative(process.cwd(), file)}\n`);
}

void main();
