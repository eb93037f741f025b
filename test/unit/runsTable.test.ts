// test-backends: one
// Runs you can tell apart: a run's meta.json (display name, tags, notes: src/engine/runs/meta.ts) and `sbn run set`,
// and the Runs table's data — the columns computed from the runs (hyper-parameters that differ, best and final
// metrics), the rows, and the page's sorting, filtering and grouping (src/webviewProtocol/runsTable.ts).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  META_FILE,
  RUN_META_FIELDS,
  RunStore,
  runMetaProblem,
  applyRunMetaChange,
  parseTagList,
  readRunMeta,
  runInfo,
  updateRunMeta,
  type RunInfo,
} from '../../src/engine/runs';
import {
  RunsTableReader,
  differingKeys,
  flattenConfig,
  metricFacts,
  runsTableView,
} from '../../src/extension/panels/runsTableData';
import { filterRows, groupRows, sortRows, type RunsTableRow, type RunsTableView } from '../../src/webviewProtocol';
import { LiveRun } from '../../src/extension/panels/seriesStore';
import { assertUsageError, sbnInProcess as sbn } from './helpers/cli';
import { repoRoot } from './helpers/fixtures';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-runs-table-'));
}

/** A closed run folder with this configuration, these evaluations of the validation split and this status. */
function makeRun(
  root: string,
  name: string,
  config: Record<string, unknown>,
  valAcc: number[],
  opts: { status?: 'finished' | 'stopped'; created?: Date } = {},
): string {
  const run = RunStore.create(root, name, {
    modelFileName: 'm.sbn.json',
    modelText: '{}',
    config,
    environment: {},
    created: opts.created,
  });
  valAcc.forEach((acc, i) => {
    const step = (i + 1) * 10;
    run.appendMetrics({ kind: 'step', step, epoch: i + 1, loss: 1 / (i + 2), lr: 0.01, samplesPerSecond: 100 });
    run.appendMetrics({
      kind: 'eval',
      step,
      split: 'validation',
      epoch: i + 1,
      u_loss: 1 - acc,
      acc1: acc - 0.01,
      acc_e: acc,
      entropy: 0.1,
      examples: 100,
      samples: 4,
    });
  });
  run.setStatus(opts.status ?? 'finished');
  run.close();
  return run.dir;
}

const config = (estimator: string, lr: number, extra: Record<string, unknown> = {}) => ({
  model: { name: 'toy2d', layers: [{ units: 5 }, { units: 3 }] },
  train: { estimator, lr, epochs: 3, batchSize: 20, ...extra },
});

test('meta.json: none reads as empty; rename, tag, untag and notes are written atomically and read back', () => {
  const root = tmp();
  const dir = makeRun(root, 'toy2d-psa', config('psa', 0.01), [0.5]);
  assert.deepEqual(readRunMeta(dir), { tags: [], notes: '' });
  assert.equal(runInfo(dir).name, 'toy2d-psa');
  updateRunMeta(dir, { displayName: '  baseline PSA ', tags: ['baseline', 'toy'], notes: 'first try\nlr 0.01' });
  const meta = readRunMeta(dir);
  assert.deepEqual(meta, { displayName: 'baseline PSA', tags: ['baseline', 'toy'], notes: 'first try\nlr 0.01' });
  const file = JSON.parse(fs.readFileSync(path.join(dir, META_FILE), 'utf8')) as Record<string, unknown>;
  assert.equal(file.format, 'sbn-run-meta');
  assert.equal(file.version, 1);
  assert.equal(typeof file.updated, 'string');
  assert.deepEqual(runInfo(dir).meta, meta);
  // add and remove tags, keep the rest; a cleared name shows the run's name again
  assert.deepEqual(updateRunMeta(dir, { addTags: ['lr-search', 'toy'], removeTags: ['baseline'] }).tags, [
    'toy',
    'lr-search',
  ]);
  assert.equal(updateRunMeta(dir, { displayName: null }).displayName, undefined);
  assert.equal(readRunMeta(dir).notes, 'first try\nlr 0.01');
  assert.deepEqual(parseTagList(' a, b  c,,a '), ['a', 'b', 'c']);
});

test('docs/run-format.md documents meta.json: its fields in order, an example the reader accepts', () => {
  const doc = fs.readFileSync(path.join(repoRoot(), 'docs', 'run-format.md'), 'utf8');
  const start = doc.indexOf('\n## meta.json\n');
  assert.ok(start >= 0, 'docs/run-format.md has no "## meta.json" section');
  const section = doc.slice(start, doc.indexOf('\n## ', start + 4));
  const fields = [...section.matchAll(/^\| `(\w+)` +\|/gm)].map((m) => m[1]);
  assert.deepEqual(fields, RUN_META_FIELDS);
  const example = /```json\n([\s\S]*?)```/.exec(section)![1];
  assert.equal(runMetaProblem(JSON.parse(example)), null);
});

test('the panels follow meta.json: a LiveRun shows the display name and tags, and the name again when cleared', () => {
  const root = tmp();
  const dir = makeRun(root, 'toy2d-psa', config('psa', 0.01), [0.5]);
  const problems: string[] = [];
  const live = new LiveRun(dir, 100, 500, (p) => problems.push(p));
  try {
    assert.equal(live.state().name, 'toy2d-psa');
    assert.equal(live.state().tags, undefined);
    updateRunMeta(dir, { displayName: 'PSA baseline', tags: ['baseline'] });
    assert.equal(live.poll(), true, 'a change of meta.json is a change of the run state');
    assert.equal(live.state().name, 'PSA baseline');
    assert.deepEqual(live.state().tags, ['baseline']);
    assert.equal(live.poll(), false, 'nothing changed since');
    updateRunMeta(dir, { displayName: null, tags: [] });
    live.poll();
    assert.equal(live.state().name, 'toy2d-psa');
    fs.writeFileSync(path.join(dir, META_FILE), 'not json');
    live.poll();
    assert.equal(live.state().name, 'toy2d-psa');
    assert.match(problems.join('\n'), /meta\.json: the file is damaged/);
  } finally {
    live.dispose();
  }
});

test('meta.json: bad values are refused with what is wrong; a damaged file is reported, the run still listed', () => {
  const root = tmp();
  const dir = makeRun(root, 'r', config('psa', 0.01), [0.5]);
  const meta = { tags: [], notes: '' };
  assert.throws(() => applyRunMetaChange(meta, { tags: ['has space'] }), /tag "has space" may hold only/);
  assert.throws(() => applyRunMetaChange(meta, { tags: ['x'.repeat(41)] }), /longer than 40 characters/);
  assert.throws(() => applyRunMetaChange(meta, { displayName: 'two\nlines' }), /one line/);
  assert.throws(() => applyRunMetaChange(meta, { displayName: 'n'.repeat(121) }), /at most 120 characters/);
  assert.throws(
    () => applyRunMetaChange(meta, { tags: Array.from({ length: 33 }, (_, i) => `t${i}`) }),
    /at most 32 tags/,
  );
  assert.throws(() => updateRunMeta(root, { notes: 'x' }), /not an sbn run folder/);
  fs.writeFileSync(
    path.join(dir, META_FILE),
    '{"format":"sbn-run-meta","version":1,"tags":"a","notes":"","updated":""}',
  );
  assert.throws(() => readRunMeta(dir), /meta\.json: "tags" must be an array/);
  const info = runInfo(dir);
  assert.equal(info.reason, undefined, 'a damaged meta.json does not make the run unreadable');
  assert.match(info.metaProblem ?? '', /meta\.json/);
  assert.throws(() => updateRunMeta(dir, { notes: 'x' }), /meta\.json/, 'never silently replaced');
  fs.writeFileSync(path.join(dir, META_FILE), '{"format":"sbn-run-meta","version":2,"tags":[],"notes":""}');
  assert.throws(() => readRunMeta(dir), /version 2 is not supported/);
});

test('sbn run set: name, tags, notes; without a change it prints them; bad input: one line, exit code 2', async () => {
  const root = tmp();
  const dir = makeRun(root, 'toy2d-psa', config('psa', 0.01), [0.5]);
  let r = await sbn('run', 'set', dir, '--name', 'PSA lr 0.01', '--tags', 'baseline,toy', '--notes', 'n1');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /name: {2}PSA lr 0\.01 \(folder name toy2d-psa\)/);
  assert.match(r.stdout, /tags: {2}baseline, toy/);
  r = await sbn('run', 'set', dir, '--tag', 'best', '--untag', 'toy', '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), {
    run: dir,
    name: 'toy2d-psa',
    displayName: 'PSA lr 0.01',
    tags: ['baseline', 'best'],
    notes: 'n1',
  });
  const notes = path.join(root, 'notes.txt');
  fs.writeFileSync(notes, 'line 1\nline 2\n');
  r = await sbn('run', 'set', dir, '--notes-file', notes, '--clear-name');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readRunMeta(dir), { tags: ['baseline', 'best'], notes: 'line 1\nline 2\n' });
  r = await sbn('run', 'set', dir);
  assert.match(r.stdout, /^run: .*\nname: {2}toy2d-psa\ntags: {2}baseline, best\nnotes: line 1\n {7}line 2\n/);

  assertUsageError(await sbn('run', 'set', dir, '--tag', 'a', 'b;'), /^sbn: --tag: tag "b;" may hold only/);
  assertUsageError(await sbn('run', 'set', dir, '--tags', 'ok,bad!'), /--tags: tag "bad!" may hold only/);
  assertUsageError(await sbn('run', 'set', dir, '--name', '  '), /--name: a display name cannot be empty/);
  assertUsageError(await sbn('run', 'set', dir, '--name', 'x', '--clear-name'), /cannot be given together/);
  assertUsageError(
    await sbn('run', 'set', dir, '--notes-file', path.join(root, 'nope.txt')),
    /--notes-file: cannot read/,
  );
  assertUsageError(await sbn('run', 'set', root), /is not an sbn run folder \(no run\.json\)/);
  // `sbn run` alone: its help (the subcommand it needs) on stderr, exit code 2
  r = await sbn('run');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^Usage: sbn run \[options\] \[command\][\s\S]*\n +set \[options\] <run-folder>/);
  assertUsageError(await sbn('run', 'set', path.join(root, 'missing')), /does not exist/);
});

test('config paths: flattened, lists of values kept whole; only the paths that differ between runs', () => {
  const flat = flattenConfig(config('psa', 0.01, { lr: 'search', augment: true, shape: [2, 3] }));
  assert.deepEqual(flat, {
    'model.name': 'toy2d',
    'model.layers.0.units': 5,
    'model.layers.1.units': 3,
    'train.estimator': 'psa',
    'train.lr': 'search',
    'train.epochs': 3,
    'train.batchSize': 20,
    'train.augment': 'true',
    'train.shape': '[2,3]',
  });
  const a = flattenConfig(config('psa', 0.01));
  const b = flattenConfig(config('dste', 0.01, { seed: 2 }));
  const c = flattenConfig(config('psa', 0.1));
  assert.deepEqual(differingKeys([a, b, c]), ['train.estimator', 'train.lr', 'train.seed']);
  assert.deepEqual(differingKeys([a, a]), []);
  assert.deepEqual(differingKeys([a]), [], 'one run: nothing differs');
  // null and missing are different values
  assert.deepEqual(differingKeys([{ x: null }, {}]), ['x']);
});

test('metric facts: best and final of each split and metric; a resume abandons recomputed records', () => {
  const eval_ = (step: number, acc: number) =>
    ({
      kind: 'eval',
      step,
      time: '',
      elapsed: step,
      split: 'validation',
      epoch: step / 10,
      u_loss: 1 - acc,
      acc1: acc,
      acc_e: acc,
      entropy: 0,
      examples: 1,
      samples: 1,
    }) as const;
  const f = metricFacts([
    eval_(10, 0.5),
    eval_(20, 0.9),
    eval_(30, 0.95), // abandoned by the resume from step 20
    { kind: 'resume', step: 20, time: '', elapsed: 30, epoch: 2 },
    eval_(30, 0.7),
    { kind: 'step', step: 30, time: '', elapsed: 31, epoch: 3, loss: 0.25, lr: 0.1, samplesPerSecond: 1 },
  ]);
  assert.deepEqual(f.evals['validation.acc_e'], { best: 0.9, final: 0.7 });
  assert.equal(Math.round(f.evals['validation.u_loss'].best! * 100) / 100, 0.1);
  assert.equal(f.finalLoss, 0.25);
  assert.equal(f.steps, 30);
  assert.equal(f.elapsed, 31);
  assert.equal(f.epoch, 3);
});

test('the table of real run folders: columns from what differs and what was measured, rows with names and tags', () => {
  const root = tmp();
  const psa = makeRun(root, 'toy2d-psa', config('psa', 0.01), [0.6, 0.9, 0.8], {
    created: new Date(2024, 0, 1),
  });
  const dste = makeRun(root, 'toy2d-dste', config('dste', 0.1), [0.7, 0.75], {
    created: new Date(2024, 0, 2),
    status: 'stopped',
  });
  updateRunMeta(psa, { displayName: 'PSA baseline', tags: ['baseline'] });
  const reader = new RunsTableReader();
  const v = runsTableView([runInfo(psa), runInfo(dste)].map((info: RunInfo) => reader.source(info)));
  const ids = v.columns.map((c) => c.id);
  assert.ok(ids.includes('hp:train.lr'), ids.join(' '));
  assert.ok(!ids.includes('hp:train.epochs'), 'the same in both runs: no column');
  assert.ok(!ids.includes('hp:train.estimator'), 'the estimator has its own column');
  assert.ok(!ids.includes('sweep'), 'no run of a sweep: no sweep column');
  assert.ok(ids.includes('metric:validation.acc_e.best') && ids.includes('metric:validation.acc_e.final'));
  assert.ok(!ids.some((i) => i.startsWith('metric:test.')), 'no test evaluation: no test columns');
  const byDir = new Map(v.rows.map((r) => [r.runDir, r]));
  const a = byDir.get(psa)!;
  const b = byDir.get(dste)!;
  assert.equal(a.label, 'PSA baseline');
  assert.equal(a.folder, path.basename(psa));
  assert.deepEqual(a.values.tags, ['baseline']);
  assert.equal(a.values['hp:train.lr'], 0.01);
  assert.equal(a.values.estimator, 'psa');
  assert.equal(a.values['metric:validation.acc_e.best'], 0.9);
  assert.equal(a.values['metric:validation.acc_e.final'], 0.8);
  assert.equal(b.label, 'toy2d-dste');
  assert.equal(b.status, 'stopped');
  assert.equal(b.values['metric:validation.acc_e.best'], 0.75);
  assert.equal(typeof a.values.duration, 'number');
  assert.deepEqual(v.tags, ['baseline']);
  // a run of a sweep: a Sweep column, empty for the runs of the runs folder
  const swept = runsTableView([reader.source(runInfo(psa), 'lr-sweep'), reader.source(runInfo(dste))]);
  assert.ok(swept.columns.some((c) => c.id === 'sweep'));
  assert.deepEqual(
    swept.rows.map((r) => r.values.sweep),
    ['lr-sweep', null],
  );
  // the reader rereads a run whose metrics grew
  const before = reader.source(runInfo(dste)).metrics.steps;
  const run = RunStore.open(dste);
  run.appendMetrics({ kind: 'step', step: 99, epoch: 3, loss: 0.1, lr: 0.1, samplesPerSecond: 1 });
  run.close();
  assert.notEqual(reader.source(runInfo(dste)).metrics.steps, before);
  assert.equal(reader.source(runInfo(dste)).metrics.steps, 99);
});

function row(label: string, values: RunsTableRow['values'], status: RunsTableRow['status'] = 'finished'): RunsTableRow {
  return { runDir: `/runs/${label}`, label, folder: label, status, notes: '', values: { tags: [], ...values } };
}

test('sorting: numbers by value, names naturally, runs without a value last in both directions, stable', () => {
  const rows = [
    row('run-10', { acc: 0.8 }),
    row('run-2', { acc: null }),
    row('run-1', { acc: 0.9 }),
    row('run-3', { acc: 0.8 }),
  ];
  const labels = (rs: RunsTableRow[]) => rs.map((r) => r.label);
  assert.deepEqual(labels(sortRows(rows, 'name', 'asc')), ['run-1', 'run-2', 'run-3', 'run-10']);
  assert.deepEqual(labels(sortRows(rows, 'name', 'desc')), ['run-10', 'run-3', 'run-2', 'run-1']);
  assert.deepEqual(labels(sortRows(rows, 'acc', 'asc')), ['run-10', 'run-3', 'run-1', 'run-2']);
  assert.deepEqual(labels(sortRows(rows, 'acc', 'desc')), ['run-1', 'run-10', 'run-3', 'run-2']);
});

test('filtering by words, status and tag; grouping by a value and by tag (a run in each of its tags)', () => {
  const rows = [
    row('a', { estimator: 'psa', tags: ['baseline', 'toy'], 'hp:train.lr': 0.01 }),
    row('b', { estimator: 'dste', tags: ['toy'], 'hp:train.lr': 0.1 }, 'stopped'),
    row('c', { estimator: 'psa', tags: [], 'hp:train.lr': 0.1 }),
  ];
  const labels = (rs: RunsTableRow[]) => rs.map((r) => r.label);
  const any = { text: '', status: '' as const, tag: '' };
  assert.deepEqual(labels(filterRows(rows, { ...any, text: 'PSA' }, ['estimator'])), ['a', 'c']);
  assert.deepEqual(labels(filterRows(rows, { ...any, text: 'psa 0.1' }, ['estimator', 'hp:train.lr'])), ['c']);
  assert.deepEqual(labels(filterRows(rows, { ...any, text: 'psa' }, [])), [], 'only the shown columns are searched');
  assert.deepEqual(labels(filterRows(rows, { ...any, status: 'stopped' }, [])), ['b']);
  assert.deepEqual(labels(filterRows(rows, { ...any, tag: 'toy' }, [])), ['a', 'b']);
  assert.deepEqual(labels(filterRows(rows, { ...any, text: 'baseline' }, [])), ['a'], 'tags are searched');

  const byEstimator = groupRows(rows, 'estimator');
  assert.deepEqual(
    byEstimator.map((g) => [g.key, labels(g.rows)]),
    [
      ['dste', ['b']],
      ['psa', ['a', 'c']],
    ],
  );
  assert.deepEqual(
    groupRows(rows, 'tags').map((g) => [g.key, labels(g.rows)]),
    [
      ['baseline', ['a']],
      ['toy', ['a', 'b']],
      ['', ['c']],
    ],
  );
  assert.deepEqual(
    groupRows(rows, 'hp:train.lr').map((g) => [g.key, labels(g.rows)]),
    [
      ['0.01', ['a']],
      ['0.1', ['b', 'c']],
    ],
  );
  const view: RunsTableView = { columns: [], rows, tags: [] };
  assert.equal(groupRows(view.rows, 'sweep').length, 1, 'no value: one group');
});
