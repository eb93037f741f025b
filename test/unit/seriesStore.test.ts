// test-backends: one
// The panels' data on the host (src/extension/panels/seriesStore.ts and series/): min-max downsampling, incremental
// views, snapshot + deltas reproducing a snapshot, records → series (resume rule included), the delta throttle,
// tailing a run folder, CSV export.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  rebin,
  DownsampledSeries,
  LiveRun,
  RunSeries,
  SeriesSubscriber,
  Throttle,
  bucketSize,
  minMaxDownsample,
  seriesCsv,
  type TimerApi,
} from '../../src/extension/panels/seriesStore';
import { effectiveMetrics, type MetricsKind, type MetricsRecord } from '../../src/engine/runs';
import { applySeriesDelta, SERIES, type SeriesPayload } from '../../src/webviewProtocol';
import { Rng } from '../../src/engine/rng';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-series-'));
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

function randomWalk(n: number, seed = 1, nullEvery = 0): { x: number[]; y: (number | null)[] } {
  const rng = new Rng(seed);
  const x: number[] = [];
  const y: (number | null)[] = [];
  let v = 0;
  for (let i = 0; i < n; i++) {
    v += rng.uniform() - 0.5;
    x.push(i * 10);
    y.push(nullEvery && i % nullEvery === 3 ? null : v);
  }
  return { x, y };
}

test('minMaxDownsample: a series that fits is unchanged; a long one keeps the min and max of every bucket', () => {
  const small = randomWalk(500);
  assert.deepEqual(minMaxDownsample(small.x, small.y, 500), small);
  for (const [n, maxPoints] of [
    [10_000, 500],
    [2001, 2000],
    [12_345, 101],
    [100_000, 2000],
  ] as const) {
    const { x, y } = randomWalk(n, n, 97);
    const out = minMaxDownsample(x, y, maxPoints);
    assert.ok(out.x.length <= maxPoints, `${out.x.length} > ${maxPoints}`);
    const b = bucketSize(n, maxPoints);
    assert.ok(b > 1);
    const kept = new Set(out.x.map((xi, i) => `${xi}:${out.y[i]}`));
    for (let s = 0; s < n; s += b) {
      let lo = Infinity;
      let hi = -Infinity;
      let iLo = -1;
      let iHi = -1;
      for (let i = s; i < Math.min(n, s + b); i++) {
        const v = y[i];
        if (v === null) continue;
        if (v < lo) {
          lo = v;
          iLo = i;
        }
        if (v > hi) {
          hi = v;
          iHi = i;
        }
      }
      assert.ok(kept.has(`${x[iLo]}:${lo}`), `bucket at ${s}: min lost`);
      assert.ok(kept.has(`${x[iHi]}:${hi}`), `bucket at ${s}: max lost`);
    }
    // x stays increasing, so the chart's line is drawn in order
    for (let i = 1; i < out.x.length; i++) assert.ok(out.x[i] > out.x[i - 1]);
  }
});

test('DownsampledSeries: the incremental view equals a fresh downsampling after every point', () => {
  const { x, y } = randomWalk(3000, 7, 50);
  const s = new DownsampledSeries(200);
  for (let i = 0; i < x.length; i++) {
    s.push(x[i], y[i]);
    if (i % 37 === 0 || i === x.length - 1)
      assert.deepEqual(s.view(), minMaxDownsample(x.slice(0, i + 1), y.slice(0, i + 1), 200), `after ${i + 1} points`);
  }
  assert.ok(s.view().x.length <= 200);
  // truncation (a resume) rebuilds the same view as the shorter series
  assert.ok(s.truncateAfter(x[1499]));
  assert.deepEqual(s.view(), minMaxDownsample(x.slice(0, 1500), y.slice(0, 1500), 200));
});

test('budget: 100k points pushed one by one in < 300 ms; a 100k-point series downsampled in < 30 ms', () => {
  const { x, y } = randomWalk(100_000, 3);
  let t = process.hrtime.bigint();
  const s = new DownsampledSeries(2000);
  for (let i = 0; i < x.length; i++) s.push(x[i], y[i]);
  const view = s.view();
  const pushMs = Number(process.hrtime.bigint() - t) / 1e6;
  assert.ok(view.x.length <= 2000);
  t = process.hrtime.bigint();
  let out: SeriesPayload | undefined;
  const reps = 5;
  for (let r = 0; r < reps; r++) out = minMaxDownsample(x, y, 2000);
  const oneMs = Number(process.hrtime.bigint() - t) / 1e6 / reps;
  assert.deepEqual(out, view);
  assert.ok(pushMs < 300, `pushing 100k points took ${pushMs.toFixed(1)} ms`);
  assert.ok(oneMs < 30, `downsampling 100k points took ${oneMs.toFixed(1)} ms`);
});

// A synthetic run: step records every 2 steps, evaluations every 20, epochs every 50, layer statistics and
// gradient diagnostics, a resume in the middle (records after its step are written again).
function syntheticRecords(steps: number, resumeAt?: { after: number; back: number }): MetricsRecord[] {
  const rng = new Rng(11);
  const out: MetricsRecord[] = [];
  const env = <K extends MetricsKind>(kind: K, step: number) => ({
    kind,
    step,
    time: new Date(1e12 + step * 1000).toISOString(),
    elapsed: step * 0.05,
    epoch: step / 50,
  });
  const emit = (step: number) => {
    out.push({
      ...env('step', step),
      loss: 1 / (1 + step / 100) + 0.05 * rng.uniform(),
      lr: 0.01 * Math.pow(0.999, step),
      samplesPerSecond: 900 + 100 * rng.uniform(),
    });
    if (step % 20 === 0) {
      for (const split of ['train', 'validation'] as const) {
        out.push({
          ...env('eval', step),
          split,
          u_loss: 0.7 - step / (10 * steps),
          acc1: 0.5 + step / (3 * steps),
          acc_e: 0.55 + step / (3 * steps),
          entropy: 0.3,
          examples: 40,
          samples: 10,
        });
      }
    }
    if (step % 50 === 0) out.push({ ...env('epoch', step), loss: 0.5 + rng.uniform() * 0.1, seconds: 2.5 });
    if (step % 10 === 0) {
      out.push({
        ...env('layerStats', step),
        layers: [
          {
            name: 'dense1',
            firingRate: rng.uniform(),
            entropy: rng.uniform(),
            preMean: 0,
            preStd: 1 + rng.uniform(),
            saturated: 0,
            preHist: { min: -8, max: 8, counts: Array.from({ length: 32 }, () => Math.floor(10 * rng.uniform())) },
            weightNorm: 3,
            gradNorm: 0.1,
            weightHist: { min: -1, max: 1, counts: new Array<number>(32).fill(1) },
          },
          {
            name: 'output',
            weightNorm: 1,
            gradNorm: 0.2,
            weightHist: { min: -1, max: 1, counts: new Array<number>(32).fill(1) },
          },
        ],
      });
    }
    if (step % 40 === 0) {
      out.push({
        ...env('diagnostics', step),
        reference: 'exact',
        referenceError: [0, 0],
        draws: 50,
        M: [1, 10],
        seconds: 0.2,
        layers: ['dense1', 'output'],
        estimators: ['psa', 'reinforce'].map((estimator) => ({
          estimator,
          seconds: 0.1,
          layers: ['dense1', 'output'].map((name) => ({
            name,
            cos: [rng.uniform(), rng.uniform()],
            cosQ15: [0.1, 0.2],
            cosQ85: [0.8, 0.9],
            rmse: [rng.uniform(), null],
            variance: 1,
            snr: 2,
            bias: 0.01,
          })),
        })),
      });
    }
  };
  for (let step = 2; step <= steps; step += 2) {
    emit(step);
    if (resumeAt && step === resumeAt.after) {
      out.push({ ...env('resume', resumeAt.back), epoch: resumeAt.back / 50 });
      for (let s2 = resumeAt.back + 2; s2 <= resumeAt.after; s2 += 2) emit(s2);
    }
  }
  return out;
}

function fresh(records: MetricsRecord[], maxPoints: number, panel: 'dashboard' | 'diagnostics' | 'layers') {
  const r = new RunSeries(maxPoints);
  r.ingest(records);
  return new SeriesSubscriber(() => r, panel).snapshot();
}

for (const maxPoints of [100, 2000]) {
  test(
    'snapshot + deltas reproduce the full snapshot ' + `(maxPoints ${maxPoints}, chunks of random size, a resume)`,
    () => {
      const records = syntheticRecords(2000, { after: 1200, back: 1000 });
      const rng = new Rng(maxPoints);
      for (const panel of ['dashboard', 'diagnostics', 'layers'] as const) {
        const run = new RunSeries(maxPoints);
        const sub = new SeriesSubscriber(() => run, panel);
        let i = Math.floor(records.length / 10);
        run.ingest(records.slice(0, i));
        const snap = sub.snapshot();
        const client: Record<string, SeriesPayload> = structuredClone(snap.series);
        let extras = snap.extras;
        let deltas = 0;
        let rebuilt = 0;
        while (i < records.length) {
          const n = 1 + Math.floor(rng.uniform() * 40);
          run.ingest(records.slice(i, i + n));
          i += n;
          const d = sub.delta();
          if (!d) continue;
          deltas++;
          for (const [k, sd] of Object.entries(d.series)) {
            if (sd.from === 0 && client[k]?.x.length) rebuilt++;
            client[k] ??= { x: [], y: [] };
            applySeriesDelta(client[k], structuredClone(sd));
          }
          if (d.extras) extras = d.extras;
        }
        assert.equal(sub.delta(), null, 'nothing left to send');
        const full = fresh(records, maxPoints, panel);
        assert.deepEqual(client, full.series, `${panel}: client copy differs from a fresh snapshot`);
        assert.deepEqual(extras, full.extras);
        assert.ok(deltas > 10);
        assert.ok(rebuilt > 0, 'the resume rebuilt some series');
        for (const s of Object.values(client)) assert.ok(s.x.length <= maxPoints);
      }
    },
  );
}

test('records → series: the dashboard, diagnostics and layer series; the resume rule as effectiveMetrics', () => {
  const records = syntheticRecords(400, { after: 300, back: 200 });
  const a = fresh(records, 10_000, 'dashboard');
  const b = fresh(effectiveMetrics(records), 10_000, 'dashboard');
  assert.deepEqual(a, b);
  const keys = Object.keys(a.series).sort();
  for (const k of [
    SERIES.objective,
    SERIES.lr,
    SERIES.stepsPerSecond,
    SERIES.samplesPerSecond,
    SERIES.epochObjective,
    'train/acc_e',
    'validation/u_loss',
    'validation/acc1',
  ]) {
    assert.ok(keys.includes(k), `${k} in ${keys.join(', ')}`);
  }
  assert.equal(a.series[SERIES.objective].x.length, 200);
  assert.deepEqual(a.series[SERIES.objective].x.slice(0, 3), [2, 4, 6]);
  // steps per second: 2 steps every 0.1 s of elapsed time
  assert.ok(Math.abs((a.series[SERIES.stepsPerSecond].y[5] as number) - 20) < 1e-9);
  const d = fresh(records, 10_000, 'diagnostics');
  assert.ok(d.series['diag/cos/dense1/psa'].x.length === 10);
  assert.deepEqual(d.series['diag/rmse/output/reinforce'].x, [40, 80, 120, 160, 200, 240, 280, 320, 360, 400]);
  assert.equal(d.extras.latestDiagnostics?.step, 400);
  assert.equal(d.extras.latestDiagnostics?.estimators[1].layers[0].rmse[1], null);
  const l = fresh(records, 10_000, 'layers');
  assert.ok(l.series['layer/firingRate/dense1']);
  assert.ok(l.series['layer/gradNorm/output']);
  assert.ok(!l.series['layer/firingRate/output'], 'the output layer has no firing rate');
  // pre-activations of the hidden layer, weights of the hidden and the output layer
  assert.deepEqual(
    l.extras.histograms?.map((t) => `${t.kind}/${t.layer}`),
    ['pre/dense1', 'weight/dense1', 'weight/output'],
  );
  assert.equal(l.extras.histograms?.[0].steps.length, 40);
  const run = new RunSeries(2000);
  run.ingest(records);
  assert.equal(run.facts.step, 400);
  assert.equal(run.facts.stepsPerEpoch, 50);
  assert.ok(Math.abs((run.facts.stepsPerSecond ?? 0) - 20) < 1e-9);
  assert.equal(run.facts.lastEval.validation?.step, 400);
});

test('Throttle: bursts of changes become at most one flush per interval', () => {
  let now = 0;
  const pending: { at: number; fn: () => void }[] = [];
  const timers: TimerApi = {
    now: () => now,
    setTimeout: (fn, ms) => {
      const t = { at: now + ms, fn };
      pending.push(t);
      return t;
    },
    clearTimeout: (h) => {
      const i = pending.indexOf(h as never);
      if (i >= 0) pending.splice(i, 1);
    },
  };
  let flushes = 0;
  const th = new Throttle(
    () => {
      flushes++;
    },
    100,
    timers,
  );
  for (now = 0; now < 1000; now += 5) {
    th.schedule();
    for (const t of pending.filter((p) => p.at <= now)) {
      pending.splice(pending.indexOf(t), 1);
      t.fn();
    }
  }
  assert.ok(flushes >= 9 && flushes <= 11, `${flushes} flushes in 1 s`);
  for (const t of pending.splice(0)) t.fn();
  // the first change after a quiet time goes out at once
  now += 1000;
  const before = flushes;
  th.schedule();
  assert.equal(flushes, before + 1);
  th.dispose();
});

test('LiveRun tails a run folder: partial lines wait, a replaced file starts over, status changes notify', () => {
  const dir = path.join(tmpRoot, 'run1');
  fs.mkdirSync(dir);
  fs.writeFileSync(
    path.join(dir, 'run.json'),
    JSON.stringify({
      format: 'sbn-run',
      version: 1,
      name: 'toy',
      created: new Date().toISOString(),
      model: 'model.sbn.json',
      source: 'x',
    }),
  );
  fs.writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify({ model: { name: 'toy' }, train: { estimator: 'psa', epochs: 8 } }),
  );
  fs.writeFileSync(path.join(dir, 'environment.json'), JSON.stringify({ backend: 'wasm' }));
  fs.writeFileSync(
    path.join(dir, 'status.json'),
    JSON.stringify({ status: 'running', pid: process.pid, hostname: os.hostname(), updated: new Date().toISOString() }),
  );
  const records = syntheticRecords(100);
  const text = records.map((r) => JSON.stringify(r) + '\n').join('');
  const cut = Math.floor(text.length / 2);
  fs.writeFileSync(path.join(dir, 'metrics.jsonl'), text.slice(0, cut));
  const live = new LiveRun(dir, 2000, 50);
  let notified = 0;
  const sub = live.onDidChange(() => {
    notified++;
  });
  const n1 = live.series.series.get(SERIES.objective)!.length;
  assert.ok(n1 > 0 && n1 < 50);
  fs.appendFileSync(path.join(dir, 'metrics.jsonl'), text.slice(cut));
  assert.equal(live.poll(), true);
  assert.equal(live.series.series.get(SERIES.objective)!.length, 50);
  assert.equal(live.poll(), false);
  const st = live.state();
  assert.equal(st.name, 'toy');
  assert.equal(st.estimator, 'psa');
  assert.equal(st.backend, 'wasm');
  assert.equal(st.backendDetail, 'wasm', 'an environment.json with only the backend name');
  assert.equal(st.kernels, undefined);
  assert.equal(st.status, 'running');
  assert.equal(st.totalSteps, 400);
  assert.equal(st.step, 100);
  assert.ok(st.etaSeconds !== undefined && Math.abs(st.etaSeconds - 300 / 20) < 1e-6, String(st.etaSeconds));
  assert.equal(st.canStop, false, 'no worker of this window trains it');
  const oldSeries = live.series;
  fs.writeFileSync(
    path.join(dir, 'metrics.jsonl'),
    records
      .slice(0, 3)
      .map((r) => JSON.stringify(r) + '\n')
      .join(''),
  );
  live.poll();
  assert.notEqual(live.series, oldSeries, 'a shorter file was replaced: fresh series');
  fs.writeFileSync(
    path.join(dir, 'status.json'),
    JSON.stringify({
      status: 'finished',
      pid: process.pid,
      hostname: os.hostname(),
      updated: new Date().toISOString(),
    }),
  );
  const before = notified;
  assert.equal(live.poll(), true);
  assert.equal(notified, before + 1);
  assert.equal(live.state().etaSeconds, undefined);
  sub.dispose();
  live.dispose();
});

test('LiveRun: the header shows what ran from environment.json (backend in full, origin, devices, kernels)', () => {
  const dir = path.join(tmpRoot, 'run-native');
  fs.mkdirSync(dir);
  fs.writeFileSync(
    path.join(dir, 'run.json'),
    JSON.stringify({
      format: 'sbn-run',
      version: 1,
      name: 'toy',
      created: new Date().toISOString(),
      model: 'model.sbn.json',
      source: 'x',
    }),
  );
  fs.writeFileSync(
    path.join(dir, 'environment.json'),
    JSON.stringify({
      backend: 'tensorflow',
      backendDetail: 'tensorflow (libtensorflow 2.21.0)',
      kernels: 'native (avx512, 2 threads)',
      native: {
        origin: 'setup',
        devices: [{ name: '/job:localhost/replica:0/task:0/device:CPU:0', type: 'CPU', memoryBytes: 0 }],
      },
    }),
  );
  const live = new LiveRun(dir, 2000, 50);
  const st = live.state();
  assert.equal(st.backend, 'tensorflow');
  assert.equal(st.backendDetail, 'tensorflow (libtensorflow 2.21.0) from native set-up, on CPU');
  assert.equal(st.kernels, 'native (avx512, 2 threads)');
  live.dispose();
});

test('seriesCsv: one row per step, one column per series', () => {
  const csv = seriesCsv(
    new Map([
      ['objective', { x: [1, 2, 3], y: [0.5, null, 0.25] }],
      ['validation/acc_e', { x: [2], y: [0.75] }],
    ]),
  );
  assert.equal(csv, 'step,objective,validation/acc_e\n1,0.5,\n2,,0.75\n3,0.25,\n');
});

test('rebin keeps every count and puts it where its values lie', () => {
  const counts = [4, 0, 2, 6];
  const wide = rebin(counts, -1, 1, -2, 2, 4); // each source bin (width 0.5) falls into the middle two target bins
  assert.deepEqual(wide, [0, 4, 8, 0]);
  const shifted = rebin([10], 0, 1, -1, 1, 4);
  assert.deepEqual(shifted, [0, 0, 5, 5]);
  const any = rebin([1, 2, 3, 4, 5], -0.3, 0.7, -1, 1, 7);
  assert.ok(Math.abs(any.reduce((a, b) => a + b, 0) - 15) < 1e-9);
});

test('a weight histogram whose range grows re-bins the earlier columns into the common range', () => {
  const env = (kind: string, step: number) => ({ kind, step, time: '2026-01-01T00:00:00Z', elapsed: step / 10 });
  const rec = (step: number, max: number) => ({
    ...env('layerStats', step),
    layers: [{ name: 'output', weightNorm: 1, weightHist: { min: -max, max, counts: [1, 1, 1, 1] } }],
  });
  const l = fresh([rec(1, 1), rec(2, 2)] as unknown as MetricsRecord[], 2000, 'layers');
  const t = l.extras.histograms![0];
  assert.equal(t.kind, 'weight');
  assert.deepEqual([t.min, t.max], [-2, 2]);
  assert.deepEqual(t.counts[0], [0, 2, 2, 0]);
  assert.deepEqual(t.counts[1], [1, 1, 1, 1]);
});
