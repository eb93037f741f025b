// test-backends: each
// Backend selection: run once per backend by `npm test` (SBN_BACKEND=wasm, SBN_BACKEND=tensorflow when built).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { availableBackends, currentBackend, initBackend } from '../../src/engine/backend';

const wanted = process.env.SBN_BACKEND || undefined;

test('availableBackends lists wasm and cpu, best first', () => {
  const names = availableBackends();
  assert.ok(names.includes('wasm'), names.join(','));
  assert.equal(names[names.length - 1], 'cpu');
  const order = ['tensorflow', 'wasm', 'cpu'];
  assert.deepEqual(
    [...names].sort((a, b) => order.indexOf(a) - order.indexOf(b)),
    names,
  );
});

test('an unknown backend name gives a clear error', async () => {
  await assert.rejects(initBackend('gpu-please'), (e: Error) => {
    assert.match(e.message, /unknown backend "gpu-please"/);
    assert.match(e.message, /available here: .*cpu/);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
  assert.equal(currentBackend(), null, 'a rejected preference initialises nothing');
});

test('initBackend picks SBN_BACKEND (else the best available) and is idempotent', async () => {
  const info = await initBackend();
  assert.equal(info.name, wanted ?? availableBackends()[0]);
  assert.equal(tf.getBackend(), info.name);
  assert.ok(info.detail.startsWith(info.name + ' ('), info.detail);
  if (info.name === 'tensorflow') assert.match(info.detail, /^tensorflow \(libtensorflow \d+\.\d+\.\d+\)$/);
  if (info.name === 'wasm') assert.match(info.detail, /^wasm \((no )?SIMD, \d+ threads?\)$/);
  assert.equal(await initBackend(), info);
  assert.equal(await initBackend(info.name), info);
});

test('a tiny matMul gives the right numbers', async () => {
  await initBackend();
  const a = tf.tensor2d([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  const b = tf.tensor2d([
    [7, 8],
    [9, 10],
    [11, 12],
  ]);
  assert.deepEqual(await tf.matMul(a, b).array(), [
    [58, 64],
    [139, 154],
  ]);
  assert.deepEqual(await tf.matMul(a, a, false, true).array(), [
    [14, 32],
    [32, 77],
  ]);
  assert.deepEqual(await tf.matMul(a, a, true, false).array(), [
    [17, 22, 27],
    [22, 29, 36],
    [27, 36, 45],
  ]);
  tf.dispose([a, b]);
});

test(
  'an explicit backend that cannot load says why and what is available',
  { skip: availableBackends().includes('tensorflow') && 'tfjs-node is built here' },
  async () => {
    await assert.rejects(
      initBackend('tensorflow'),
      /backend "tensorflow" cannot load: .*; available here: (wasm, )?cpu$/,
    );
  },
);

test(
  'tfjs-node shares the one @tensorflow/tfjs-core',
  { skip: !availableBackends().includes('tensorflow') && 'tfjs-node is not built here' },
  () => {
    const core = require.resolve('@tensorflow/tfjs-core');
    const fromNode = require.resolve('@tensorflow/tfjs-core', {
      paths: [dirname(require.resolve('@tensorflow/tfjs-node'))],
    });
    assert.equal(fromNode, core);
  },
);
