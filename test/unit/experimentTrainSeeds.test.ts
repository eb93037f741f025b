// test-backends: one
// `sbn experiment train --jobs N --seeds N` in small: a tiny suite of two methods with two seeds each, run here
// (`--jobs 1`: the methods in this process, the second seeds by the in-process executor) and on the embedded pool of
// two worker processes (`--jobs 2`), ends with the same final checkpoint for every method and seed; seed 2 trains at
// the rate seed 1's search chose; the report carries the spread over seeds and passes the report page's check; a
// resumed finished suite runs nothing; bad --jobs / --seeds are one line with exit code 2.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../../src/engine/backend';
import { chosenRate, runSuiteJobs, suiteJobId, type SuiteJobOptions } from '../../src/engine/experiments/suiteJobs';
import { readSuiteState, runPath, suiteReport } from '../../src/engine/experiments/trainSuite';
import { RunStore, readConfig } from '../../src/engine/runs';
import { InProcessExecutor } from '../../src/engine/sweeps/inProcess';
import { EmbeddedPool } from '../../src/engine/sweeps/pool';
import { metricStats } from '../../src/engine/sweeps/report';
import { sweepWorkerEntry } from '../../src/cli/commands/sweep';
import { formatSuiteTable } from '../../src/cli/commands/experimentTrain';
import { parseReportData, writeExperimentReport } from '../../src/report';
import { repoRoot } from './helpers/fixtures';
import { TEST_ENVIRONMENT, TINY_SUITE } from './helpers/toySuite';

const root = repoRoot();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-suite-seeds-'));
const METHODS = ['dste', 'psa'];

/** Per `<method> seed <k>`: the final checkpoint's step and parameters. */
function finals(dir: string) {
  const state = readSuiteState(dir, TINY_SUITE.name);
  const out: Record<string, { step: number; params: unknown }> = {};
  for (const [method, entry] of Object.entries(state.methods)) {
    const runs: [string, string][] = [
      ['1', entry.runDir],
      ...Object.entries(entry.seeds ?? {}).map(([k, e]): [string, string] => [k, e.runDir]),
    ];
    for (const [seed, runDir] of runs) {
      const cp = RunStore.readCheckpoint(runPath(dir, runDir), 'latest');
      out[`${method} seed ${seed}`] = { step: cp.step, params: cp.params };
    }
  }
  return out;
}

test('--seeds 2: the same checkpoints on --jobs 1 and --jobs 2, and the spread in the report', async () => {
  const backend = await initBackend();
  const env = { backend: backend.name, backendDetail: backend.detail, versions: {} };
  const options = (dir: string): SuiteJobOptions => ({
    suite: TINY_SUITE,
    dir,
    methods: METHODS,
    env,
    seeds: 2,
    shouldStop: () => false,
    seedExecutor: new InProcessExecutor(env),
  });

  const one = path.join(tmp, 'jobs1');
  assert.equal(await runSuiteJobs(options(one)), 'finished');

  const two = path.join(tmp, 'jobs2');
  const pool = () =>
    new EmbeddedPool({ jobs: 2, workerEntry: sweepWorkerEntry(), workerArgs: ['--backend', backend.name] });
  const running: string[] = [];
  const jobIds: string[] = [];
  const withPool = (): SuiteJobOptions => ({
    ...options(two),
    executor: pool(),
    onJob: (j) => {
      if (j.status === 'running') running.push(`${j.method}:${j.seed}`);
    },
  });
  assert.equal(await runSuiteJobs(withPool()), 'finished');
  assert.deepEqual(running.sort(), ['dste:1', 'dste:2', 'psa:1', 'psa:2']);

  // every method and seed: bit for bit the same final checkpoint
  const a = finals(one);
  const b = finals(two);
  assert.deepEqual(Object.keys(b).sort(), ['dste seed 1', 'dste seed 2', 'psa seed 1', 'psa seed 2']);
  assert.deepEqual(b, a);
  // a second seed is another run, not a copy of the first
  for (const m of METHODS) assert.notDeepEqual(b[`${m} seed 2`].params, b[`${m} seed 1`].params, m);

  const state = readSuiteState(two, TINY_SUITE.name);
  assert.match(state.id ?? '', /^[0-9a-f]{12}$/);
  for (const method of METHODS) {
    const entry = state.methods[method];
    assert.equal(entry.runDir, `runs/${method}-seed1`);
    assert.ok(entry.done && entry.test, `${method}: seed 1 evaluated`);
    const seed2 = entry.seeds?.['2'];
    assert.ok(seed2?.done && seed2.test, `${method}: seed 2 evaluated`);
    // seed 2 trains at the rate seed 1's search chose, with its own seed
    const lr = chosenRate(runPath(two, entry.runDir));
    assert.ok(lr !== undefined && lr > 0);
    const config = readConfig(runPath(two, seed2.runDir)) as { train: { lr: unknown; seed: number } };
    assert.equal(config.train.lr, lr);
    assert.equal(config.train.seed, 2);
    jobIds.push(suiteJobId(state.id!, method, 2));
  }
  assert.equal(new Set(jobIds).size, 2);

  // the report: per method both seeds and the statistics of sweeps/report.ts over them
  const report = suiteReport(TINY_SUITE, two, METHODS, TEST_ENVIRONMENT);
  for (const m of report.methods) {
    assert.deepEqual(
      m.seeds?.map((r) => [r.seed, r.status]),
      [
        [1, 'finished'],
        [2, 'finished'],
      ],
      m.method,
    );
    const acc = (m.seeds ?? []).map((r) => r.final['test.acc']);
    assert.ok(
      acc.every((v) => typeof v === 'number' && v >= 0 && v <= 1),
      `${m.method}: ${String(acc)}`,
    );
    assert.deepEqual(m.spread?.['test.acc'], metricStats(acc));
    const u = m.spread?.['validation.u_loss'];
    assert.ok(u && u.n === 2 && u.sd !== null && u.ci95 !== null && u.ci95[0] <= u.mean! && u.mean! <= u.ci95[1]);
    // the charts' bands: per curve and point the mean and 95 % interval over both seeds, the final point = spread
    const val = m.bands?.['validation.u_loss'];
    assert.ok(val, `${m.method}: no validation u_loss band`);
    assert.deepEqual(val.x, [1, 2]);
    assert.deepEqual(val.n, [2, 2]);
    assert.ok(Math.abs(val.mean[1]! - u.mean!) < 1e-12 && Math.abs(val.lower[1]! - u.ci95[0]) < 1e-12);
    const test = m.bands?.['test.accuracy'];
    assert.ok(test && test.x.length === TINY_SUITE.testSamples, `${m.method}: test accuracy band`);
    assert.ok(Math.abs(test.mean[test.x.length - 1]! - (m.spread?.['test.acc'].mean ?? NaN)) < 1e-12);
    for (const key of ['train.u_loss', 'train.acc1', 'train.acc_e', 'validation.acc1', 'validation.acc_e', 'objective'])
      assert.ok(m.bands?.[key]?.x.length, `${m.method}: no ${key} band`);
  }
  const table = formatSuiteTable(report);
  assert.match(table, /test acc \(all samples\) over seeds: mean ± sd \[95 % interval\]/);
  for (const label of ['ST \\(DSTE\\)', 'PSA'])
    assert.match(table, new RegExp(`\\n${label} +[\\d.]+% ± [\\d.]+% \\[-?[\\d.]+%, [\\d.]+%\\] \\(2/2 seeds\\)`));
  const written = await writeExperimentReport(two, report, { png: false });
  const parsed = parseReportData(fs.readFileSync(written.json, 'utf8'), written.json);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.message);
  assert.ok(written.html && fs.readFileSync(written.html, 'utf8').includes('"spread"'), 'report.html holds the spread');
  assert.ok(fs.readFileSync(written.html, 'utf8').includes('"bands"'), 'report.html holds the bands');
  // a suite without further seeds has no spread: its report is as before
  const single = path.join(tmp, 'single');
  fs.mkdirSync(single);
  assert.equal(suiteReport(TINY_SUITE, single, METHODS, TEST_ENVIRONMENT).methods[0].spread, undefined);

  // a finished suite resumed on the pool runs nothing
  running.length = 0;
  assert.equal(await runSuiteJobs(withPool()), 'finished');
  assert.deepEqual(running, []);
  assert.deepEqual(finals(two), b);
});

test('sbn experiment train: bad --jobs and --seeds give one line and exit 2', () => {
  for (const [args, message] of [
    [['--jobs', '0'], /--jobs: expected a positive whole number/],
    [['--seeds', 'two'], /--seeds: expected a positive whole number/],
    [['--seeds', '1000'], /--seeds: at most 100, got 1000/],
  ] as const) {
    const r = spawnSync(
      process.execPath,
      [path.join(root, 'bin', 'sbn.js'), 'experiment', 'train', '--suite', 'mnist-mlp', ...args],
      { encoding: 'utf8', env: { ...process.env }, cwd: tmp },
    );
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, message);
  }
});
