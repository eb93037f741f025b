// test-backends: each
// The native dense steps (native/src/dense_step.cc via src/engine/estimators/denseStep.ts) — DSTE's and PSA's —
// against the tfjs paths they replace (straightThrough.ts and psa.ts, the references, with every native kernel
// off): on random all-dense networks, both codings, logistic and normal noise, both output losses, one draw and
// several, the loss and every weight and bias gradient agree within float tolerance (1e-5 of the largest reference
// value per tensor) and both paths consume the random stream alike. The states are sampled from the same counter
// stream: a differing state would move a gradient far beyond tolerance. Skipped, with the reason, when the addon was
// built without a BLAS or SBN_KERNELS=js.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend';
import { nativeKernels, setNativeKernelsEnabled } from '../../src/engine/kernels';
import { disposeNetwork, initNetwork } from '../../src/engine/model/network';
import { Rng } from '../../src/engine/rng';
import { dste } from '../../src/engine/estimators/straightThrough';
import { psa } from '../../src/engine/estimators/psa';
import { denseStepKernel, type DenseStepEstimator } from '../../src/engine/estimators/denseStep';
import type { Estimator } from '../../src/engine/estimators/types';
import {
  assertNativeMatchesTfjs,
  assertSameBitsAtThreadCounts,
  denseStepInputs,
  denseStepsArrays,
  nativeStepSkip,
} from './helpers/nativeStep';
import type { ModelSpec, NoiseKind, OutputLoss, StateCoding } from '../../src/engine/spec/types';
import { gradientDrawsPass, type Dataset } from '../../src/engine/gradients/draws';
import { runToEnd } from '../../src/engine/passes';

const skip = nativeStepSkip('denseStep');

before(async () => {
  await initBackend();
});
after(() => setNativeKernelsEnabled(true));

function spec(states: StateCoding, noise: NoiseKind, loss: OutputLoss, sizes: number[]): ModelSpec {
  return {
    name: 'dense-step',
    input: { shape: [sizes[0]] },
    states,
    noise,
    layers: sizes.slice(1, -1).map((units) => ({ type: 'dense' as const, units })),
    output: { units: sizes[sizes.length - 1], loss },
  };
}

interface Case {
  states: StateCoding;
  noise: NoiseKind;
  loss: OutputLoss;
  sizes: number[];
  rows: number;
  groups: number;
}

const CASES: Case[] = [
  { states: 'pm1', noise: 'logistic', loss: 'nll', sizes: [37, 29, 23, 5], rows: 32, groups: 1 },
  { states: '01', noise: 'logistic', loss: 'nll', sizes: [37, 29, 23, 5], rows: 32, groups: 4 },
  { states: 'pm1', noise: 'normal', loss: 'nll', sizes: [20, 64, 10], rows: 24, groups: 3 },
  { states: '01', noise: 'normal', loss: 'logistic', sizes: [16, 31, 17, 9, 1], rows: 16, groups: 1 },
  { states: 'pm1', noise: 'logistic', loss: 'logistic', sizes: [50, 40, 1], rows: 64, groups: 2 },
  { states: 'pm1', noise: 'logistic', loss: 'nll', sizes: [784, 128, 128, 10], rows: 64, groups: 1 },
];

const ESTIMATORS: [DenseStepEstimator, Estimator][] = [
  ['dste', dste],
  ['psa', psa],
];

function assertCaseMatchesTfjs(which: DenseStepEstimator, estimator: Estimator, c: Case): void {
  const net = initNetwork(spec(c.states, c.noise, c.loss, c.sizes), new Rng(11));
  const data = new Rng(23);
  const x = tf.tensor2d(data.normals(c.rows * c.sizes[0]), [c.rows, c.sizes[0]]);
  const K = c.sizes[c.sizes.length - 1];
  const labels = Float32Array.from({ length: c.rows }, () => (c.loss === 'nll' ? data.int(K) : data.int(2) * 2 - 1));
  const batch = { x, y: tf.tensor1d(labels), groups: c.groups };
  assert.ok(denseStepKernel(net, which), 'the native step is chosen for an all-dense network');
  try {
    assertNativeMatchesTfjs(estimator, net, batch, () =>
      assert.equal(denseStepKernel(net, which), undefined, 'switched off with the native kernels'),
    );
  } finally {
    tf.dispose([x, batch.y]);
    disposeNetwork(net);
  }
}

for (const [which, estimator] of ESTIMATORS)
  for (const c of CASES) {
    const name = `${c.states} ${c.noise} ${c.loss} ${c.sizes.join('-')}, ${c.rows} rows in ${c.groups} draw(s)`;
    test(`native dense ${which.toUpperCase()} step equals the tfjs path: ${name}`, { skip }, () =>
      assertCaseMatchesTfjs(which, estimator, c),
    );
  }

// F(a) and F'(a) of logistic noise come from the ISA's own routine (a vector exp on AVX2 and AVX-512); 33 rows of 29
// and 23 units leave a tail in every vector width.
test('native dense DSTE and PSA steps equal the tfjs path under every instruction set', { skip }, () => {
  const kernels = nativeKernels()!;
  const c: Case = { states: 'pm1', noise: 'logistic', loss: 'nll', sizes: [37, 29, 23, 5], rows: 33, groups: 1 };
  for (const isa of kernels.info().isas) {
    assert.ok(kernels.setIsa(isa), isa);
    try {
      for (const [which, estimator] of ESTIMATORS) assertCaseMatchesTfjs(which, estimator, c);
    } finally {
      kernels.setIsa('auto');
    }
  }
});

test('the native dense step is not chosen for a network with a conv layer', { skip }, () => {
  const conv: ModelSpec = {
    name: 'conv',
    input: { shape: [1, 6, 6] },
    states: 'pm1',
    noise: 'logistic',
    layers: [
      { type: 'conv', filters: 2, kernel: 3 },
      { type: 'dense', units: 5 },
    ],
    output: { units: 3, loss: 'nll' },
  };
  const net = initNetwork(conv, new Rng(1));
  assert.equal(denseStepKernel(net), undefined);
  assert.equal(denseStepKernel(net, 'psa'), undefined);
  disposeNetwork(net);
});

test("PSA's native dense step needs a hidden layer; DSTE's does not", { skip }, () => {
  const net = initNetwork(spec('pm1', 'logistic', 'nll', [6, 3]), new Rng(1));
  assert.ok(denseStepKernel(net));
  assert.equal(denseStepKernel(net, 'psa'), undefined);
  assert.throws(
    () =>
      nativeKernels()!.densePsaStep!(
        new Float32Array(12),
        [6, 3],
        1,
        [new Float32Array(18)],
        [new Float32Array(3)],
        [],
        1,
        -1,
        2,
        'logistic',
        new Float32Array([0, 2]),
        'nll',
      ),
    /densePsaStep: needs at least one hidden layer/,
  );
  disposeNetwork(net);
});

test('the native dense step says which argument is wrong', { skip }, () => {
  const kernels = nativeKernels()!;
  const w = new Float32Array(6);
  const b = new Float32Array(3);
  assert.throws(
    () =>
      kernels.denseStep!(
        new Float32Array(4),
        [2, 3],
        1,
        [w],
        [b],
        [],
        1,
        -1,
        2,
        'logistic',
        new Float32Array([0, 5]),
        'nll',
      ),
    /denseStep: labels must be class indices 0…2/,
  );
  assert.throws(
    () =>
      kernels.denseStep!(
        new Float32Array(4),
        [2, 3],
        1,
        [new Float32Array(5)],
        [b],
        [],
        1,
        -1,
        2,
        'logistic',
        b,
        'nll',
      ),
    /denseStep: weights\[0\] must be a Float32Array of out·in values/,
  );
});

test('the native dense steps write into `out` when given: the same bits as new arrays', { skip }, () => {
  const kernels = nativeKernels()!;
  const data = new Rng(4);
  const sizes = [30, 20, 12, 5];
  const rows = 16;
  const x = data.normals(rows * sizes[0]);
  const weights = sizes.slice(1).map((out, k) => data.normals(out * sizes[k]).map((v) => v * 0.2));
  const biases = sizes.slice(1).map((out) => data.normals(out));
  const labels = Float32Array.from({ length: rows }, () => data.int(5));
  const asBits = (r: { loss: Float32Array; weights: Float32Array[]; biases: Float32Array[] }) =>
    [r.loss, ...r.weights, ...r.biases].map((a) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length)));
  for (const entry of ['denseStep', 'densePsaStep'] as const) {
    const run = (out?: { loss: Float32Array; weights: Float32Array[]; biases: Float32Array[] }) =>
      kernels[entry]!(x, sizes, 2, weights, biases, [3, 4], 1, -1, 2, 'logistic', labels, 'nll', out);
    const fresh = run();
    // filled with NaN: every value must be written
    const out = {
      loss: new Float32Array(2).fill(NaN),
      weights: fresh.weights.map((w) => new Float32Array(w.length).fill(NaN)),
      biases: fresh.biases.map((b) => new Float32Array(b.length).fill(NaN)),
    };
    assert.equal(run(out), out, entry);
    assert.deepEqual(asBits(out), asBits(fresh), entry);
    assert.throws(
      () => run({ ...out, weights: [out.weights[0], new Float32Array(3), out.weights[2]] }),
      new RegExp(`${entry}: out.weights\\[1\\] must be a Float32Array of 480 values`),
    );
    assert.throws(
      () => run({ ...out, biases: [out.biases[0], biases[1], out.biases[2]] }),
      new RegExp(`${entry}: out.biases\\[1\\] must be a Float32Array of 24 values`),
    );
    // the parameters are read after their gradients are written: an output sharing memory with an input (a
    // parameter's array, a view into the batch) or with another output is refused
    type Out = { loss: Float32Array; weights: Float32Array[]; biases: Float32Array[] };
    const separate = (): Out => ({
      loss: new Float32Array(1),
      weights: weights.map((w) => new Float32Array(w.length)),
      biases: biases.map((b) => new Float32Array(b.length)),
    });
    const shared = new RegExp(`${entry}: out must not share memory with the inputs or with itself`);
    const one = (into: Out) =>
      kernels[entry]!(x, sizes, 1, weights, biases, [3, 4], 1, -1, 2, 'logistic', labels, 'nll', into);
    const intoWeight = separate();
    intoWeight.weights[2] = weights[2];
    assert.throws(() => one(intoWeight), shared);
    const intoX = separate();
    intoX.biases[0] = x.subarray(5, 5 + biases[0].length);
    assert.throws(() => one(intoX), shared);
    const buffer = new Float32Array(weights[1].length + 4);
    const twoInOne = separate();
    twoInOne.weights[1] = buffer.subarray(0, weights[1].length);
    twoInOne.biases[2] = buffer.subarray(buffer.length - biases[2].length);
    assert.throws(() => one(twoInOne), shared);
    assert.doesNotThrow(() => one(separate()));
  }
});

test('the native dense steps give the same bits with 1, 2 and 3 threads', { skip }, () => {
  const kernels = nativeKernels()!;
  const sizes = [96, 200, 150, 10];
  const inputs = denseStepInputs(sizes, 64, 0.1);
  assertSameBitsAtThreadCounts(kernels, () => denseStepsArrays(kernels, sizes, 2, inputs));
});

test(
  'gradient draws of a native step (sbn grad, diagnostics, bias) keep the host arrays out of their tidy',
  { skip },
  () => {
    // 48 draws of a 784-512-512-10 net in one batch: the first layer's gradients alone are 19 M distinct host values.
    // tf.tidy walks its result value by value into a Set, so an estimate returned with its `host` arrays took minutes
    // and then threw "Set maximum size exceeded" (2²⁴ values; the hidden layers' ±1 inputs repeat values).
    const net = initNetwork(spec('pm1', 'logistic', 'nll', [784, 512, 512, 10]), new Rng(5));
    try {
      const rng = new Rng(6);
      const data: Dataset = {
        X: Array.from({ length: 4 }, () => Array.from({ length: 784 }, () => rng.uniform())),
        Y: [0, 1, 2, 3],
      };
      const before = tf.memory().numTensors;
      const summary = runToEnd(gradientDrawsPass(net, data, 'dste', { draws: 48, seed: 7, maxRows: 48 * 4 }));
      assert.equal(summary.layers.length, 3);
      assert.ok(
        summary.layers.every((l) => l.mean.every(Number.isFinite)),
        'finite mean gradients',
      );
      assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
    } finally {
      disposeNetwork(net);
    }
  },
);
