// test-backends: one
// TensorBoard event files: a run writes them as it trains and `sbn export tensorboard` writes them for a run made
// before. Read back by a reader written here from the public format (TFRecord framing with masked CRC-32C, the
// `Event` protocol buffer) and, where the `tensorboard` Python package is installed, by its EventAccumulator; every
// scalar must equal its metrics.jsonl value (as float32), every histogram its record's bins.
import { before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../../src/engine/backend';
import { effectiveMetrics, readMetrics, type MetricsRecord } from '../../src/engine/runs';
import { assertUsageError, sbnInProcess } from './helpers/cli';
import { readFolder, type ReadHistogram } from './helpers/tensorboardReader';

before(async () => {
  await initBackend();
});

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-tensorboard-'));

// ------------------------------------------------------------------ what metrics.jsonl says TensorBoard must show

/** Every finite measured value of the records, by `tag@step` (the tags of docs/run-format.md). */
function expectedScalars(records: MetricsRecord[]): { main: Map<string, number>; lrSearch: Map<string, number> } {
  const main = new Map<string, number>();
  const lrSearch = new Map<string, number>();
  const put = (m: Map<string, number>, tag: string, step: number, v: number | null | undefined) => {
    if (typeof v === 'number' && Number.isFinite(v)) m.set(`${tag}@${step}`, v);
  };
  for (const r of records) {
    const s = r.step;
    if (r.kind === 'step') {
      put(main, 'train/objective', s, r.loss);
      put(main, 'train/lr', s, r.lr);
      put(main, 'train/samples_per_second', s, r.samplesPerSecond);
    } else if (r.kind === 'eval') {
      for (const k of ['u_loss', 'acc1', 'acc_e', 'entropy'] as const) put(main, `${r.split}/${k}`, s, r[k]);
    } else if (r.kind === 'epoch') {
      put(main, 'epoch/objective', s, r.loss);
      put(main, 'epoch/seconds', s, r.seconds);
    } else if (r.kind === 'lr-trial') {
      put(lrSearch, 'lr_search/log10lr', r.trial, r.log10lr);
      put(lrSearch, 'lr_search/objective', r.trial, r.objective);
    } else if (r.kind === 'lr-chosen') {
      put(main, 'lr_search/chosen_lr', s, r.lr);
    } else if (r.kind === 'layerStats') {
      for (const l of r.layers) {
        put(main, `layers/${l.name}/weight_norm`, s, l.weightNorm);
        put(main, `layers/${l.name}/grad_norm`, s, l.gradNorm);
        put(main, `layers/${l.name}/firing_rate`, s, l.firingRate);
        put(main, `layers/${l.name}/entropy`, s, l.entropy);
        put(main, `layers/${l.name}/pre_mean`, s, l.preMean);
        put(main, `layers/${l.name}/pre_std`, s, l.preStd);
        put(main, `layers/${l.name}/saturated`, s, l.saturated);
      }
    } else if (r.kind === 'diagnostics') {
      for (const e of r.estimators)
        for (const l of e.layers) {
          const at = `diagnostics/${l.name}/${e.estimator}`;
          r.M.forEach((m, i) => {
            put(main, `${at}/cos_M${m}`, s, l.cos[i]);
            put(main, `${at}/rmse_M${m}`, s, l.rmse[i]);
          });
          put(main, `${at}/variance`, s, l.variance);
          put(main, `${at}/snr`, s, l.snr);
          put(main, `${at}/bias`, s, l.bias);
          put(main, `${at}/bias_squared`, s, l.biasSquared);
        }
    } else if (r.kind === 'auto') {
      r.layers.forEach((layer, li) =>
        r.candidates.forEach((c, ci) => put(main, `auto/${layer}/mse/${c}`, s, r.mse[li][ci])),
      );
    }
  }
  return { main, lrSearch };
}

function assertScalarsEqual(got: Map<string, number>, want: Map<string, number>, what: string): void {
  const missing = [...want.keys()].filter((k) => !got.has(k));
  const extra = [...got.keys()].filter((k) => !want.has(k));
  assert.deepEqual(missing, [], `${what}: scalars of metrics.jsonl missing from the event files`);
  assert.deepEqual(extra, [], `${what}: scalars in the event files that metrics.jsonl does not have`);
  for (const [k, v] of want) assert.equal(got.get(k), Math.fround(v), `${what}: ${k}`);
}

function assertHistograms(dir: string, got: Map<string, ReadHistogram>, records: MetricsRecord[]): number {
  let n = 0;
  for (const r of records) {
    if (r.kind !== 'layerStats') continue;
    for (const l of r.layers) {
      for (const [name, h] of [
        ['weights', l.weightHist],
        ['pre_activations', l.preHist],
        ['firing_rates', l.firingHist],
      ] as const) {
        if (!h || h.min === null || h.max === null) continue;
        const tb = got.get(`layers/${l.name}/${name}@${r.step}`);
        assert.ok(tb, `${dir}: histogram layers/${l.name}/${name} at step ${r.step}`);
        assert.deepEqual(tb.counts, h.counts);
        assert.equal(tb.min, h.min);
        assert.equal(tb.max, h.max);
        assert.equal(
          tb.num,
          h.counts.reduce((a, b) => a + b, 0),
        );
        assert.equal(tb.limits.length, h.counts.length);
        assert.equal(tb.limits[tb.limits.length - 1], h.max);
        const width = (h.max - h.min) / h.counts.length;
        assert.ok(Math.abs(tb.limits[0] - (h.min + width)) <= 1e-12 * Math.max(1, Math.abs(h.max)));
        n++;
      }
    }
  }
  return n;
}

function writeModel(name: string, train: Record<string, unknown>): string {
  const file = path.join(tmp, `${name}.sbn.json`);
  fs.writeFileSync(
    file,
    JSON.stringify({
      name,
      input: { shape: [2] },
      states: 'pm1',
      layers: [
        { type: 'dense', units: 6 },
        { type: 'dense', units: 6 },
      ],
      output: { units: 1, loss: 'logistic' },
      data: { dataset: 'toy-2d', validation: 40 },
      diagnostics: { interval: 8 },
      train: { estimator: 'psa', lr: 0.02, batchSize: 20, epochs: 2, evalSamples: 4, logInterval: 2, ...train },
    }),
  );
  return file;
}

function onlyRun(out: string): string {
  const names = fs.readdirSync(out);
  assert.equal(names.length, 1);
  return path.join(out, names[0]);
}

function checkRun(dir: string): { scalars: number; histograms: number } {
  const records = effectiveMetrics(readMetrics(dir).records);
  const want = expectedScalars(records);
  const got = readFolder(path.join(dir, 'tensorboard'));
  assertScalarsEqual(got.scalars, want.main, dir);
  if (want.lrSearch.size)
    assertScalarsEqual(
      readFolder(path.join(dir, 'tensorboard', 'lr_search')).scalars,
      want.lrSearch,
      `${dir} lr_search`,
    );
  const histograms = assertHistograms(dir, got.histograms, records);
  return { scalars: want.main.size + want.lrSearch.size, histograms };
}

let trained = '';

test('a run writes TensorBoard event files as it trains: every scalar and histogram of metrics.jsonl', async () => {
  const out = path.join(tmp, 'runs');
  const r = await sbnInProcess('train', writeModel('tb', {}), '--out', out, '--no-progress');
  assert.equal(r.code, 0, r.stderr);
  trained = onlyRun(out);
  const n = checkRun(trained);
  const kinds = new Set<string>(readMetrics(trained).records.map((x) => x.kind));
  for (const k of ['step', 'eval', 'epoch', 'layerStats', 'diagnostics']) assert.ok(kinds.has(k), `no ${k} record`);
  assert.ok(n.scalars > 100 && n.histograms > 10, JSON.stringify(n));
});

test('a resumed run adds event files; TensorBoard shows the effective records once', async () => {
  const out = path.join(tmp, 'resume');
  const r = await sbnInProcess('train', writeModel('tbresume', { epochs: 1 }), '--out', out, '--no-progress');
  assert.equal(r.code, 0, r.stderr);
  const dir = onlyRun(out);
  const again = await sbnInProcess('train', '--resume', dir, '--epochs', '2', '--no-progress');
  assert.equal(again.code, 0, again.stderr);
  assert.equal(fs.readdirSync(path.join(dir, 'tensorboard')).filter((n) => n.includes('tfevents')).length, 2);
  checkRun(dir);
});

test('an lr search goes to its own TensorBoard run (tensorboard/lr_search), trial by trial', async () => {
  const out = path.join(tmp, 'search');
  const model = writeModel('tbsearch', { lr: 'search', epochs: 1 });
  const r = await sbnInProcess('train', model, '--out', out, '--no-progress');
  assert.equal(r.code, 0, r.stderr);
  const dir = onlyRun(out);
  assert.ok(readMetrics(dir).records.some((x) => x.kind === 'lr-trial'));
  checkRun(dir);
});

test('sbn export tensorboard writes the event files of a run that has none, replacing stale ones', async () => {
  assert.ok(trained, 'the training test ran first');
  const copy = path.join(tmp, 'older');
  fs.cpSync(trained, copy, { recursive: true });
  fs.rmSync(path.join(copy, 'tensorboard'), { recursive: true });
  fs.mkdirSync(path.join(copy, 'tensorboard'));
  fs.writeFileSync(path.join(copy, 'tensorboard', 'events.out.tfevents.1.stale'), 'not an event file');
  const r = await sbnInProcess('export', 'tensorboard', copy);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /metrics records written as TensorBoard events: tensorboard\/events\.out\.tfevents\./);
  assert.ok(!fs.existsSync(path.join(copy, 'tensorboard', 'events.out.tfevents.1.stale')));
  checkRun(copy);
  assert.ok(!fs.existsSync(path.join(copy, 'lock')), 'the lock is released');
});

test('sbn export tensorboard: not a run, or a run being written, is one line and exit code 2', async () => {
  assertUsageError(await sbnInProcess('export', 'tensorboard', path.join(tmp, 'nope')), /nope.*does not exist/);
  assertUsageError(await sbnInProcess('export', 'tensorboard', tmp), /not an sbn run folder/);
  const busy = path.join(tmp, 'busy');
  fs.cpSync(trained, busy, { recursive: true });
  const now = new Date().toISOString();
  // a live writer: this very process (pid alive, this host)
  const lock = { pid: process.pid, hostname: os.hostname(), time: now, heartbeat: now };
  fs.writeFileSync(path.join(busy, 'lock'), JSON.stringify(lock));
  assertUsageError(await sbnInProcess('export', 'tensorboard', busy), /being written by process/);
});

const hasTensorBoard = spawnSync('python3', ['-c', 'import tensorboard'], { encoding: 'utf8' }).status === 0;

test(
  "TensorBoard's own reader (EventAccumulator) reads the files with the same values",
  {
    skip: hasTensorBoard
      ? false
      : 'the tensorboard Python package is not installed (pip install tensorboard); the reader above still ran',
  },
  () => {
    assert.ok(trained, 'the training test ran first');
    const script = `
import json, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
ea = EventAccumulator(sys.argv[1], size_guidance={'scalars': 0, 'histograms': 0})
ea.Reload()
tags = ea.Tags()
out = {'scalars': {}, 'histograms': {}}
for t in tags['scalars']:
    for e in ea.Scalars(t):
        out['scalars'][f'{t}@{e.step}'] = e.value
for t in tags['histograms']:
    for e in ea.Histograms(t):
        h = e.histogram_value
        out['histograms'][f'{t}@{e.step}'] = {'min': h.min, 'max': h.max, 'num': h.num,
            'limits': list(h.bucket_limit), 'counts': list(h.bucket)}
print(json.dumps(out))
`;
    const r = spawnSync('python3', ['-c', script, path.join(trained, 'tensorboard')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout) as { scalars: Record<string, number>; histograms: Record<string, ReadHistogram> };
    const records = effectiveMetrics(readMetrics(trained).records);
    assertScalarsEqual(new Map(Object.entries(got.scalars)), expectedScalars(records).main, 'EventAccumulator');
    assert.ok(assertHistograms(trained, new Map(Object.entries(got.histograms)), records) > 10);
  },
);
