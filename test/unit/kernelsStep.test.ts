// test-backends: each
// The native kernels of a training step against what they replace, bit for bit:
//  - the fused optimiser updates (native/src/optimizer.cc) against the TensorFlow.js ops of
//    src/engine/train/optimizer.ts: the same parameters and slots after several steps, for SGD (Nesterov, plain
//    momentum, none, weight decay) and Adam, and a state saved by one path continues identically in the other;
//  - sampleStates (native/src/sampling.cc) against its JavaScript twin and against the Bernoulli draw on the
//    channel-major transpose mapped to the coding's values (what the engine did before).
// Skipped, with the reason, when the addon is not built or SBN_KERNELS=js.
import { before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend';
import { kernelsInfo, nativeKernels } from '../../src/engine/kernels';
import { createOptimizer, type Optimizer } from '../../src/engine/train/optimizer';
import { disposeNetwork, initNetwork, type Network } from '../../src/engine/model/network';
import { Rng } from '../../src/engine/rng';
import { bernoulliJs, sampleStatesJs } from '../../src/engine/counterStream';
import type { ModelSpec, OptimizerSpec } from '../../src/engine/spec/types';

const kernels = nativeKernels();
const skip = kernels?.sgdUpdate ? false : `fused optimiser kernels unavailable: ${kernelsInfo().detail}`;

before(async () => {
  await initBackend();
});

const SPEC: ModelSpec = {
  name: 'opt',
  input: { shape: [1, 6, 6] },
  states: 'pm1',
  noise: 'logistic',
  layers: [
    { type: 'conv', filters: 3, kernel: 3 },
    { type: 'dense', units: 7 },
  ],
  output: { units: 4, loss: 'nll' },
};

/** Gradients of every parameter's shape over several magnitudes (sign changes, tiny and large values, zeros). */
function gradients(net: Network, rng: Rng): { weight: tf.Tensor; bias: tf.Tensor }[] {
  return net.layers.map((l) => {
    const make = (like: tf.Tensor) => {
      const u = rng.uniforms(like.size);
      for (let i = 0; i < u.length; i++) u[i] = i % 11 === 0 ? 0 : (u[i] - 0.5) * 10 ** ((i % 9) - 6);
      return tf.tensor(u, like.shape, 'float32');
    };
    return { weight: make(l.weight), bias: make(l.bias) };
  });
}

function bits(t: tf.Tensor | Float32Array): number[] {
  const d = t instanceof Float32Array ? t : (t.dataSync() as Float32Array);
  return Array.from(new Uint32Array(d.buffer, d.byteOffset, d.length));
}

function assertSame(a: Network, b: Network, oa: Optimizer, ob: Optimizer, what: string): void {
  a.layers.forEach((l, k) => {
    assert.deepEqual(bits(l.weight), bits(b.layers[k].weight), `${what}: layer ${k} weight`);
    assert.deepEqual(bits(l.bias), bits(b.layers[k].bias), `${what}: layer ${k} bias`);
  });
  const sa = oa.state();
  const sb = ob.state();
  assert.deepEqual(sa.scalars, sb.scalars, `${what}: scalars`);
  assert.deepEqual(Object.keys(sa.state).sort(), Object.keys(sb.state).sort(), `${what}: slot names`);
  for (const key of Object.keys(sa.state)) {
    assert.deepEqual(sa.state[key].shape, sb.state[key].shape, `${what}: slot ${key} shape`);
    assert.deepEqual(bits(sa.state[key].data), bits(sb.state[key].data), key);
  }
}

const CASES: OptimizerSpec[] = [
  { type: 'sgd', momentum: 0.9 },
  { type: 'sgd', momentum: 0.5, nesterov: false },
  { type: 'sgd', momentum: 0, weightDecay: 1e-3 },
  { type: 'sgd', momentum: 0.9, weightDecay: 5e-4 },
  { type: 'adam' },
  { type: 'adam', beta1: 0.8, beta2: 0.99, epsilon: 1e-6, weightDecay: 1e-4 },
];

for (const spec of CASES) {
  test(`fused ${JSON.stringify(spec)} equals the tfjs ops bit for bit, also after a swapped restore`, { skip }, () => {
    const nets = [initNetwork(SPEC, new Rng(3)), initNetwork(SPEC, new Rng(3))];
    const fused = createOptimizer(spec);
    const ops = createOptimizer(spec, null);
    const rng = new Rng(7);
    const lrs = [0.1, 0.03, 1e-4, 0.5];
    for (let s = 0; s < lrs.length; s++) {
      const g = gradients(nets[0], rng);
      fused.step(nets[0], g, lrs[s]);
      ops.step(nets[1], g, lrs[s]);
      tf.dispose(g);
      assertSame(nets[0], nets[1], fused, ops, `step ${s + 1}`);
    }
    // each path continues from the other's state
    const fused2 = createOptimizer(spec);
    const ops2 = createOptimizer(spec, null);
    fused2.restore(ops.state());
    ops2.restore(fused.state());
    const g = gradients(nets[0], rng);
    fused2.step(nets[0], g, 0.07);
    ops2.step(nets[1], g, 0.07);
    tf.dispose(g);
    assertSame(nets[0], nets[1], fused2, ops2, 'after restore');
    [fused, ops, fused2, ops2].forEach((o) => o.dispose());
    nets.forEach(disposeNetwork);
  });
}

test('sampleStates: native = JavaScript twin = Bernoulli on the channel-major transpose, both codings', () => {
  const rng = new Rng(11);
  const shapes: [number, number, number, number][] = [
    [3, 1, 1, 17],
    [2, 5, 4, 3],
    [1, 7, 1, 2],
    [4, 2, 3, 1],
    [8, 28, 28, 32], // 800 KB: the kernel's output comes from its recycled blocks
  ];
  for (const shape of shapes) {
    const [B, H, W, C] = shape;
    const p = rng.uniforms(B * H * W * C);
    const seed = rng.seed53();
    // reference: [B, C, H, W] order sampled as one stream, then NHWC, bits → on/off
    const cm = new Float32Array(p.length);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let w = 0; w < W; w++)
          for (let c = 0; c < C; c++) cm[((b * C + c) * H + h) * W + w] = p[((b * H + h) * W + w) * C + c];
    const bits = bernoulliJs(cm, seed, 0);
    for (const [on, off] of [
      [1, -1],
      [1, 0],
    ]) {
      const ref = new Float32Array(p.length);
      for (let b = 0; b < B; b++)
        for (let h = 0; h < H; h++)
          for (let w = 0; w < W; w++)
            for (let c = 0; c < C; c++)
              ref[((b * H + h) * W + w) * C + c] = bits[((b * C + c) * H + h) * W + w] ? on : off;
      assert.deepEqual(Array.from(sampleStatesJs(p, shape, seed, on, off)), Array.from(ref), `twin ${shape.join('×')}`);
      if (kernels?.sampleStates) {
        for (const threads of [1, 2, 3]) {
          kernels.setThreads(threads);
          const native: Float32Array = kernels.sampleStates(p, B, H, W, C, seed, on, off);
          assert.deepEqual(Array.from(native), Array.from(ref), `native ${shape.join('×')}, ${threads} threads`);
        }
        kernels.setThreads(0);
      }
    }
  }
});

test(
  'a fused update reuses the array of the tensor before the parameter, never a live or foreign one',
  { skip },
  (t) => {
    // only tfjs-node's tensors wrap the update's arrays (dataSync returns them); wasm copies them into its memory
    if (tf.getBackend() !== 'tensorflow') return t.skip('the tensors copy their values on this backend');
    const net = initNetwork(SPEC, new Rng(3));
    const opt = createOptimizer({ type: 'sgd', momentum: 0.9 });
    const rng = new Rng(5);
    const arrays = () => net.layers.map((l) => l.weight.dataSync() as Float32Array);
    const initial = arrays();
    const initialBits = initial.map(bits);
    const step = () => {
      const g = gradients(net, rng);
      opt.step(net, g, 0.1);
      tf.dispose(g);
    };
    const seen: Float32Array[][] = [];
    for (let s = 0; s < 4; s++) {
      step();
      const now = arrays();
      seen.push(now);
      // the values of the update before stay untouched by this one (valid until the second update after)
      if (s > 0) now.forEach((a, k) => assert.notEqual(a, seen[s - 1][k], `step ${s + 1}: layer ${k} in place`));
    }
    // the network's own initial arrays (not the optimiser's) are never written
    initial.forEach((a, k) => {
      assert.deepEqual(bits(a), initialBits[k], `initial layer ${k} written`);
      assert.ok(!seen.some((arrs) => arrs[k] === a), `initial layer ${k} reused`);
    });
    // two arrays per parameter from the first update on, in turn
    seen[2].forEach((a, k) => assert.equal(a, seen[0][k], `layer ${k}: step 3 writes step 1's array`));
    seen[3].forEach((a, k) => assert.equal(a, seen[1][k], `layer ${k}: step 4 writes step 2's array`));
    opt.dispose();
    disposeNetwork(net);
  },
);

test('sgdUpdate and adamUpdate write into `out` when given, and check its length', { skip }, () => {
  const data = new Rng(11);
  const p = data.normals(37);
  const g = data.normals(37);
  const fresh = kernels!.sgdUpdate!(p, g, Float32Array.from(p), true, 0.1, 0.9, true, 1e-3);
  const out = new Float32Array(37).fill(NaN);
  assert.equal(kernels!.sgdUpdate!(p, g, Float32Array.from(p), true, 0.1, 0.9, true, 1e-3, out), out);
  assert.deepEqual(bits(out), bits(fresh));
  const adam = (o?: Float32Array) =>
    kernels!.adamUpdate!(
      p,
      g,
      new Float32Array(37),
      new Float32Array(37),
      0.1,
      0.9,
      0.999,
      0.1,
      0.001,
      1e-8,
      0,
      0.1,
      1e-3,
      o,
    );
  const adamOut = new Float32Array(37).fill(NaN);
  assert.equal(adam(adamOut), adamOut);
  assert.deepEqual(bits(adamOut), bits(adam()));
  assert.throws(
    () => kernels!.sgdUpdate!(p, g, p, true, 0.1, 0.9, true, 0, new Float32Array(36)),
    /out: length 36, expected 37/,
  );
});
