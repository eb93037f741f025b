// test-backends: each
// The depth suites of `sbn experiment train` (issue 20): each is a valid model file of the depth it names, builds,
// and one step trains on a few examples; and the per-layer bias stage (`sbn experiment bias`) on a tiny suite gives
// cosines in [−1, 1] and non-negative errors at init and at the end of training, and a second call measures nothing
// that is done.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../../src/engine/backend';
import { locateDataset, type StoredDatasetName } from '../../src/engine/data/store';
import {
  runSuite,
  suiteReport,
  SUITES,
  DEPTH_MLP_WIDTH,
  DEPTH_CONV_FILTERS,
} from '../../src/engine/experiments/trainSuite';
import { runSuiteBias, type SuiteBiasOptions } from '../../src/engine/experiments/suiteBias';
import { readSuiteBias } from '../../src/engine/experiments/biasFile';
import { parseModelText } from '../../src/engine/spec/parse';
import { modelGeometry, outShapeOf } from '../../src/engine/spec/geometry';
import { runSession, startSession } from '../../src/engine/train/session';
import type { ModelSpec } from '../../src/engine/spec';
import { TEST_ENVIRONMENT, TINY_SUITE } from './helpers/toySuite';
import { formatBiasTable } from '../../src/cli/biasTable';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-depth-'));

const DEPTH_SUITES: { name: string; depth: number; dataset: StoredDatasetName }[] = [
  { name: 'mnist-mlp-d2', depth: 2, dataset: 'mnist' },
  { name: 'mnist-mlp-d4', depth: 4, dataset: 'mnist' },
  { name: 'mnist-mlp-d8', depth: 8, dataset: 'mnist' },
  { name: 'fashion-conv-d4', depth: 4, dataset: 'fashion-mnist' },
  { name: 'fashion-conv-d8', depth: 8, dataset: 'fashion-mnist' },
];

for (const { name, depth, dataset } of DEPTH_SUITES) {
  test(`depth suite ${name}: a valid model of ${depth} binary layers of one width that trains a step`, async (t) => {
    const suite = SUITES[name];
    assert.ok(suite, `${name} is one of SUITES`);
    const model = suite.model;
    const parsed = parseModelText(JSON.stringify(model), `${name}.sbn.json`);
    assert.ok(parsed.ok, `${name}: ${JSON.stringify(parsed.ok ? [] : parsed.errors)}`);
    const binary = model.layers.filter((l) => l.type === 'dense' || l.type === 'conv');
    assert.equal(binary.length, depth);
    const { geometry } = modelGeometry(model);
    if (dataset === 'mnist') {
      assert.ok(binary.every((l) => l.type === 'dense' && l.units === DEPTH_MLP_WIDTH));
    } else {
      assert.ok(binary.every((l) => l.type === 'conv' && l.filters === DEPTH_CONV_FILTERS && l.padding === 1));
      // the classifier's fan-in is the same at every depth: 7×7 of the last binary conv layer
      assert.deepEqual(outShapeOf(geometry[depth - 1]), [DEPTH_CONV_FILTERS, 7, 7]);
    }
    // at 8 layers the lr trials take the whole training subset: shorter ones chose blind (docs/results.md)
    const { grid } = model.train!.lr as { grid: { trialExamples: number } };
    if (depth >= 8) assert.equal(grid.trialExamples, model.data!.limit);
    else assert.ok(grid.trialExamples < model.data!.limit!);
    if (!locateDataset(dataset)) {
      t.skip(`${dataset} is not on this machine (sbn data fetch ${dataset})`);
      return;
    }
    const backend = await initBackend();
    // a fixed rate, a few examples, one epoch of two steps: the model, its data and every layer's step
    const small: ModelSpec = {
      ...model,
      data: { ...model.data!, limit: 16, validation: 16 },
      train: { ...model.train!, lr: 0.01, epochs: 1, batchSize: 8, evalSamples: 1, logInterval: 1 },
    };
    const file = path.join(tmp, `${name}.sbn.json`);
    const text = JSON.stringify(small);
    fs.writeFileSync(file, text);
    const env = { backend: backend.name, backendDetail: backend.detail, versions: {} };
    const session = startSession(file, text, small, {}, path.join(tmp, 'runs'), env);
    let steps = 0;
    const { result } = await runSession(session, backend.name, { events: { step: () => void steps++ } });
    assert.equal(result.status, 'finished');
    assert.equal(steps, 2);
  });
}

test('the bias stage measures each method per layer at init and at the end, and resumes what is not done', async () => {
  const backend = await initBackend();
  const dir = path.join(tmp, 'bias');
  const methods = ['psa', 'dste'];
  await runSuite({
    suite: TINY_SUITE,
    dir,
    methods: ['psa'],
    env: { backend: backend.name, backendDetail: backend.detail, versions: {} },
    shouldStop: () => false,
  });
  const measured: string[] = [];
  const options: SuiteBiasOptions = {
    suite: TINY_SUITE,
    dir,
    methods,
    draws: 8,
    examples: 4,
    seed: 1,
    reference: { maxDraws: 32, targetError: 0.05 },
    onEntry: (e) => measured.push(`${e.stage}:${e.method}:${e.action}`),
  };
  const first = runSuiteBias(options);
  // dste has no run yet: measured at init, pending at the end
  assert.deepEqual(measured, ['init:psa:done', 'init:dste:done', 'final:psa:done', 'final:dste:pending']);
  assert.deepEqual(first.pending, ['dste']);
  assert.equal(first.entries.length, 3);
  for (const e of first.entries) {
    assert.equal(e.layers.length, 3, 'two hidden layers and the output layer');
    assert.equal(e.examples, 4);
    for (const l of e.layers) {
      assert.ok(l.cos >= -1 - 1e-9 && l.cos <= 1 + 1e-9, `cos ${l.cos} in [−1, 1]`);
      assert.ok(l.relativeError >= 0 && Number.isFinite(l.relativeError));
      assert.ok(l.meanError >= 0 && l.referenceError >= 0);
      assert.equal(l.noiseFloor, Math.hypot(l.meanError, l.referenceError));
    }
  }
  const final = first.entries.find((e) => e.stage === 'final')!;
  assert.equal(final.epoch, 2);
  assert.match(final.runDir!, /^runs\//);
  // the initial network is shared: both methods were measured against one reference
  const inits = first.entries.filter((e) => e.stage === 'init');
  assert.deepEqual(
    inits.map((e) => e.layers.map((l) => l.referenceError)),
    [inits[0].layers.map((l) => l.referenceError), inits[0].layers.map((l) => l.referenceError)],
  );

  // the table sbn prints: a header line, the column heads, one row per entry and layer (init before the end)
  const lines = formatBiasTable(first.entries).trim().split('\n');
  assert.equal(lines.length, 2 + 3 * 3);
  assert.match(lines[2], /^init\s+dste\s+dense1\s/);
  assert.match(lines[lines.length - 1], /^epoch 2\s+psa\s+output\s/);

  const before = fs.readFileSync(path.join(dir, 'bias.json'), 'utf8');
  measured.length = 0;
  runSuiteBias(options);
  assert.deepEqual(measured, ['init:psa:skip', 'init:dste:skip', 'final:psa:skip', 'final:dste:pending']);
  assert.equal(fs.readFileSync(path.join(dir, 'bias.json'), 'utf8'), before, 'nothing done is measured again');

  // other settings measure again, replacing the entries they cover
  measured.length = 0;
  runSuiteBias({ ...options, methods: ['psa'], draws: 6 });
  assert.deepEqual(measured, ['init:psa:done', 'final:psa:done']);
  assert.equal(readSuiteBias(dir).filter((e) => e.method === 'psa').length, 2);
  assert.ok(readSuiteBias(dir).every((e) => e.method !== 'psa' || e.draws === 6));

  const report = suiteReport(TINY_SUITE, dir, ['psa'], TEST_ENVIRONMENT);
  assert.equal(report.bias?.length, 3);
  assert.equal(suiteReport(TINY_SUITE, path.join(tmp, 'bias-none'), ['psa'], TEST_ENVIRONMENT).bias, undefined);
});
