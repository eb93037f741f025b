// test-backends: one
// `sbn export onnx`, run with onnxruntime-node on a dense and a conv model: `mean-field` gives the engine's
// deterministic pass (same predictions, probabilities to float tolerance), `sample` and `ensemble`, fed the noise the
// engine draws, the same flip-averaged probabilities as `sbn eval` computes (src/engine/train/evaluate.ts), and on
// the dense model the same accuracy as `sbn eval` prints.
import { before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { spawnSync } from 'node:child_process';
import { initBackend } from '../../src/engine/backend';
import { readCheckpoint } from '../../src/engine/runs';
import { initNetwork, loadTensorMap, disposeNetwork, type Network } from '../../src/engine/model/network';
import { loadRunData, readRunConfig } from '../../src/engine/train/session';
import { ensembleProbabilities, meanFieldProbabilities } from '../../src/engine/train/evaluate';
import { streamUniformsJs } from '../../src/engine/counterStream';
import { shapeSize } from '../../src/engine/spec/geometry';
import { Rng } from '../../src/engine/rng';
import type { Split } from '../../src/engine/data';
import { assertUsageError, sbnInProcess } from './helpers/cli';

before(async () => {
  await initBackend();
});

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-onnx-'));

async function trainRun(name: string, model: Record<string, unknown>): Promise<string> {
  const file = path.join(tmp, `${name}.sbn.json`);
  fs.writeFileSync(file, JSON.stringify(model));
  const out = path.join(tmp, `runs-${name}`);
  const r = await sbnInProcess('train', file, '--out', out, '--no-progress');
  assert.equal(r.code, 0, r.stderr);
  return path.join(out, fs.readdirSync(out)[0]);
}

/** Small images of three classes (which third of the image is bright), for a conv model. */
function imageData(): string {
  const rng = new Rng(5);
  const make = (n: number) => {
    const X: number[][] = [];
    const Y: number[] = [];
    for (let i = 0; i < n; i++) {
      const c = i % 3;
      X.push(Array.from({ length: 36 }, (_, j) => (Math.floor((j % 6) / 2) === c ? 0.8 : 0.1) + 0.3 * rng.uniform()));
      Y.push(c);
    }
    return { X, Y };
  };
  const train = make(90);
  const test = make(30);
  const file = path.join(tmp, 'images.json');
  fs.writeFileSync(file, JSON.stringify({ X: train.X, Y: train.Y, Xtest: test.X, Ytest: test.Y }));
  return file;
}

const trainSection = { estimator: 'psa', lr: 0.02, batchSize: 15, epochs: 2, evalSamples: 2 };
const models = {
  dense: {
    name: 'onnxdense',
    input: { shape: [2] },
    states: 'pm1',
    noise: 'logistic',
    layers: [
      { type: 'dense', units: 7 },
      { type: 'dense', units: 5 },
    ],
    output: { units: 1, loss: 'logistic' },
    data: { dataset: 'toy-2d', validation: 40 },
    train: trainSection,
  },
  conv: {
    name: 'onnxconv',
    input: { shape: [1, 6, 6] },
    states: '01',
    noise: 'normal',
    layers: [
      { type: 'conv', filters: 3, kernel: 3, stride: 2, padding: 1 },
      { type: 'flatten' },
      { type: 'dense', units: 6 },
    ],
    output: { units: 3, loss: 'nll' },
    data: { dataset: 'file', path: '', validation: 15 },
    train: trainSection,
  },
};

interface Loaded {
  dir: string;
  net: Network;
  split: Split;
  hiddenUnits: Array<{ name: string; shape: number[] }>;
}

async function load(kind: 'dense' | 'conv'): Promise<Loaded> {
  const model = structuredClone(models[kind]) as Record<string, unknown>;
  if (kind === 'conv') model.data = { dataset: 'file', path: imageData(), validation: 15 };
  const dir = await trainRun(kind, model);
  const config = readRunConfig(dir);
  const net = initNetwork(config.model, new Rng(0));
  loadTensorMap(net, readCheckpoint(dir).params);
  const data = loadRunData(config, dir);
  const split = data.test ?? data.validation!;
  const hiddenUnits = net.geometry.slice(0, -1).map((g, k) => ({
    name: net.layerNames[k],
    shape: g.kind === 'dense' ? [g.units] : g.outShape,
  }));
  return { dir, net, split, hiddenUnits };
}

async function runOnnx(file: string, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(file);
  const r = await session.run(feeds);
  return r.probabilities.data as Float32Array;
}

function inputTensor(l: Loaded): ort.Tensor {
  return new ort.Tensor('float32', Float32Array.from(l.split.x), [l.split.n, ...l.net.spec.input.shape]);
}

/** The uniforms the engine draws from `rng` for S samples of n rows: one counter stream per hidden layer. */
function engineNoise(l: Loaded, samples: number, seed: number): Record<string, ort.Tensor> {
  const rng = new Rng(seed);
  const feeds: Record<string, ort.Tensor> = {};
  for (const h of l.hiddenUnits) {
    const u = streamUniformsJs(samples * l.split.n * shapeSize(h.shape), rng.seed53(), 0);
    const dims = samples > 1 ? [samples, l.split.n, ...h.shape] : [l.split.n, ...h.shape];
    feeds[`noise_${h.name}`] = new ort.Tensor('float32', u, dims);
  }
  return feeds;
}

function argmaxRows(p: ArrayLike<number>, cols: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < p.length / cols; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (p[r * cols + c] > p[r * cols + best]) best = c;
    out.push(best);
  }
  return out;
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  assert.ok(worst <= tol, `${what}: max |difference| ${worst} > ${tol}`);
}

for (const kind of ['dense', 'conv'] as const) {
  test(`ONNX export of a ${kind} SBN runs in onnxruntime as the engine computes it`, async () => {
    const l = await load(kind);
    try {
      const classes = l.net.spec.output.loss === 'nll' ? l.net.spec.output.units : 2;
      // mean-field: the deterministic pass
      const mf = path.join(tmp, `${kind}-mf.onnx`);
      let r = await sbnInProcess('export', 'onnx', l.dir, '--out', mf, '--mode', 'mean-field');
      assert.equal(r.code, 0, r.stderr);
      const mfGot = await runOnnx(mf, { input: inputTensor(l) });
      const mfWant = meanFieldProbabilities(l.net, l.split.x, l.split.n);
      assertClose(mfGot, mfWant, 1e-5, 'mean-field probabilities');
      assert.deepEqual(argmaxRows(mfGot, classes), argmaxRows(mfWant, classes), 'mean-field predictions');

      // ensemble of K samples with the engine's noise
      const K = 8;
      const ens = path.join(tmp, `${kind}-ens.onnx`);
      r = await sbnInProcess('export', 'onnx', l.dir, '--out', ens, '--mode', 'ensemble', '--samples', String(K));
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`ensemble of ${K} samples.*noise_${l.hiddenUnits[0].name} \\[${K}, N`));
      const ensGot = await runOnnx(ens, { input: inputTensor(l), ...engineNoise(l, K, 1) });
      const ensWant = ensembleProbabilities(l.net, l.split.x, l.split.n, K, new Rng(1));
      assertClose(ensGot, ensWant, 1e-5, 'ensemble probabilities');
      // different noise gives different probabilities: the noise inputs are used
      const other = await runOnnx(ens, { input: inputTensor(l), ...engineNoise(l, K, 2) });
      assert.ok(
        other.some((v, i) => Math.abs(v - ensGot[i]) > 1e-3),
        'the noise inputs change the output',
      );

      // one sample
      const one = path.join(tmp, `${kind}-sample.onnx`);
      r = await sbnInProcess('export', 'onnx', l.dir, '--out', one, '--mode', 'sample');
      assert.equal(r.code, 0, r.stderr);
      const oneGot = await runOnnx(one, { input: inputTensor(l), ...engineNoise(l, 1, 3) });
      assertClose(oneGot, ensembleProbabilities(l.net, l.split.x, l.split.n, 1, new Rng(3)), 1e-5, 'sample');

      if (kind === 'dense') {
        // `sbn eval` draws its samples from Rng(--seed) in the same layout: the ensemble's accuracy is its line for K
        const ev = await sbnInProcess('eval', l.dir, '--split', 'validation', '--samples', String(K), '--seed', '1');
        assert.equal(ev.code, 0, ev.stderr);
        const line = new RegExp(`^\\s+${K}\\s+([0-9.]+)%$`, 'm').exec(ev.stdout);
        assert.ok(line, ev.stdout);
        const labels = Array.from(l.split.y, (y) => (y + 1) / 2);
        const acc = argmaxRows(ensGot, 2).filter((c, i) => c === labels[i]).length / l.split.n;
        assert.equal((100 * acc).toFixed(2), line[1]);
      }
    } finally {
      disposeNetwork(l.net);
    }
  });
}

const hasOnnx = spawnSync('python3', ['-c', 'import onnx'], { encoding: 'utf8' }).status === 0;

test(
  "the onnx package's checker accepts the exported models",
  { skip: hasOnnx ? false : 'the onnx Python package is not installed (pip install onnx); onnxruntime ran them above' },
  () => {
    const files = fs.readdirSync(tmp).filter((f) => f.endsWith('.onnx'));
    assert.ok(files.length >= 6, files.join());
    for (const f of files) {
      const r = spawnSync(
        'python3',
        [
          '-c',
          'import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)',
          path.join(tmp, f),
        ],
        { encoding: 'utf8' },
      );
      assert.equal(r.status, 0, `${f}: ${r.stderr}`);
    }
  },
);

test('sbn export onnx: bad flags are one line and exit code 2', async () => {
  const run = fs.readdirSync(tmp).find((f) => f.startsWith('runs-dense'));
  assert.ok(run, 'the dense model was trained first');
  const dir = path.join(tmp, run, fs.readdirSync(path.join(tmp, run))[0]);
  const out = path.join(tmp, 'x.onnx');
  assertUsageError(
    await sbnInProcess('export', 'onnx', dir, '--out', out, '--mode', 'exact'),
    /--mode: expected mean-field/,
  );
  assertUsageError(
    await sbnInProcess('export', 'onnx', dir, '--out', out, '--samples', '4'),
    /--samples: only with --mode ensemble/,
  );
  assertUsageError(
    await sbnInProcess('export', 'onnx', dir, '--out', out, '--mode', 'ensemble', '--samples', '0'),
    /--samples/,
  );
  assertUsageError(await sbnInProcess('export', 'onnx', path.join(tmp, 'nothing'), '--out', out), /no such run folder/);
  const loose = path.join(tmp, 'loose.json');
  fs.copyFileSync(path.join(dir, 'checkpoint.json'), loose);
  assertUsageError(await sbnInProcess('export', 'onnx', loose, '--out', out), /needs the run folder/);
});
