// test-backends: one
// The Sweep panel's data (src/extension/panels/sweepData.ts) and the sweep folder facts the Runs view reads
// (src/extension/sweeps/sweepFolders.ts): table rows, the objective's mean and 95 % band per swept field, the best
// runs Compare best opens, progress, and whether a sweep is running now (a live worker of this machine).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  createSweepFolder,
  MAX_SWEEP_JOBS,
  parseSweepText,
  readSweepState,
  updateSweepState,
} from '../../src/engine/sweeps';
import { sweepReport, tQuantile975 } from '../../src/engine/sweeps/report';
import { bestRuns, sweepCharts, sweepTableRows, wantsLogAxis } from '../../src/extension/panels/sweepData';
import {
  isLiveLocalWorker,
  listSweeps,
  newSweepFolderName,
  progressLine,
  sweepFolderInfo,
} from '../../src/extension/sweeps/sweepFolders';
import { repoRoot } from './helpers/fixtures';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-sweep-panel-'));
fs.copyFileSync(path.join(repoRoot(), 'examples', 'toy2d.sbn.json'), path.join(tmp, 'm.sbn.json'));

/** A sweep folder of `text` whose points are given statuses and objective values by `fill`. */
function sweepFolder(name: string, text: string): string {
  const parsed = parseSweepText(text, path.join(tmp, `${name}.sbn-sweep.yaml`));
  assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.errors));
  const dir = path.join(tmp, 'sweeps', name);
  createSweepFolder(dir, path.join(tmp, `${name}.sbn-sweep.yaml`), text, parsed.sweep);
  return dir;
}

const GRID =
  'model: m.sbn.json\ngrid:\n  train.estimator: [psa, dste]\n  train.lr: { log: [0.01, 1], points: 3 }\nseeds: 3\n';

test('table rows: per grid point its values, run counts, mean ± sd and Student-t 95 % interval; best marked', () => {
  const dir = sweepFolder('grid', GRID);
  // objective = lr-index + seed/10 for psa, +1 for dste; point 4 (dste, lr 0.1) has one failed seed
  updateSweepState(dir, (s) => {
    for (const p of s.points) {
      if (p.index === 4 && p.seed === 3) {
        p.status = 'failed';
        p.reason = 'training diverged';
        continue;
      }
      if (p.index === 5) continue; // still waiting
      p.status = 'finished';
      const lrIndex = p.index % 3;
      const est = p.overrides['train.estimator'] === 'dste' ? 1 : 0;
      p.metrics = { 'validation.u_loss': lrIndex + est + p.seed / 10 };
    }
  });
  const state = readSweepState(dir);
  const report = sweepReport(dir);
  const rows = sweepTableRows(dir, report, state);
  assert.equal(rows.length, 6);
  assert.deepEqual(rows[0].values, ['psa', '0.01']);
  assert.deepEqual(rows[4].values, ['dste', '0.1']);
  // point 0: values 0.1, 0.2, 0.3 → mean 0.2, sd 0.1, half-width t(0.975, 2)·0.1/√3
  assert.ok(Math.abs(rows[0].mean! - 0.2) < 1e-12);
  assert.ok(Math.abs(rows[0].sd! - 0.1) < 1e-12);
  const half = (tQuantile975(2) * 0.1) / Math.sqrt(3);
  assert.ok(Math.abs(rows[0].ci95![0] - (0.2 - half)) < 1e-12 && Math.abs(rows[0].ci95![1] - (0.2 + half)) < 1e-12);
  assert.equal(rows[0].best, true);
  assert.equal(rows.filter((r) => r.best).length, 1);
  assert.equal(rows[0].runs.length, 3);
  assert.ok(rows[0].runs.every((r) => r.startsWith(dir + path.sep) && r.includes('seed')));
  // the failed seed: two finished, the reason shown
  assert.deepEqual(rows[4].status, { waiting: 0, running: 0, finished: 2, failed: 1 });
  assert.equal(rows[4].failure, 'training diverged');
  assert.equal(rows[4].runs.length, 2);
  // nothing finished: no mean, no runs to open
  assert.equal(rows[5].mean, null);
  assert.equal(rows[5].ci95, null);
  assert.deepEqual(rows[5].runs, []);

  const info = sweepFolderInfo(dir);
  assert.deepEqual(info.counts, { waiting: 3, running: 0, finished: 14, failed: 1 });
  assert.equal(progressLine(info), 'done 15/18 · failed 1 · waiting 3');
});

test('charts: the objective against each field, one series per combination of the others, band = 95 % CI', () => {
  const dir = path.join(tmp, 'sweeps', 'grid');
  const { charts, series } = sweepCharts(sweepReport(dir));
  assert.deepEqual(
    charts.map((c) => c.field),
    ['train.estimator', 'train.lr'],
  );
  // estimator: not numbers → positions 0, 1 labelled; one series per lr
  const est = charts[0];
  assert.deepEqual(est.categories, ['psa', 'dste']);
  assert.equal(est.logX, false);
  assert.deepEqual(
    est.series.map((s) => s.label),
    ['train.lr=0.01', 'train.lr=0.1', 'train.lr=1'],
  );
  // lr: log axis (a decade or more), one series per estimator, x sorted, the waiting point left out
  const lr = charts[1];
  assert.equal(lr.logX, true);
  assert.equal(lr.categories, undefined);
  assert.deepEqual(
    lr.series.map((s) => s.label),
    ['train.estimator=psa', 'train.estimator=dste'],
  );
  const psa = series[lr.series[0].key];
  assert.deepEqual(psa.x, [0.01, 0.1, 1]);
  assert.ok(psa.y.every((v, i) => Math.abs(v! - (i + 0.2)) < 1e-12));
  const lo = series[`${lr.series[0].key}/lo`];
  const hi = series[`${lr.series[0].key}/hi`];
  psa.y.forEach((m, i) => assert.ok(lo.y[i]! < m! && m! < hi.y[i]!));
  const dste = series[lr.series[1].key];
  assert.deepEqual(dste.x, [0.01, 0.1]);
  // the point with two finished seeds still has a band (t with 1 degree of freedom)
  assert.ok(series[`${lr.series[1].key}/hi`].y[1]! - dste.y[1]! > 0);
});

test('a point with one finished seed: its mean, and the band collapses to it', () => {
  const dir = sweepFolder('single', 'model: m.sbn.json\ngrid:\n  train.lr: [0.01, 0.02]\nseeds: 1\n');
  updateSweepState(dir, (s) => {
    s.points[0].status = 'finished';
    s.points[0].metrics = { 'validation.u_loss': 0.5 };
  });
  const { charts, series } = sweepCharts(sweepReport(dir));
  assert.equal(charts[0].logX, false);
  const key = charts[0].series[0].key;
  assert.deepEqual(series[key], { x: [0.01], y: [0.5] });
  assert.deepEqual(series[`${key}/lo`].y, [0.5]);
  assert.deepEqual(series[`${key}/hi`].y, [0.5]);
  assert.equal(charts[0].series[0].label, 'validation.u_loss');
});

test('Compare best: the best points by the objective (min or max), each as the seed nearest its mean', () => {
  const dir = path.join(tmp, 'sweeps', 'grid');
  const state = readSweepState(dir);
  const best = bestRuns(dir, sweepReport(dir), state, 2);
  assert.equal(best.length, 2);
  // point 0 (mean 0.2 → seed 2), then point 1 (psa lr 0.1, mean 1.2) and point 3 (dste 0.01, 1.2) tie: stable order
  const seedOf = (run: string) => state.points.find((p) => path.join(dir, p.run) === run)!;
  assert.equal(seedOf(best[0]).index, 0);
  assert.equal(seedOf(best[0]).seed, 2);
  updateSweepState(dir, (s) => (s.objective = { metric: 'validation.u_loss', mode: 'max' }));
  const worst = bestRuns(dir, sweepReport(dir), readSweepState(dir), 1);
  assert.equal(seedOf(worst[0]).index, 2);
});

test('sweep folders: listed with progress; a running point of a live local worker means the sweep runs now', () => {
  const root = path.join(tmp, 'sweeps');
  fs.mkdirSync(path.join(root, 'not-a-sweep'), { recursive: true });
  const names = listSweeps(root).map((s) => s.name);
  assert.deepEqual([...names].sort(), ['grid', 'single']);
  const dir = path.join(root, 'single');
  const me = `${os.hostname()}:${process.pid}`;
  assert.equal(isLiveLocalWorker(me), true);
  assert.equal(isLiveLocalWorker(`another-host:${process.pid}`), false);
  assert.equal(isLiveLocalWorker(`${os.hostname()}:not-a-pid`), false);
  updateSweepState(dir, (s) => {
    s.points[1].status = 'running';
    s.points[1].worker = me;
  });
  assert.deepEqual(sweepFolderInfo(dir).liveWorkers, [me]);
  assert.equal(progressLine(sweepFolderInfo(dir)), 'done 1/2 · running 1 · 1 worker seen');
  // a worker that has exited (a pid no process has): the point is left over, resumable
  updateSweepState(dir, (s) => (s.points[1].worker = `${os.hostname()}:2147483646`));
  assert.deepEqual(sweepFolderInfo(dir).liveWorkers, []);
  // a damaged sweep.json: listed, with the reason
  fs.mkdirSync(path.join(root, 'broken'));
  fs.writeFileSync(path.join(root, 'broken', 'sweep.json'), '{');
  const broken = listSweeps(root).find((s) => s.name === 'broken')!;
  assert.match(broken.problem ?? '', /broken.sweep\.json: the file is damaged, not valid JSON/);
});

test('log axis only for positive numbers spread over a decade; new sweep folder names as sbn sweep makes them', () => {
  assert.equal(wantsLogAxis([0.001, 0.01]), true);
  assert.equal(wantsLogAxis([1, 5]), false);
  assert.equal(wantsLogAxis([0, 10]), false);
  assert.equal(wantsLogAxis(['a', 'b']), false);
  assert.equal(wantsLogAxis([0.1]), false);
  const at = new Date('2026-12-05T07:15:30Z');
  assert.equal(newSweepFolderName('/x/toy2d.sbn-sweep.yaml', at), 'toy2d-20261205-071530');
  assert.equal(newSweepFolderName('/x/lr.sbn-sweep.json', at), 'lr-20261205-071530');
});

test("the editor's sbn.sweepJobs setting allows as many jobs as sbn sweep --jobs", () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as {
    contributes: { configuration: { properties: Record<string, { maximum?: number }> } };
  };
  assert.equal(manifest.contributes.configuration.properties['sbn.sweepJobs'].maximum, MAX_SWEEP_JOBS);
});
