// test-backends: one
// Numbers that agree (issue 18 item 5): each progress figure of a training run has one computation
// (src/engine/runs/progress.ts) that the panels' header and step-rate chart, the status bar and the notification use
// — the step rate, the ETA (after a resume too), and the step a stopped run is at.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RunStore, type MetricsRecord } from '../../src/engine/runs';
import { etaSeconds, runStep, stepRate, STEP_RATE_WINDOW } from '../../src/engine/runs/progress';
import { RunSeries } from '../../src/extension/panels/series/runSeries';
import { LiveRun } from '../../src/extension/panels/seriesStore';
import { SERIES } from '../../src/webviewProtocol';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-progress-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const TIME = '2026-01-01T00:00:00.000Z';
function stepRecord(step: number, elapsed: number): MetricsRecord {
  return { kind: 'step', step, epoch: step / 100, time: TIME, elapsed, loss: 0.5, lr: 0.01, samplesPerSecond: 10 };
}

test('stepRate: steps over seconds across the last STEP_RATE_WINDOW records; undefined until measurable', () => {
  assert.equal(stepRate([]), undefined);
  assert.equal(stepRate([{ step: 4, seconds: 1 }]), undefined);
  assert.equal(
    stepRate([
      { step: 4, seconds: 1 },
      { step: 8, seconds: 1 },
    ]),
    undefined,
    'no time between them',
  );
  // 10 steps/s for the first 30 records, then 40 steps/s: the window sees only the latest ones
  const times = Array.from({ length: 30 }, (_, i) => ({ step: 10 * (i + 1), seconds: i + 1 }));
  assert.equal(stepRate(times), 10);
  let t = 30;
  for (let i = 0; i < STEP_RATE_WINDOW; i++) times.push({ step: times[times.length - 1].step + 40, seconds: ++t });
  assert.equal(stepRate(times), 40);
  assert.equal(stepRate(times.slice(0, 3), 2), 10, 'a window of 2: the last two records');
});

test('etaSeconds: steps left at the rate; unknown when any input is', () => {
  assert.equal(etaSeconds(1000, 400, 40), 15);
  assert.equal(etaSeconds(1000, 1000, 40), 0);
  assert.equal(etaSeconds(1000, 1200, 40), 0, 'never negative');
  assert.equal(etaSeconds(undefined, 400, 40), undefined);
  assert.equal(etaSeconds(1000, undefined, 40), undefined);
  assert.equal(etaSeconds(1000, 400, undefined), undefined);
  assert.equal(etaSeconds(1000, 400, 0), undefined);
});

test('runStep: a running run is at its last record; an ended one at the later of that and status.json', () => {
  assert.equal(runStep(1328, 'running', undefined), 1328);
  assert.equal(runStep(1328, 'running', 1200), 1328, 'a resumed run: the old status step no longer counts');
  assert.equal(runStep(1328, 'stopped', 1329), 1329);
  assert.equal(runStep(1328, 'finished', 1328), 1328);
  assert.equal(runStep(undefined, 'stopped', 3), 3);
  assert.equal(runStep(12, 'stopped', undefined), 12);
});

test("the header's steps/s is the step-rate chart's latest point, at every record", () => {
  const run = new RunSeries(10_000);
  // uneven timing: the old header (mean over 20 records) and the old chart (between two records) disagreed here
  let elapsed = 0;
  for (let i = 1; i <= 60; i++) {
    elapsed += i % 7 === 0 ? 0.5 : 0.05;
    run.ingest([stepRecord(4 * i, elapsed)]);
    const chart = run.series.get(SERIES.stepsPerSecond)?.raw;
    if (i === 1) {
      assert.equal(run.facts.stepsPerSecond, undefined);
      continue;
    }
    assert.ok(chart && chart.x[chart.x.length - 1] === 4 * i);
    assert.equal(run.facts.stepsPerSecond, chart.y[chart.y.length - 1], `record ${i}`);
  }
});

test("after a resume the rate is the resumed process's: the pause before it does not slow the ETA", () => {
  const run = new RunSeries(10_000);
  // 40 steps/s up to step 400 (10 s); stopped; resumed from step 400 with 30 s of start-up counted in `elapsed`
  run.ingest(Array.from({ length: 100 }, (_, i) => stepRecord(4 * (i + 1), 0.1 * (i + 1))));
  run.ingest([{ kind: 'resume', step: 400, epoch: 4, time: TIME, elapsed: 40 }]);
  assert.equal(run.facts.stepsPerSecond, undefined, 'not measured yet after the resume');
  run.ingest(Array.from({ length: 10 }, (_, i) => stepRecord(400 + 4 * (i + 1), 40 + 0.1 * (i + 1))));
  assert.ok(Math.abs(run.facts.stepsPerSecond! - 40) < 1e-9, `${run.facts.stepsPerSecond}`);
  // 1000 steps in all: 560 left at 40 steps/s
  assert.ok(Math.abs(etaSeconds(1000, run.facts.step, run.facts.stepsPerSecond)! - 14) < 1e-9);
});

test('a run stopped between log points: the panels show the step it stopped at, as its status says', () => {
  const store = RunStore.create(tmp, 'stopped', {
    modelFileName: 'm.sbn.json',
    modelText: '{}',
    config: {},
    environment: {},
  });
  for (const s of [1320, 1324, 1328])
    store.appendMetrics({ kind: 'step', step: s, epoch: s / 100, loss: 0.5, lr: 0.01, samplesPerSecond: 10 });
  store.setStatus('stopped', 'stopped at step 1329', 1329);
  store.close();
  assert.equal(RunStore.status(store.dir).step, 1329);
  const live = new LiveRun(store.dir, 2000, 50);
  try {
    const state = live.state();
    assert.equal(state.status, 'stopped');
    assert.equal(state.step, 1329);
    assert.match(state.statusDetail ?? '', new RegExp(`stopped at step ${state.step}\\b`));
  } finally {
    live.dispose();
  }
});
