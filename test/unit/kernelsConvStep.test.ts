// test-backends: one
// The native conv DSTE and PSA steps (native/src/conv_step.cc and dense_step.cc via src/engine/estimators/denseStep.ts)
// against the tfjs paths they replace (straightThrough.ts and psa.ts, the references, with every native kernel off —
// PSA's ratio convolution then by its tfjs taps form): on random
// networks of conv layers (stride 1 and 2, padding 0 and 1), a flatten, dense layers and the output, both codings,
// logistic and normal noise, both output losses, one to three draws, and on the Fashion example's shapes, the loss
// and every weight and bias gradient agree within float tolerance (1e-5 of the largest reference value per tensor)
// and both paths consume the random stream alike. The states come from the same counter stream: a differing state
// would move a gradient far beyond tolerance. Skipped, with the reason, when the addon was built without a BLAS or
// SBN_KERNELS=js.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend';
import { nativeKernels, setNativeKernelsEnabled, type NativeKernels } from '../../src/engine/kernels';
import { disposeNetwork, initNetwork } from '../../src/engine/model/network';
import { Rng } from '../../src/engine/rng';
import { dste } from '../../src/engine/estimators/straightThrough';
import { psa } from '../../src/engine/estimators/psa';
import { convStepKernel, denseStepKernel } from '../../src/engine/estimators/denseStep';
import { inputTensor } from '../../src/engine/gradients/draws';
import { loadModelFile } from '../../src/engine/spec/parse';
import type { LayerSpec, ModelSpec, NoiseKind, OutputLoss, StateCoding } from '../../src/engine/spec/types';
import { repoRoot } from './helpers/fixtures';
import {
  assertNativeMatchesTfjs,
  assertSameBitsAtThreadCounts,
  denseStepInputs,
  denseStepsArrays,
  nativeStepSkip,
  stepArrays,
} from './helpers/nativeStep';

const skip = nativeStepSkip('convStep');

before(async () => {
  await initBackend();
});
after(() => setNativeKernelsEnabled(true));

interface Case {
  name: string;
  spec: ModelSpec;
  rows: number;
  groups: number;
}

function spec(
  states: StateCoding,
  noise: NoiseKind,
  loss: OutputLoss,
  input: number[],
  layers: LayerSpec[],
  units: number,
): ModelSpec {
  return { name: 'conv-step', input: { shape: input }, states, noise, layers, output: { units, loss } };
}

const conv = (filters: number, kernel: number, stride: number, padding: number): LayerSpec => ({
  type: 'conv',
  filters,
  kernel,
  stride,
  padding,
});

function fashionExample(): ModelSpec {
  const r = loadModelFile(path.join(repoRoot(), 'examples', 'fashion-conv-psa.sbn.yaml'));
  if (!r.ok) throw new Error(r.errors[0].message);
  return r.model;
}

const CASES: Case[] = [
  {
    name: 'pm1 logistic nll, conv s1 p0 → conv s2 p1 → flatten → dense → output',
    spec: spec(
      'pm1',
      'logistic',
      'nll',
      [2, 9, 9],
      [conv(3, 3, 1, 0), conv(4, 3, 2, 1), { type: 'flatten' }, { type: 'dense', units: 6 }],
      5,
    ),
    rows: 8,
    groups: 1,
  },
  {
    name: '01 logistic nll, conv s2 p0 → conv s1 p1 → flatten → dense → output, 2 draws',
    spec: spec(
      '01',
      'logistic',
      'nll',
      [3, 11, 10],
      [conv(4, 3, 2, 0), conv(5, 2, 1, 1), { type: 'flatten' }, { type: 'dense', units: 7 }],
      4,
    ),
    rows: 8,
    groups: 2,
  },
  {
    name: 'pm1 normal logistic loss, conv s1 p1 → conv s2 p0 → output, 3 draws',
    spec: spec('pm1', 'normal', 'logistic', [1, 8, 8], [conv(3, 3, 1, 1), conv(2, 3, 2, 0)], 1),
    rows: 9,
    groups: 3,
  },
  {
    name: '01 normal nll, conv k5 s2 p1 → flatten → dense → dense → output',
    spec: spec(
      '01',
      'normal',
      'nll',
      [2, 12, 12],
      [conv(6, 5, 2, 1), { type: 'flatten' }, { type: 'dense', units: 9 }, { type: 'dense', units: 8 }],
      3,
    ),
    rows: 6,
    groups: 1,
  },
  {
    name: 'pm1 logistic logistic loss, one conv s1 p0 → output',
    spec: spec('pm1', 'logistic', 'logistic', [2, 6, 7], [conv(3, 3, 1, 0)], 1),
    rows: 10,
    groups: 2,
  },
  {
    // 16 rows × 16 × 16 positions: the first layer's weight gradient is split along its 4 096 positions (conv_step.cc
    // gemmSplitInner); the second layer's 1 024 are not
    name: '01 logistic nll, conv s1 p1 on 16 × 16 → conv s2 p1 → output (a weight gradient split over positions)',
    spec: spec('01', 'logistic', 'nll', [2, 16, 16], [conv(4, 3, 1, 1), conv(3, 3, 2, 1)], 5),
    rows: 16,
    groups: 1,
  },
  { name: 'the Fashion example (examples/fashion-conv-psa.sbn.yaml)', spec: fashionExample(), rows: 4, groups: 1 },
  { name: 'the Fashion example, 2 draws', spec: fashionExample(), rows: 4, groups: 2 },
];

for (const estimator of [dste, psa])
  for (const c of CASES)
    test(`native conv ${estimator.name} step equals the tfjs path: ${c.name}, ${c.rows} rows`, { skip }, () => {
      const net = initNetwork(c.spec, new Rng(11));
      const data = new Rng(23);
      const n = c.spec.input.shape.reduce((a, b) => a * b, 1);
      const x = inputTensor(net, data.normals(c.rows * n), c.rows);
      const K = c.spec.output.units;
      const labels = Float32Array.from({ length: c.rows }, () =>
        c.spec.output.loss === 'nll' ? data.int(K) : data.int(2) * 2 - 1,
      );
      const batch = { x, y: tf.tensor1d(labels), groups: c.groups };
      const which = estimator.name === 'psa' ? 'psa' : 'dste';
      assert.ok(convStepKernel(net, which), 'the native conv step is chosen for a network with conv layers');
      assert.equal(denseStepKernel(net, which), undefined, 'not the dense step');
      try {
        assertNativeMatchesTfjs(
          estimator,
          net,
          batch,
          () => assert.equal(convStepKernel(net, which), undefined, 'switched off with the native kernels'),
          (native) => assert.ok(native.host, 'the native step hands host arrays to the trainer'),
        );
      } finally {
        tf.dispose([x, batch.y]);
        disposeNetwork(net);
      }
    });

test('SBN_DENSE_STEP=tfjs keeps conv DSTE and PSA on the tfjs path', { skip }, () => {
  const net = initNetwork(CASES[0].spec, new Rng(1));
  const saved = process.env.SBN_DENSE_STEP;
  try {
    process.env.SBN_DENSE_STEP = 'tfjs';
    assert.equal(convStepKernel(net), undefined);
    assert.equal(convStepKernel(net, 'psa'), undefined);
  } finally {
    if (saved === undefined) delete process.env.SBN_DENSE_STEP;
    else process.env.SBN_DENSE_STEP = saved;
    disposeNetwork(net);
  }
});

type ConvStepArgs = Parameters<NonNullable<NativeKernels['convStep']>>;

/** convStep's arguments for a conv(2 filters, 3×3) → output(3) net on [1, 5, 5] inputs, with `change` applied. */
function convStepArgs(change: (a: ConvStepArgs) => void): ConvStepArgs {
  const args: ConvStepArgs = [
    new Float32Array(2 * 25),
    [
      [1, 5, 5, 2, 3, 1, 0],
      [2, 3, 3, 3, 0, 0, 0],
    ],
    1,
    [new Float32Array(9 * 2), new Float32Array(3 * 18)],
    [new Float32Array(2), new Float32Array(3)],
    [7],
    1,
    -1,
    2,
    'logistic',
    new Float32Array([0, 2]),
    'nll',
  ];
  change(args);
  return args;
}

test('the native conv steps say which argument is wrong', { skip }, () => {
  const step = nativeKernels()!.convStep!;
  assert.doesNotThrow(() => step(...convStepArgs(() => undefined)));
  assert.doesNotThrow(() => nativeKernels()!.convPsaStep!(...convStepArgs(() => undefined)));
  assert.throws(
    () => nativeKernels()!.convPsaStep!(...convStepArgs((a) => (a[0] = new Float32Array(49)))),
    /convPsaStep: x's length is not a multiple of sizes\[0\]/,
  );
  const cases: [(a: ConvStepArgs) => void, RegExp][] = [
    [(a) => (a[1][1] = [2, 3, 4, 3, 0, 0, 0]), /convStep: layers\[1\] must read layers\[0\]'s output/],
    [(a) => (a[1][0] = [1, 5, 5, 2, 7, 1, 0]), /convStep: layers\[0\]: the convolution has no output/],
    [(a) => (a[1][0] = [1, 5, 5, 2, 3]), /convStep: layers\[0\] must be \[C, H, W, out, kernel, stride, padding\]/],
    [(a) => (a[1] = [[1, 5, 5, 2, 3, 1, 0]]), /convStep: the last layer \(the output\) must be dense/],
    [(a) => (a[3][0] = new Float32Array(17)), /convStep: weights\[0\] must be a Float32Array of K·K·C·out values/],
    [(a) => (a[4][0] = new Float32Array(3)), /convStep: biases\[0\] must be a Float32Array of out values/],
    [(a) => (a[0] = new Float32Array(49)), /convStep: x's length is not a multiple of sizes\[0\]/],
  ];
  for (const [change, message] of cases) assert.throws(() => step(...convStepArgs(change)), message);
});

test('the native conv steps give the same bits with 1, 2 and 3 threads', { skip }, () => {
  const kernels = nativeKernels()!;
  const data = new Rng(3);
  const layers = [
    [3, 16, 16, 8, 3, 1, 1],
    [8, 16, 16, 12, 3, 2, 0],
    [12, 7, 7, 40, 0, 0, 0],
    [40, 1, 1, 10, 0, 0, 0],
  ];
  const rows = 32;
  const x = data.normals(rows * 3 * 16 * 16);
  const weights = [8 * 27, 12 * 72, 40 * 12 * 49, 10 * 40].map((n) => data.normals(n).map((v) => v * 0.2));
  const biases = [8, 12, 40, 10].map((n) => data.normals(n));
  const labels = Float32Array.from({ length: rows }, () => data.int(10));
  assertSameBitsAtThreadCounts(kernels, () =>
    (['convStep', 'convPsaStep'] as const).flatMap((entry) =>
      stepArrays(kernels[entry]!(x, layers, 2, weights, biases, [7, 9, 11], 1, -1, 2, 'logistic', labels, 'nll')),
    ),
  );
});

// The steps' products run in blocks fixed by the shapes (conv_step.cc gemm): OpenBLAS's own threads gave a 784-input
// dense layer's product other last bits at 2 threads than at 1, which the dense steps' own test (96 inputs) missed.
test('the native dense steps give the same bits with 1, 2 and 3 threads at 784-512-512-10', { skip }, () => {
  const kernels = nativeKernels()!;
  const sizes = [784, 512, 512, 10];
  const inputs = denseStepInputs(sizes, 64, 0.05);
  assertSameBitsAtThreadCounts(kernels, () => denseStepsArrays(kernels, sizes, 1, inputs));
});
