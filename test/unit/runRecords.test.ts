// test-backends: one
// The typed records of a run folder (src/engine/runs/records.ts) against docs/run-format.md — the kinds and fields
// of its tables and every example, through the one validator — and the readers' handling of bad lines: a record
// with wrong field types in the middle of metrics.jsonl is reported with its line number and skipped (by the reader
// the panels use, too), a kind of a newer version is skipped with one warning, the writer refuses what readers
// would skip.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  METRICS_KINDS,
  SUMMARY_FIELDS,
  configFacts,
  metricsKindNames,
  readManifest,
  readMetrics,
  readStatus,
  RunStore,
  tailMetrics,
  validateMetricsRecord,
  type MetricsRecordInput,
} from '../../src/engine/runs';
import { LiveRun } from '../../src/extension/panels/seriesStore';
import { SERIES } from '../../src/webviewProtocol';
import { repoRoot } from './helpers/fixtures';

const doc = fs.readFileSync(path.join(repoRoot(), 'docs', 'run-format.md'), 'utf8');
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-records-'));
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

/** The text of a `## title` section, up to the next `## `. */
function section(title: string): string {
  const start = doc.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `docs/run-format.md has no "## ${title}" section`);
  const end = doc.indexOf('\n## ', start + 4);
  return doc.slice(start, end < 0 ? undefined : end);
}

/** The cells of a Markdown table row (`\|` inside a cell is not a separator). */
function cells(row: string): string[] {
  return row
    .trim()
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

/** Rows of the first table after `marker` in `text`. */
function tableAfter(text: string, marker: string): string[][] {
  const at = text.indexOf(marker);
  assert.ok(at >= 0, `no "${marker}" in docs/run-format.md`);
  const lines = text.slice(at).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (let i = first + 2; i < lines.length && lines[i].startsWith('|'); i++) rows.push(cells(lines[i]));
  return rows;
}

/** The fenced code blocks of `text` with the given info string. */
function codeBlocks(text: string, info: string): string[] {
  const out: string[] = [];
  const re = new RegExp('```' + info + '\\n([\\s\\S]*?)```', 'g');
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1]);
  return out;
}

const backticked = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);

test('docs/run-format.md documents every record kind of metrics.jsonl, and no other, with every field', () => {
  const metrics = section('metrics.jsonl');
  const rows = tableAfter(metrics, '**Kinds.**');
  const documented = rows.map((r) => backticked(r[0])[0]);
  assert.deepEqual(documented, METRICS_KINDS, 'the kinds table lists exactly the kinds of records.ts, in its order');
  for (const row of rows) {
    const kind = backticked(row[0])[0] as (typeof METRICS_KINDS)[number];
    const names = metricsKindNames(kind);
    const mentioned = new Set(backticked(row[2]));
    for (const f of names.fields)
      assert.ok(mentioned.has(f), `docs/run-format.md: the ${kind} row does not document its field "${f}"`);
    for (const v of names.values)
      assert.ok(mentioned.has(v), `docs/run-format.md: the ${kind} row does not name the value "${v}"`);
    // the other way round: a name in the row that the type does not have is a field the code no longer writes
    for (const m of mentioned) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(m)) continue;
      assert.ok(
        names.fields.includes(m) || names.values.includes(m),
        `docs/run-format.md: the ${kind} row names "${m}", which ${kind} records do not have`,
      );
    }
  }
  const envelope = tableAfter(metrics, '**Envelope.**').map((r) => backticked(r[0])[0]);
  assert.deepEqual(envelope, ['kind', 'step', 'time', 'elapsed']);
});

test('every metrics.jsonl example in docs/run-format.md passes the validator, one of each kind', () => {
  const blocks = codeBlocks(section('metrics.jsonl'), 'jsonl');
  assert.equal(blocks.length, 1, 'one ```jsonl block of examples');
  const kinds: string[] = [];
  blocks[0]
    .split('\n')
    .filter((l) => l.trim())
    .forEach((line, i) => {
      const r = validateMetricsRecord(JSON.parse(line));
      assert.ok(
        r.ok,
        `example ${i + 1}: ${r.ok ? '' : r.unknownKind !== undefined ? `unknown kind ${r.unknownKind}` : r.error}`,
      );
      kinds.push(r.record.kind);
    });
  assert.deepEqual(kinds, METRICS_KINDS);
});

test('the run.json, status.json and summary.json of docs/run-format.md are what the readers accept', () => {
  const dir = path.join(tmpRoot, 'documented');
  fs.mkdirSync(dir);
  const [runJson] = codeBlocks(section('run.json'), 'json');
  fs.writeFileSync(path.join(dir, 'run.json'), runJson);
  assert.equal(readManifest(dir).name, (JSON.parse(runJson) as { name: string }).name);
  const [statusJson] = codeBlocks(section('status.json'), 'json');
  fs.writeFileSync(path.join(dir, 'status.json'), statusJson);
  assert.equal(readStatus(dir).recorded, (JSON.parse(statusJson) as { status: string }).status);
  const statuses = tableAfter(section('status.json'), '| status').map((r) => backticked(r[0])[0]);
  assert.deepEqual(statuses, ['running', 'stopped', 'finished', 'crashed', 'diverged']);

  const summary = section('summary.json');
  const fields = tableAfter(summary, '| field').map((r) => backticked(r[0])[0]);
  assert.deepEqual(fields, SUMMARY_FIELDS, 'the summary.json table lists the fields of RunSummary');
  const example = JSON.parse(codeBlocks(summary, 'json')[0]) as Record<string, unknown>;
  for (const k of Object.keys(example))
    assert.ok((SUMMARY_FIELDS as readonly string[]).includes(k), `summary example: unknown field ${k}`);
  for (const k of SUMMARY_FIELDS.filter((f) => f !== 'message')) assert.ok(k in example, `summary example: no ${k}`);
});

function runWith(name: string, lines: string[]): string {
  const dir = path.join(tmpRoot, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(
    path.join(dir, 'run.json'),
    JSON.stringify({
      format: 'sbn-run',
      version: 1,
      name,
      created: new Date().toISOString(),
      model: 'model.sbn.json',
      source: 'x',
    }),
  );
  fs.writeFileSync(
    path.join(dir, 'status.json'),
    JSON.stringify({
      status: 'finished',
      pid: process.pid,
      hostname: os.hostname(),
      updated: new Date().toISOString(),
    }),
  );
  fs.writeFileSync(path.join(dir, 'metrics.jsonl'), lines.map((l) => l + '\n').join(''));
  return dir;
}

const step = (n: number, loss: unknown = 0.5) =>
  JSON.stringify({
    kind: 'step',
    step: n,
    time: '2026-01-01T00:00:00.000Z',
    elapsed: n,
    epoch: n / 10,
    loss,
    lr: 0.01,
    samplesPerSecond: 100,
  });

test('regression: a record with wrong field types mid-metrics.jsonl is reported with its line and skipped', () => {
  // line 3 is valid JSON with a kind and a step, but its loss is a string: before the typed records it was read
  // as a step record and drawn (the panels cast it)
  const dir = runWith('malformed', [step(1), step(2), step(3, 'low'), step(4), step(5)]);

  // the reader the panels use
  const problems: string[] = [];
  const live = new LiveRun(dir, 2000, 50, (p) => problems.push(p));
  assert.deepEqual(
    live.series.series.get(SERIES.objective)!.raw.x,
    [1, 2, 4, 5],
    'the bad record is skipped, the others drawn',
  );
  assert.equal(problems.length, 1, problems.join('\n'));
  assert.match(
    problems[0],
    /metrics\.jsonl:3: corrupt record skipped \(step record: "loss" must be a number or null, got "low"\)/,
  );
  assert.equal(live.lastError, problems[0]);
  live.dispose();

  // tailing in pieces keeps the line numbers
  const file = path.join(dir, 'metrics.jsonl');
  const text = fs.readFileSync(file, 'utf8');
  const firstTwo = Buffer.byteLength(text.split('\n').slice(0, 2).join('\n') + '\n');
  const a = tailMetrics(dir, 0);
  const b = tailMetrics(dir, firstTwo, 3);
  assert.equal(a.corrupt[0].line, 3);
  assert.equal(b.corrupt[0].line, 3);
  assert.equal(b.nextLine, 6);

  // the whole-file reader: tolerant skips and lists it, strict names the line
  const r = readMetrics(dir, { tolerant: true });
  assert.deepEqual(
    r.records.map((x) => x.step),
    [1, 2, 4, 5],
  );
  assert.deepEqual(
    r.corrupt.map((c) => c.line),
    [3],
  );
  assert.throws(
    () => readMetrics(dir),
    /metrics\.jsonl:3: corrupt record: step record: "loss" must be a number or null/,
  );

  // nested fields are checked too, and a wrong type in the last complete line is not mistaken for a torn write
  const nested = runWith('nested', [
    step(1),
    JSON.stringify({
      kind: 'eval',
      step: 1,
      time: 't',
      elapsed: 1,
      split: 'holdout',
      epoch: 0.1,
      u_loss: 1,
      acc1: 0.5,
      acc_e: 0.5,
      entropy: 1,
      examples: 1,
      samples: 1,
    }),
  ]);
  const n = readMetrics(nested, { tolerant: true });
  assert.equal(n.droppedTail, null);
  assert.deepEqual(
    n.corrupt.map((c) => [c.line, c.error]),
    [[2, 'eval record: "split" must be one of "train", "validation", "test", got "holdout"']],
  );
});

test('records of a kind from a newer version are skipped with one warning per kind, not an error', () => {
  const future = (n: number) => JSON.stringify({ kind: 'gradientFlow', step: n, time: 't', elapsed: n, flow: [1, 2] });
  const dir = runWith('newer', [step(1), future(1), step(2), future(2), step(3)]);
  const r = readMetrics(dir); // not tolerant: still no error
  assert.deepEqual(
    r.records.map((x) => x.step),
    [1, 2, 3],
  );
  assert.deepEqual(r.unknownKinds, [{ kind: 'gradientFlow', line: 2, count: 2 }]);
  assert.deepEqual(r.corrupt, []);
  const problems: string[] = [];
  const live = new LiveRun(dir, 2000, 50, (p) => problems.push(p));
  fs.appendFileSync(path.join(dir, 'metrics.jsonl'), future(3) + '\n' + step(4) + '\n');
  live.poll();
  assert.equal(live.series.series.get(SERIES.objective)!.length, 4);
  assert.equal(problems.length, 1, 'one warning for the kind, however many records and polls');
  assert.match(problems[0], /metrics\.jsonl:2: 2 records of kind "gradientFlow" skipped \(written by a newer version/);
  live.dispose();
});

test('the writer checks each record with the validator readers use', () => {
  const root = path.join(tmpRoot, 'writer');
  const run = RunStore.create(root, 'w', { modelFileName: 'm.sbn.json', modelText: '{}', config: {}, environment: {} });
  const good = run.appendMetrics({ kind: 'lr-chosen', step: 0, lr: 0.01 });
  assert.equal(good.kind === 'lr-chosen' && good.lr, 0.01);
  assert.throws(
    () => run.appendMetrics({ kind: 'lr-chosen', step: 0, lr: 'fast' } as unknown as MetricsRecordInput),
    /a metrics record readers would skip: lr-chosen record: "lr" must be a finite number, got "fast"/,
  );
  assert.throws(
    () => run.appendMetrics({ kind: 'mystery', step: 0 } as unknown as MetricsRecordInput),
    /unknown kind "mystery"/,
  );
  run.close();
  assert.equal(readMetrics(run.dir).records.length, 1, 'nothing of the refused records was written');
});

test("config.json's facts: the learning rate counts as constant for a number or a constant schedule only", () => {
  const lrOf = (lr: unknown) => configFacts({ train: { estimator: 'psa', epochs: 3, lr } }).train?.constantLr;
  assert.equal(lrOf(0.03), 0.03);
  assert.equal(lrOf({ schedule: 'constant', base: 0.1 }), 0.1);
  assert.equal(lrOf({ schedule: 'cosine', base: 0.1 }), undefined);
  assert.equal(lrOf({ schedule: 'step', base: 0.1, stepEpochs: 2, gamma: 0.5 }), undefined);
  assert.equal(lrOf('search'), undefined);
  assert.equal(lrOf({ search: { min: 1e-4 } }), undefined);
  assert.equal(lrOf(-1), undefined);
  assert.equal(lrOf('0.1'), undefined);
  assert.deepEqual(configFacts({ train: { estimator: 'psa', epochs: 3, lr: 0.5 } }).train, {
    estimator: 'psa',
    epochs: 3,
    constantLr: 0.5,
  });
});
