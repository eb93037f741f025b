// test-backends: one
// Sweep files: parsing and validation (file, field, line), expansion into points with stable ids, sweep.json checks,
// the JSON Schema, and the report's statistics.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Ajv from 'ajv';
import sweepSchema from '../../schemas/sbn-sweep.schema.json';
import {
  axisValues,
  checkSweepState,
  createSweepFolder,
  expandSweep,
  gridPoints,
  loadSweepFile,
  metricStats,
  parseSweepText,
  pointId,
  readSweepState,
  sweepReport,
  sweepReportCsv,
  tQuantile975,
  updateSweepState,
  type SweepSpec,
} from '../../src/engine/sweeps';
import { sweepReportHtml } from '../../src/report/sweepHtml';
import { formatSpecError } from '../../src/engine/spec';
import { repoRoot } from './helpers/fixtures';

const root = repoRoot();
const example = path.join(root, 'examples', 'toy2d.sbn-sweep.yaml');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-sweep-format-'));
const modelFile = path.join(tmp, 'm.sbn.json');
fs.copyFileSync(path.join(root, 'examples', 'toy2d.sbn.json'), modelFile);

function parse(text: string, name = 'x.sbn-sweep.yaml') {
  return parseSweepText(text, path.join(tmp, name));
}

function errorsOf(text: string, name?: string): string[] {
  const r = parse(text, name);
  assert.equal(r.ok, false, 'expected errors');
  return r.ok ? [] : r.errors.map((e) => formatSpecError({ ...e, file: path.basename(e.file ?? '') }));
}

function ok(text: string): SweepSpec {
  const r = parse(text);
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatSpecError).join('\n'));
  return r.sweep;
}

test('the shipped example parses: lists, a log range, seeds 1..3, overrides and the objective', () => {
  const r = loadSweepFile(example);
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatSpecError).join('\n'));
  const s = r.sweep;
  assert.deepEqual(
    s.grid.map((g) => g.field),
    ['train.estimator', 'train.lr'],
  );
  assert.deepEqual(axisValues(s.grid[1].axis, s.grid[1].integer), [0.01, 0.0316228, 0.1]);
  assert.deepEqual(s.seeds, [1, 2, 3]);
  assert.deepEqual(s.overrides, { 'train.epochs': 3 });
  assert.deepEqual(s.objective, { metric: 'validation.u_loss', mode: 'min' });
  assert.equal(expandSweep(s).length, 2 * 3 * 3);
});

test('defaults: one seed, objective validation.u_loss (min); linear integer ranges are rounded', () => {
  const s = ok('model: m.sbn.json\ngrid:\n  train.batchSize: { linear: [5, 20], points: 4 }\n');
  assert.deepEqual(s.seeds, [1]);
  assert.deepEqual(s.objective, { metric: 'validation.u_loss', mode: 'min' });
  assert.deepEqual(axisValues(s.grid[0].axis, s.grid[0].integer), [5, 10, 15, 20]);
});

test('errors name the file, the line and column, the field, and what was expected', () => {
  const text = [
    'model: m.sbn.json', // 1
    'grid:', // 2
    '  train.estimater: [psa]', // 3
    '  train.lr: [0.1, -1]', // 4
    'seeds: [1, 1]', // 5
    'objective: { metric: validation.uloss }', // 6
    'extra: 1', // 7
  ].join('\n');
  const errors = errorsOf(text);
  assert.deepEqual(errors, [
    'x.sbn-sweep.yaml:3:3: grid["train.estimater"]: "train.estimater" is not a field of a model file; ' +
      'did you mean "train.estimator"?',
    'x.sbn-sweep.yaml:5:12: seeds[1]: seed 1 is listed twice',
    'x.sbn-sweep.yaml:6:22: objective.metric: expected <split>.<metric> with split train, validation, test and ' +
      'metric u_loss, acc1, acc_e, entropy (e.g. "validation.u_loss"), got "validation.uloss"; ' +
      'did you mean "validation.u_loss"?',
    'x.sbn-sweep.yaml:7:1: extra: unknown key "extra"; allowed keys are "$schema", "model", "grid", "sample", ' +
      '"seeds", "overrides" and "objective"',
  ]);
});

test('values are checked against the model file, in its validator’s words, at the value’s line', () => {
  const [lr] = errorsOf('model: m.sbn.json\ngrid:\n  train.lr: [0.1, -1]\n');
  assert.match(lr, /^x\.sbn-sweep\.yaml:3:19: grid\["train\.lr"\]\[1\]: train\.lr = -1: train\.lr: expected/);
  const [est] = errorsOf('model: m.sbn.json\ngrid:\n  train.estimator: [psa, psb]\n');
  assert.match(est, /:3:26: .*train\.estimator = "psb": train\.estimator: .*did you mean "psa"\?/);
  const [ov] = errorsOf('model: m.sbn.json\ngrid:\n  train.lr: [0.1]\noverrides:\n  train.epochs: 0\n');
  assert.match(ov, /:5:17: overrides\["train\.epochs"\]: train\.epochs: expected an integer ≥ 1 and ≤ \d+, got 0/);
  const [units] = errorsOf('model: m.sbn.json\ngrid:\n  layers.0.units: [4, 0]\n');
  assert.match(units, /:3:23: .*layers\.0\.units = 0: layers\[0\]\.units: expected an integer ≥ 1/);
  const [range] = errorsOf('model: m.sbn.json\ngrid:\n  train.lr: { log: [0, 0.1], points: 3 }\n');
  assert.match(range, /:3:20: grid\["train\.lr"\]\.log: a log range needs two numbers > 0, got \[0, 0\.1\]/);
});

test('the seed comes from "seeds"; a field is swept or overridden, not both; the model file must exist', () => {
  assert.match(
    errorsOf('model: m.sbn.json\ngrid:\n  train.seed: [1, 2]\n')[0],
    /:3:3: .*"train\.seed" cannot be swept/,
  );
  assert.match(
    errorsOf('model: m.sbn.json\ngrid:\n  train.lr: [0.1]\noverrides:\n  train.lr: 0.2\n')[0],
    /:5:3: overrides\["train\.lr"\]: "train\.lr" is also swept in "grid"/,
  );
  assert.match(
    errorsOf('model: nope.sbn.json\ngrid:\n  train.lr: [0.1]\n')[0],
    /:1:8: model: cannot read the model file .*nope\.sbn\.json: file not found/,
  );
  assert.match(errorsOf('model: m.sbn.json\n')[0], /:1:1: grid: missing required key "grid"/);
  assert.match(errorsOf('model: m.sbn.json\ngrid: [\n')[0], /^x\.sbn-sweep\.yaml:\d+:\d+: YAML syntax error/);
  assert.match(
    errorsOf('{"model": "m.sbn.json", "grid": {"train.lr": []}}', 'x.sbn-sweep.json')[0],
    /^x\.sbn-sweep\.json:1:46: .*non-empty list/,
  );
});

test('expansion: every combination × seeds, ids stable and distinct, run folders named after the point', () => {
  const s = ok('model: m.sbn.json\ngrid:\n  train.estimator: [psa, dste]\n  train.lr: [0.01, 0.1, 1]\nseeds: [3, 7]\n');
  const points = expandSweep(s);
  assert.equal(points.length, 2 * 3 * 2);
  assert.equal(new Set(points.map((p) => p.id)).size, points.length);
  assert.deepEqual(expandSweep(s), points, 'the same sweep expands to the same points');
  assert.deepEqual(points[0].overrides, { 'train.estimator': 'psa', 'train.lr': 0.01 });
  assert.deepEqual([points[0].seed, points[1].seed, points[1].index, points[2].index], [3, 7, 0, 1]);
  assert.match(points[5].run, /^runs\/p2-seed7-[0-9a-f]{12}$/);
  // the id depends on the values, not on the order they are written in
  assert.equal(pointId({ a: 1, b: { c: 2, d: 3 } }, 1), pointId({ b: { d: 3, c: 2 }, a: 1 }, 1));
  assert.notEqual(pointId({ a: 1 }, 1), pointId({ a: 1 }, 2));
  assert.equal(points[0].id, pointId({ 'train.estimator': 'psa', 'train.lr': 0.01 }, 3));
});

test('sample: count points drawn from the ranges (log-uniformly), the same for the same seed', () => {
  const text = (seed: number) =>
    'model: m.sbn.json\ngrid:\n  train.lr: { log: [0.001, 0.1], points: 2 }\n  train.estimator: [psa, dste]\n' +
    `sample: { count: 6, seed: ${seed} }\n`;
  const a = gridPoints(ok(text(1)));
  assert.equal(a.length, 6);
  assert.deepEqual(gridPoints(ok(text(1))), a);
  assert.notDeepEqual(gridPoints(ok(text(2))), a);
  for (const p of a) {
    assert.ok((p['train.lr'] as number) >= 0.001 && (p['train.lr'] as number) <= 0.1);
    assert.ok(['psa', 'dste'].includes(p['train.estimator'] as string));
  }
});

test('sweep.json: made once, updated under the lock, a damaged field named', () => {
  const dir = path.join(tmp, 'folder');
  const s = ok('model: m.sbn.json\ngrid:\n  train.lr: [0.1, 0.2]\nseeds: 2\n');
  const state = createSweepFolder(dir, path.join(tmp, 'x.sbn-sweep.yaml'), 'text', s);
  assert.equal(state.points.length, 4);
  assert.equal(state.model, path.relative(dir, modelFile));
  assert.throws(() => createSweepFolder(dir, path.join(tmp, 'x.sbn-sweep.yaml'), 'text', s), /already a sweep folder/);
  updateSweepState(dir, (st) => {
    st.points[1].status = 'finished';
  });
  assert.equal(readSweepState(dir).points[1].status, 'finished');
  const bad = JSON.parse(fs.readFileSync(path.join(dir, 'sweep.json'), 'utf8')) as { points: { status: string }[] };
  bad.points[2].status = 'done';
  assert.throws(
    () => checkSweepState(bad, 'sweep.json'),
    /^Error: sweep\.json: points\[2\]\.status: expected one of "waiting", "running", "finished" or "failed", got "done"$/,
  );
});

test('the JSON Schema compiles and agrees with the parser on the example and on unknown keys', () => {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(sweepSchema);
  const r = loadSweepFile(example);
  assert.ok(r.ok);
  assert.ok(validate({ model: 'm.sbn.json', grid: { 'train.lr': { log: [0.01, 0.1], points: 3 } }, seeds: 3 }));
  assert.equal(validate({ model: 'm.sbn.json', grid: { 'train.lr': [0.1] }, extra: 1 }), false);
  assert.equal(validate({ model: 'm.sbn.json', grid: { 'train.seed': [1] } }), false);
});

test('statistics: mean, sample sd and the Student-t 95 % interval; the report as CSV and HTML', () => {
  assert.equal(tQuantile975(2), 4.3027);
  assert.ok(Math.abs(tQuantile975(1000) - 1.9623) < 1e-3);
  const s = metricStats([1, 2, 3]);
  assert.equal(s.mean, 2);
  assert.equal(s.sd, 1);
  const half = 4.3027 / Math.sqrt(3);
  assert.deepEqual(s.ci95, [2 - half, 2 + half]);
  assert.deepEqual(metricStats([5, null]), { n: 1, mean: 5, sd: null, ci95: null });

  const dir = path.join(tmp, 'report');
  const spec = ok('model: m.sbn.json\ngrid:\n  train.lr: [0.1, 0.2]\nseeds: 3\n');
  createSweepFolder(dir, path.join(tmp, 'x.sbn-sweep.yaml'), 'text', spec);
  updateSweepState(dir, (st) =>
    st.points.forEach((p, i) => {
      p.status = 'finished';
      p.metrics = { 'validation.u_loss': i, 'train.acc1': 0.5 };
    }),
  );
  const r = sweepReport(dir);
  assert.equal(r.points.length, 2);
  assert.deepEqual(r.points[1].metrics['validation.u_loss'].mean, 4);
  assert.equal(r.best, 0);
  const csv = sweepReportCsv(r).trim().split('\n');
  assert.equal(csv.length, 3);
  assert.match(csv[0], /^point,train\.lr,seeds,finished,failed,train\.acc1 mean,/);
  const html = sweepReportHtml(r);
  assert.match(html, /<svg [^>]*aria-label="validation\.u_loss against train\.lr"/);
  assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org)/);
});
