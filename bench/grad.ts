// `npm run bench:grad`: gradient draws per second of every estimator on the paper's 5-5-5 net (200 points,
// draws stacked as in `sbn gradeval`) and on a dense SBN 784-512-512-10 with batch 64, on every backend
// that loads here, with the PSA / DSTE step ratio measured in the same run. Each backend runs in its own
// process (the tfjs backend is global per process). Timings: best of several repetitions after warm-up.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/engine/backend';
import { initNetwork, networkFromValues, networkValues, type LayerValues, type Network } from '../src/engine/network';
import { Rng } from '../src/engine/rng';
import { createEstimator, disposeEstimate, ESTIMATOR_NAMES, type EstimatorName } from '../src/engine/estimators';
import { exactGradient } from '../src/engine/estimators/exact';
import type { ModelSpec } from '../src/engine/spec/types';
import { AUTHORS_CHECKPOINTS_FILE, authorsReferenceDir } from '../src/cli/reference';
import { bestOf, perBackend, writeResults } from './common';

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
const MLP: ModelSpec = {
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
  return rows;
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
  return lines.join('\n');
}

async function main(): Promise<void> {
  const results = await perBackend('bench:grad', child);
  if (!results) return;
  const rows = results.flat();
  console.log(table(rows));
  process.stderr.write(`bench:grad: results in ${path.relative(process.cwd(), writeResults('grad.json', { rows }))}\n`);
}

void main();
