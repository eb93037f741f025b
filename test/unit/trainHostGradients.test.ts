// test-backends: each
// A training step's host route (src/engine/train/trainer.ts: the native dense step's arrays clipped and checked by
// the addon's clipFinite, then handed to the optimiser without TensorFlow.js ops) against the tensor route it
// shortcuts (SBN_DENSE_STEP=tensors: the same native step, its gradients through tf.clipByValue, tf.isFinite and
// the optimiser's reads): after several steps of DSTE and PSA with SGD-Nesterov, plain SGD and Adam, clipped and
// unclipped, every parameter, every optimiser slot and every loss are identical bit for bit, and a non-finite loss
// stops both routes with the same message. Skipped, with the reason, when the addon has no dense step.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend';
import { kernelsInfo, nativeKernels } from '../../src/engine/kernels';
import { disposeNetwork, initNetwork, type Network } from '../../src/engine/model/network';
import { Rng } from '../../src/engine/rng';
import { dste } from '../../src/engine/estimators/straightThrough';
import { psa } from '../../src/engine/estimators/psa';
import { denseStepKernel } from '../../src/engine/estimators/denseStep';
import type { Estimator } from '../../src/engine/estimators/types';
import { createOptimizer } from '../../src/engine/train/optimizer';
import { trainStep, type StepState } from '../../src/engine/train/trainer';
import type { ModelSpec, OptimizerSpec } from '../../src/engine/spec/types';

const skip = nativeKernels()?.denseStep
  ? false
  : nativeKernels()
    ? 'the native kernels were built without OpenBLAS (libopenblas-dev; then node scripts/build-kernels.mjs --force)'
    : `native kernels unavailable: ${kernelsInfo().detail}`;

const savedMode = process.env.SBN_DENSE_STEP;
before(async () => {
  await initBackend();
});
after(() => setRoute(savedMode));

function setRoute(mode: string | undefined): void {
  if (mode === undefined) delete process.env.SBN_DENSE_STEP;
  else process.env.SBN_DENSE_STEP = mode;
}

const SPEC: ModelSpec = {
  name: 'host-gradients',
  input: { shape: [40] },
  states: 'pm1',
  noise: 'logistic',
  layers: [
    { type: 'dense', units: 32 },
    { type: 'dense', units: 24 },
  ],
  output: { units: 5, loss: 'nll' },
};
const ROWS = 16;
const STEPS = 6;

/** Bit patterns: equal floats, equal NaN payloads, and −0 ≠ +0. */
function bits(a: Float32Array | Int32Array | Uint8Array): Uint32Array {
  return new Uint32Array(Float32Array.from(a).buffer);
}

interface Run {
  losses: number[];
  params: Float32Array[];
  slots: Record<string, Float32Array>;
  kernelNames: Set<string>;
}

async function run(estimator: Estimator, optimizer: OptimizerSpec, clip: number, route: string): Promise<Run> {
  setRoute(route === 'host' ? undefined : route);
  const net: Network = initNetwork(SPEC, new Rng(3));
  const s: StepState = { net, optimizer: createOptimizer(optimizer), estimator, noise: new Rng(8), step: 0 };
  const data = new Rng(21);
  const losses: number[] = [];
  const kernelNames = new Set<string>();
  let tensorsAfterFirst = 0;
  try {
    for (let i = 0; i < STEPS; i++) {
      // large inputs so that a small clip bound really clips
      const x = Float32Array.from(data.normals(ROWS * 40), (v) => 4 * v);
      const y = Float32Array.from({ length: ROWS }, () => data.int(5));
      const lr = 0.05 * (i + 1);
      const info = await tf.profile(() => {
        losses.push(trainStep(s, { samples: 1, clip }, { x, y, n: ROWS }, lr));
        s.step++;
      });
      for (const k of info.kernelNames) kernelNames.add(k);
      if (i === 0) tensorsAfterFirst = tf.memory().numTensors;
    }
    assert.equal(tf.memory().numTensors, tensorsAfterFirst, `${route} route: no tensor left behind by a step`);
    const params = net.layers.flatMap((l) => [
      Float32Array.from(l.weight.dataSync()),
      Float32Array.from(l.bias.dataSync()),
    ]);
    const state = s.optimizer.state();
    const slots = Object.fromEntries(Object.entries(state.state).map(([k, v]) => [k, Float32Array.from(v.data)]));
    return { losses, params, slots, kernelNames };
  } finally {
    s.optimizer.dispose();
    disposeNetwork(net);
    setRoute(savedMode);
  }
}

const OPTIMIZERS: [string, OptimizerSpec][] = [
  ['SGD-Nesterov with weight decay', { type: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 1e-3 }],
  ['plain SGD', { type: 'sgd', momentum: 0 }],
  ['Adam with weight decay', { type: 'adam', weightDecay: 1e-3 }],
];

for (const estimator of [dste, psa])
  for (const [optName, optimizer] of OPTIMIZERS)
    for (const clip of [Infinity, 1e-3])
      test(`host route = tensor route bit for bit: ${estimator.name}, ${optName}, clip ${clip}`, { skip }, async () => {
        assert.ok(denseStepKernel(initNetworkOnce(), estimator.name === 'psa' ? 'psa' : 'dste'));
        const host = await run(estimator, optimizer, clip, 'host');
        const tensors = await run(estimator, optimizer, clip, 'tensors');
        // the routes really differ: the host route runs no TensorFlow.js op on the gradients
        assert.ok(tensors.kernelNames.has('IsFinite'), 'the tensor route checks with tf.isFinite');
        assert.ok(!host.kernelNames.has('IsFinite'), `host route ran ${[...host.kernelNames].join(', ')}`);
        assert.deepEqual(host.losses, tensors.losses, 'losses');
        assert.equal(host.params.length, tensors.params.length);
        host.params.forEach((p, i) => assert.deepEqual(bits(p), bits(tensors.params[i]), `parameter ${i}`));
        assert.deepEqual(Object.keys(host.slots).sort(), Object.keys(tensors.slots).sort(), 'optimiser slots');
        for (const [k, v] of Object.entries(host.slots)) assert.deepEqual(bits(v), bits(tensors.slots[k]), k);
        // a tight bound changes the update: the comparison is of clipped gradients
        if (Number.isFinite(clip)) {
          const unclipped = await run(estimator, optimizer, Infinity, 'host');
          assert.notDeepEqual(bits(unclipped.params[0]), bits(host.params[0]), 'the clip bound clips');
        }
      });

let probe: Network | undefined;
function initNetworkOnce(): Network {
  probe ??= initNetwork(SPEC, new Rng(1));
  return probe;
}
after(() => {
  if (probe) disposeNetwork(probe);
});

test('a non-finite loss stops both routes with the same message', { skip }, () => {
  const messages = ['host', 'tensors'].map((route) => {
    setRoute(route === 'host' ? undefined : route);
    const net = initNetwork(SPEC, new Rng(3));
    const w = net.layers[0].weight;
    const values = Float32Array.from(w.dataSync());
    values[0] = NaN;
    net.layers[0].weight = tf.tensor(values, w.shape, 'float32');
    w.dispose();
    const s: StepState = { net, optimizer: createOptimizer(undefined), estimator: dste, noise: new Rng(8), step: 0 };
    const x = new Float32Array(ROWS * 40).fill(1);
    const y = new Float32Array(ROWS);
    try {
      trainStep(s, { samples: 1, clip: Infinity }, { x, y, n: ROWS }, 0.1);
      return 'no error';
    } catch (e) {
      return (e as Error).message;
    } finally {
      s.optimizer.dispose();
      disposeNetwork(net);
      setRoute(savedMode);
    }
  });
  assert.match(messages[0], /non-finite/);
  assert.equal(messages[0], messages[1]);
});

// The contract is the tensorflow backend's tf.clipByValue (NaN stays NaN, ±∞ → ±clip, −0 kept) and tf.isFinite after
// it. The wasm backend's clipByValue maps NaN to the lower bound, which would hide a NaN gradient from the finiteness
// check; the host route keeps NaN and stops the step, so there the JavaScript statement of the contract is the check.
test('clipFinite gives tf.clipByValue and tf.isFinite values, NaN and ±∞ included', { skip }, () => {
  const k = nativeKernels()!;
  const rng = new Rng(4);
  const onTensorflow = tf.getBackend() === 'tensorflow';
  for (const n of [1, 7, 100, 4099]) {
    for (const special of [[], [NaN], [Infinity], [-Infinity], [NaN, Infinity]]) {
      const g = Float32Array.from(rng.normals(n));
      special.forEach((v, i) => (g[(i * 37) % n] = v));
      g[n - 1] = -0;
      for (const clip of [0.5, Infinity]) {
        const values = g.map((x) => (Number.isNaN(x) ? NaN : Math.min(Math.max(x, -clip), clip)));
        const expected = { values, finite: values.every((x) => Number.isFinite(x)) };
        if (onTensorflow) {
          const byTf = tf.tidy(() => {
            const t = tf.tensor1d(g);
            const c = Number.isFinite(clip) ? tf.clipByValue(t, -clip, clip) : t;
            return { values: c.dataSync().slice(), finite: tf.all(tf.isFinite(c)).dataSync()[0] === 1 };
          });
          assert.deepEqual(bits(values), bits(byTf.values as Float32Array), `tf.clipByValue, n ${n} ${special.join()}`);
          assert.equal(byTf.finite, expected.finite, `tf.isFinite, n ${n} ${special.join()} clip ${clip}`);
        }
        const actual = g.slice();
        const finite = k.clipFinite!(actual, clip);
        assert.deepEqual(bits(actual), bits(expected.values), `n ${n} ${special.join()} clip ${clip}`);
        assert.equal(finite, expected.finite, `n ${n} ${special.join()} clip ${clip}: finite`);
      }
    }
  }
});
