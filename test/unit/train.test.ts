// test-backends: each
// Training: every estimator lowers the SBN loss on toy-2d; stop + resume reproduces an uninterrupted run
// bit for bit; a run killed with SIGKILL mid-epoch reopens and resumes; divergence stops with a message
// naming the step and the layer; the lr search; bad input to `sbn train` / `sbn eval`.
import { before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../../src/engine/backend';
import { parseModelText, type ModelSpec } from '../../src/engine/spec';
import { loadDataset } from '../../src/engine/data';
import { initialNetwork, resolveTrainSpec, train } from '../../src/engine/train/trainer';
import { brentBounded } from '../../src/engine/train/lrSearch';
import { evaluateSplit } from '../../src/engine/train/evaluate';
import { disposeNetwork } from '../../src/engine/model/network';
import { Rng } from '../../src/engine/rng';
import { RunStore, readMetrics, effectiveMetrics, type MetricsRecord } from '../../src/engine/runs';
import { repoRoot } from './helpers/fixtures';

before(async () => {
  await initBackend();
});

const root = repoRoot();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-train-'));

function toyModel(extra: Record<string, unknown> = {}, trainExtra: Record<string, unknown> = {}): ModelSpec {
  const text = JSON.stringify({
    name: 'toy',
    input: { shape: [2] },
    states: 'pm1',
    layers: [
      { type: 'dense', units: 8 },
      { type: 'dense', units: 8 },
    ],
    output: { units: 1, loss: 'logistic' },
    data: { dataset: 'toy-2d', validation: 40 },
    train: {
      estimator: 'psa',
      optimizer: { type: 'adam' },
      lr: 0.01,
      batchSize: 20,
      epochs: 3,
      evalSamples: 4,
      logInterval: 2,
      ...trainExtra,
    },
    ...extra,
  });
  const r = parseModelText(text, 'toy.sbn.json');
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.model;
}

function dataOf(spec: ModelSpec) {
  return loadDataset(spec.data!, {
    baseDir: tmp,
    inputShape: spec.input.shape,
    loss: spec.output.loss,
    classes: spec.output.units,
  });
}

for (const estimator of [
  'psa',
  'dste',
  'hard-st',
  'reinforce',
  'arm',
  'concrete',
  'tanh',
  'adf',
  'local-reparam',
  'disarm',
  'muprop',
  'local-expectation',
  'gumbel-st',
  'gumbel-rao',
  'reinmax',
] as const) {
  test(`a short training run with ${estimator} lowers the SBN loss on toy-2d`, async () => {
    const spec = toyModel({}, { estimator, epochs: 6, lr: 0.02 });
    const t = resolveTrainSpec(spec.train!);
    const data = dataOf(spec);
    const net = initialNetwork(spec, t, data);
    const before = evaluateSplit(net, data.train, 30, new Rng(5)).u_loss;
    disposeNetwork(net);
    const losses: number[] = [];
    const r = await train({
      spec,
      train: { ...t, evalSamples: 30 },
      data,
      events: {
        eval: (e) => {
          if (e.split === 'train') losses.push(e.u_loss);
        },
      },
    });
    assert.equal(r.status, 'finished');
    const after = losses[losses.length - 1];
    // 30 samples × 160 points: the evaluation's standard error is ≈ 0.004, so 0.015 is a real decrease
    assert.ok(after < before - 0.015, `${estimator}: u_loss ${before.toFixed(4)} → ${after.toFixed(4)}`);
  });
}

const VOLATILE = new Set(['time', 'elapsed', 'samplesPerSecond', 'seconds']);
function comparable(records: MetricsRecord[]): unknown[] {
  return effectiveMetrics(records)
    .filter((r) => ['step', 'eval', 'epoch'].includes(r.kind as string))
    .map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !VOLATILE.has(k))));
}

function newStore(name: string, spec: ModelSpec) {
  return RunStore.create(path.join(tmp, 'runs'), name, {
    modelFileName: 'toy.sbn.json',
    modelText: '{}',
    config: { model: spec },
    environment: {},
  });
}

const variant = (extra: object) => ('baseline' in extra ? ` with its ${String(extra.baseline)} baseline` : '');
for (const [estimator, extra] of [
  ['psa', {}],
  ['dste', {}],
  ['reinforce', { baseline: 'mean' }],
  ['reinforce', { baseline: 'input' }],
] as const)
  test(`stop and resume give exactly the metrics of an uninterrupted run (${estimator}${variant(extra)})`, async () => {
    const spec = toyModel({}, { estimator, epochs: 3, ...extra });
    const t = resolveTrainSpec(spec.train!);
    const data = dataOf(spec);
    const a = newStore(`straight-${estimator}`, spec);
    assert.equal((await train({ spec, train: t, data, store: a })).status, 'finished');
    a.close();

    const b = newStore(`interrupted-${estimator}`, spec);
    let steps = 0;
    const stopped = await train({
      spec,
      train: t,
      data,
      store: b,
      events: {
        step: () => {
          steps++;
        },
      },
      shouldStop: () => steps >= 5,
    });
    assert.equal(stopped.status, 'stopped');
    assert.ok(stopped.step > 0 && stopped.step < 24, `stopped at ${stopped.step}`);
    const cp = b.readCheckpoint('latest');
    assert.equal(cp.step, stopped.step);
    b.close();
    const reopened = RunStore.open(b.dir);
    assert.equal(
      (await train({ spec, train: t, data, store: reopened }, reopened.readCheckpoint('latest'))).status,
      'finished',
    );
    reopened.close();

    const ma = comparable(readMetrics(a.dir).records);
    const mb = comparable(readMetrics(b.dir).records);
    assert.ok(ma.length > 20);
    assert.deepEqual(mb, ma);
  });

function sbn(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [path.join(root, 'bin', 'sbn.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
}

test('a run killed with SIGKILL mid-epoch reopens and resumes to the same result as an uninterrupted run', async () => {
  const model = path.join(tmp, 'kill.sbn.json');
  fs.writeFileSync(
    model,
    JSON.stringify({
      name: 'kill',
      input: { shape: [2] },
      layers: [{ type: 'dense', units: 8 }],
      output: { units: 1, loss: 'logistic' },
      data: { dataset: 'toy-2d' },
      train: {
        estimator: 'dste',
        optimizer: { type: 'adam' },
        lr: 0.01,
        batchSize: 4,
        epochs: 6,
        evalSamples: 2,
        logInterval: 5,
      },
    }),
  );
  const out = path.join(tmp, 'killed');
  const child = spawn(
    process.execPath,
    [path.join(root, 'bin', 'sbn.js'), 'train', model, '--out', out, '--no-progress'],
    {
      env: { ...process.env, SBN_CHECKPOINT_SECONDS: '0' },
      stdio: 'ignore',
    },
  );
  // wait for a mid-epoch checkpoint (epoch not a whole number), then kill without warning
  const deadline = Date.now() + 60000;
  let dir: string;
  for (;;) {
    await new Promise((r) => setTimeout(r, 50));
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      assert.fail('no checkpoint within 60 s');
    }
    const runs = fs.existsSync(out) ? fs.readdirSync(out) : [];
    if (runs.length === 0) continue;
    dir = path.join(out, runs[0]);
    try {
      const cp = RunStore.readCheckpoint(dir, 'latest');
      if (cp.step > 60 && !Number.isInteger(cp.epoch)) break;
    } catch {
      /* not yet */
    }
  }
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  assert.equal(RunStore.status(dir).status, 'crashed');
  const resumed = sbn(['train', '--resume', dir, '--no-progress']);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming .* from step \d+/);
  assert.equal(RunStore.status(dir).status, 'finished');
  const straight = sbn(['train', model, '--out', path.join(tmp, 'straight'), '--no-progress']);
  assert.equal(straight.status, 0, straight.stderr);
  const straightDir = path.join(tmp, 'straight', fs.readdirSync(path.join(tmp, 'straight'))[0]);
  assert.deepEqual(comparable(readMetrics(dir).records), comparable(readMetrics(straightDir).records));
});

test('NaN/Inf stops the run with a message naming the step and the layer; keeps the last good checkpoint', async () => {
  const spec = toyModel(
    {},
    { estimator: 'dste', lr: 1e38, optimizer: { type: 'sgd', momentum: 0 }, epochs: 2, clip: 1e38 },
  );
  const t = resolveTrainSpec(spec.train!);
  const store = newStore('diverge', spec);
  const r = await train({ spec, train: t, data: dataOf(spec), store });
  store.close();
  assert.equal(r.status, 'diverged');
  assert.match(r.message ?? '', /non-finite (gradient|training loss) at step \d+( in layer \w+)?/);
  assert.equal(RunStore.status(store.dir).status, 'diverged');
});

test('Brent bounded minimisation finds a minimum within 10 evaluations, like scipy', async () => {
  let calls = 0;
  const r = await brentBounded(
    (x) => {
      calls++;
      return (x + 2.5) ** 2 + 1;
    },
    -6,
    0,
    10,
  );
  assert.ok(calls <= 10);
  assert.ok(Math.abs(r.x + 2.5) < 0.05, `x = ${r.x}`);
  const flat = await brentBounded((x) => (x > -1 ? 1e10 : Math.abs(x + 4)), -6, 0, 10);
  assert.ok(flat.x < -1);
});

test('lr search runs its trials, records them and trains with the chosen rate', async () => {
  const spec = toyModel(
    {},
    { estimator: 'dste', lr: { search: { min: -4, max: -0.5, trials: 4, trialEpochs: 1 } }, epochs: 1 },
  );
  const store = newStore('search', spec);
  const trials: number[] = [];
  const r = await train({
    spec,
    train: resolveTrainSpec(spec.train!),
    data: dataOf(spec),
    store,
    events: { lrTrial: (e) => trials.push(e.lr) },
  });
  store.close();
  assert.equal(r.status, 'finished');
  assert.equal(trials.length, 4);
  const records = readMetrics(store.dir).records;
  assert.equal(records.filter((x) => x.kind === 'lr-trial').length, 4);
  const chosen = records.find((x) => x.kind === 'lr-chosen')!.lr;
  assert.ok(trials.includes(chosen));
  assert.ok(records.filter((x) => x.kind === 'step').every((x) => x.lr === chosen));
});

function expectCliError(args: string[], ...patterns: RegExp[]) {
  const r = sbn(args);
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr
    .trim()
    .split('\n')
    .filter((l) => !/^sbn: backend /.test(l));
  assert.equal(lines.length, 1, r.stderr);
  for (const p of patterns) assert.match(lines[0], p);
}

test('sbn train / eval: bad input gives one line naming the file and the field', () => {
  const noTrain = path.join(tmp, 'notrain.sbn.json');
  fs.writeFileSync(
    noTrain,
    JSON.stringify({
      name: 'x',
      input: { shape: [2] },
      layers: [{ type: 'dense', units: 2 }],
      output: { units: 1, loss: 'logistic' },
    }),
  );
  expectCliError(['train', noTrain], /notrain\.sbn\.json: train: the model file has no train section/);
  const badPath = path.join(tmp, 'badpath.sbn.json');
  fs.writeFileSync(
    badPath,
    JSON.stringify({
      name: 'x',
      input: { shape: [2] },
      layers: [{ type: 'dense', units: 2 }],
      output: { units: 1, loss: 'logistic' },
      data: { dataset: 'file', path: 'nowhere.csv' },
      train: { estimator: 'psa', lr: 0.1 },
    }),
  );
  expectCliError(['train', badPath], /badpath\.sbn\.json/, /data\.path/, /nowhere\.csv/);
  expectCliError(['train', noTrain, '--estimator', 'exact'], /--estimator: exact/);
  expectCliError(['train', '--resume', tmp], /cannot resume/, /not an sbn run folder/);
  expectCliError(['eval', tmp], /not a run folder/);
});

test('Ctrl-C (SIGINT) stops `sbn train` cleanly after the current step, with a checkpoint', async () => {
  const model = path.join(tmp, 'sigint.sbn.json');
  fs.writeFileSync(
    model,
    JSON.stringify({
      name: 'sigint',
      input: { shape: [2] },
      layers: [{ type: 'dense', units: 8 }],
      output: { units: 1, loss: 'logistic' },
      data: { dataset: 'toy-2d' },
      train: { estimator: 'psa', lr: 0.01, batchSize: 2, epochs: 500, logInterval: 5 },
    }),
  );
  const out = path.join(tmp, 'sigint');
  const child = spawn(
    process.execPath,
    [path.join(root, 'bin', 'sbn.js'), 'train', model, '--out', out, '--no-progress'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  const deadline = Date.now() + 60000;
  for (;;) {
    await new Promise((r) => setTimeout(r, 50));
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      assert.fail('no progress within 60 s');
    }
    const runs = fs.existsSync(out) ? fs.readdirSync(out) : [];
    if (
      runs.length &&
      fs.existsSync(path.join(out, runs[0], 'metrics.jsonl')) &&
      fs.readFileSync(path.join(out, runs[0], 'metrics.jsonl'), 'utf8').includes('"kind":"step"')
    )
      break;
  }
  child.kill('SIGINT');
  const code = await new Promise((r) => child.once('exit', r));
  assert.equal(code, 0);
  const dir = path.join(out, fs.readdirSync(out)[0]);
  assert.equal(RunStore.status(dir).status, 'stopped');
  const cp = RunStore.readCheckpoint(dir, 'latest');
  assert.ok(cp.step > 0);
  assert.match(stdout, /Stopped: sigint trained with psa/);
});
