// test-backends: one
// `sbn experiment train` (Experiment 2, docs/math.md §4) in small: all ten methods on a tiny suite, stopped part-way
// and continued, the report files (train.json, report.html, PNG figures); and the CLI on the generated CIFAR-10 file:
// the cifar10-s1 suite starts, logs, stops on Ctrl-C and continues where it stopped.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runSuite, suiteReport, SUITE_METHODS, type SuiteOptions } from '../../src/engine/experiments/trainSuite';
import { writeExperimentReport, parseReportData, REPORT_NONCE } from '../../src/report';
import { initBackend } from '../../src/engine/backend';
import type { TrainSuiteReport } from '../../src/engine/experiments/types';
import type { StatusRecord } from '../../src/engine/runs';
import { repoRoot } from './helpers/fixtures';
import { TEST_ENVIRONMENT, TINY_SUITE } from './helpers/toySuite';

const root = repoRoot();

/** The status a run folder's status.json records. */
function statusOf(runDir: string): string {
  return (JSON.parse(fs.readFileSync(path.join(runDir, 'status.json'), 'utf8')) as StatusRecord).status;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sbn-suite-'));
const chromium = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const suiteTitle =
  'a training suite runs all ten methods, stops part-way, continues where it stopped and writes its report';
test(suiteTitle, async () => {
  const backend = await initBackend();
  const dir = path.join(tmp, 'tiny');
  const methods = SUITE_METHODS.map((m) => m.method);
  const actions: string[] = [];
  let stop = false;
  let steps = 0;
  const options = (): SuiteOptions => ({
    suite: TINY_SUITE,
    dir,
    methods,
    env: { backend: backend.name, backendDetail: backend.detail, versions: {} },
    shouldStop: () => stop,
    onMethod: (m) => actions.push(`${m.method}:${m.action}`),
    // stop during the second method's training (after its lr search)
    events: (method) => ({
      step: () => {
        if (method === methods[1] && ++steps === 2) stop = true;
      },
    }),
  });
  assert.equal(await runSuite(options()), 'stopped');
  assert.deepEqual(actions, [`${methods[0]}:start`, `${methods[0]}:done`, `${methods[1]}:start`]);
  const state = JSON.parse(fs.readFileSync(path.join(dir, 'suite.json'), 'utf8')) as {
    methods: Record<string, { runDir: string }>;
  };
  // run folders are named relative to the suite folder, so that it can be moved or committed
  assert.match(state.methods[methods[1]].runDir, /^runs\/[^/]+$/);
  assert.equal(statusOf(path.join(dir, state.methods[methods[1]].runDir)), 'stopped');
  const partial = suiteReport(TINY_SUITE, dir, methods, TEST_ENVIRONMENT);
  assert.deepEqual(
    partial.methods.map((m) => m.status),
    ['finished', 'stopped', ...methods.slice(2).map(() => 'pending')],
  );

  actions.length = 0;
  stop = false;
  steps = -1e9;
  assert.equal(await runSuite(options()), 'finished');
  assert.deepEqual(actions.slice(0, 3), [`${methods[0]}:skip`, `${methods[1]}:resume`, `${methods[1]}:done`]);
  assert.deepEqual(
    actions.slice(3),
    methods.slice(2).flatMap((m) => [`${m}:start`, `${m}:done`]),
  );

  const report: TrainSuiteReport = suiteReport(TINY_SUITE, dir, methods, TEST_ENVIRONMENT);
  assert.equal(report.methods.length, 10);
  assert.deepEqual(
    report.methods.filter((m) => m.authors).map((m) => m.method),
    ['concrete-authors', 'tanh-det'],
  );
  for (const m of report.methods) {
    assert.ok(
      m.runDir && /^runs\/[^/]+$/.test(m.runDir) && fs.existsSync(path.join(dir, m.runDir)),
      `${m.method}: runDir ${m.runDir}`,
    );
    assert.equal(m.status, 'finished', `${m.method}: ${m.status} ${m.message ?? ''}`);
    assert.ok(m.lr !== null && m.lr > 0 && m.lrTrials.length === 2, `${m.method}: lr search`);
    assert.equal(m.lrCriterion, 'validation.u_loss', m.method);
    assert.ok(
      [0.01, 0.1].some((lr) => Math.abs(m.lr! / lr - 1) < 1e-9),
      `${m.method}: lr ${m.lr} on the grid`,
    );
    assert.equal(m.epochs, 2);
    assert.deepEqual(m.curves.validation.epoch, [1, 2], m.method);
    assert.ok(m.curves.validation.acc_e.every((a) => a >= 0 && a <= 1));
    assert.equal(m.curves.objective.value.length, 2);
    assert.ok(m.test && m.test.accuracy.length === 4 && m.test.split === 'validation', m.method);
  }
  const written = await writeExperimentReport(dir, report, { png: fs.existsSync(chromium) });
  const json = JSON.parse(fs.readFileSync(written.json, 'utf8')) as TrainSuiteReport;
  assert.deepEqual(
    json.methods.map((m) => m.label),
    SUITE_METHODS.map((m) => m.label),
  );
  assert.ok(written.html, written.notes.join('; '));
  const html = fs.readFileSync(written.html, 'utf8');
  for (const m of SUITE_METHODS)
    assert.ok(html.includes(JSON.stringify(m.label).slice(1, -1)), `${m.label} missing from report.html`);
  assert.match(html, new RegExp(`script-src 'nonce-${REPORT_NONCE}'`));
  assert.ok(
    !/<script(?![^>]*nonce=)(?![^>]*type="application\/json")/.test(html),
    'every executable script carries the nonce',
  );
  // the result JSON beside it is what the extension's report panel shows: it passes the panel's check
  const parsed = parseReportData(fs.readFileSync(written.json, 'utf8'), written.json);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.message);
  if (fs.existsSync(chromium)) {
    assert.deepEqual(
      written.pngs.map((f) => path.basename(f)),
      ['tiny-train-curves.png', 'tiny-train-test-accuracy.png', 'tiny-train-lr-search.png'],
      written.notes.join('; '),
    );
    for (const f of written.pngs) assert.ok(fs.statSync(f).size > 10_000, `${f} is too small to hold the charts`);
  }

  // a finished suite is not trained again
  actions.length = 0;
  assert.equal(await runSuite(options()), 'finished');
  assert.deepEqual(
    actions,
    methods.map((m) => `${m}:skip`),
  );
});

function sbn(...args: string[]) {
  // no data-set store of this machine: cifar10-s1 without --data then has no CIFAR-10
  const env = { ...process.env, SBN_DATA_DIR: path.join(tmp, 'no-store'), XDG_DATA_HOME: path.join(tmp, 'no-home') };
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'sbn.js'), ...args], { encoding: 'utf8', env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('sbn experiment train: bad arguments give one line and exit 2', () => {
  for (const [args, message] of [
    [
      ['--suite', 'nope'],
      new RegExp(
        '--suite: unknown suite "nope" \\(expected mnist-mlp, fashion-conv, ' +
          'mnist-mlp-d2, mnist-mlp-d4, mnist-mlp-d8, fashion-conv-d4, fashion-conv-d8, cifar10-s1\\)',
      ),
    ],
    [
      ['--suite', 'cifar10-s1'],
      /--data: suite cifar10-s1 needs the folder of the CIFAR-10 binary batches.*`sbn data fetch cifar10`.*run `sbn doctor` for details\n$/,
    ],
    [['--suite', 'mnist-mlp', '--methods', 'psa,bogus'], /--methods: unknown method "bogus"/],
    [['--suite', 'mnist-mlp', '--epochs', '0'], /--epochs/],
  ] as const) {
    const r = sbn('experiment', 'train', ...args, '--out', path.join(tmp, 'bad'));
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, message);
  }
});

/** A CIFAR-10 binary batch of `n` random images (label byte + 3072 pixel bytes each). */
function cifarBatch(file: string, n: number, seed: number): void {
  const bytes = Buffer.alloc(n * 3073);
  let s = seed;
  for (let i = 0; i < bytes.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    bytes[i] = i % 3073 === 0 ? (s >>> 16) % 10 : (s >>> 16) & 255;
  }
  fs.writeFileSync(file, bytes);
}

/** Runs the CLI until `until` matches its stderr, then sends SIGINT; resolves with its exit code and output. */
function runUntil(args: string[], until: RegExp): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'bin', 'sbn.js'), ...args]);
    let stderr = '';
    let stdout = '';
    let sent = false;
    child.stdout.on('data', (d) => {
      stdout += String(d);
    });
    child.stderr.on('data', (d) => {
      stderr += String(d);
      if (!sent && until.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    child.on('exit', (code) => resolve({ code, stderr, stdout }));
  });
}

const cifarTitle =
  'sbn experiment train --suite cifar10-s1 starts on the generated CIFAR-10 files, stops on Ctrl-C and continues';
test(cifarTitle, async () => {
  const data = path.join(tmp, 'cifar-10-batches-bin');
  fs.mkdirSync(data, { recursive: true });
  // the paper's split keeps 5000 validation images: five batches of 1010 leave 50 for training
  for (let b = 1; b <= 5; b++) cifarBatch(path.join(data, `data_batch_${b}.bin`), 1010, b);
  cifarBatch(path.join(data, 'test_batch.bin'), 20, 9);
  const out = path.join(tmp, 'cifar-suite');
  const args = [
    'experiment',
    'train',
    '--suite',
    'cifar10-s1',
    '--data',
    data,
    '--out',
    out,
    '--methods',
    'psa,dste',
    '--epochs',
    '1',
    '--no-png',
    '--backend',
    'tensorflow',
  ];
  const first = await runUntil(args, /\[1\/2\] ST \(DSTE\): training, run (\S+)/);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /suite cifar10-s1: CIFAR-10, CIFAR_S1/);
  assert.match(first.stderr, /stopped; the same command continues the suite where it stopped/);
  const runDir = /training, run (\S+)/.exec(first.stderr)![1];
  const config = JSON.parse(fs.readFileSync(path.join(runDir, 'config.json'), 'utf8')) as {
    model: { layers: { type: string }[]; data: { augment: string } };
    train: { lr: unknown };
  };
  assert.equal(config.model.layers.filter((l) => l.type === 'conv').length, 8, 'CIFAR_S1 has 8 binary conv layers');
  assert.deepEqual(config.train.lr, { search: { min: -6, max: 0, trials: 10, trialEpochs: 5 } });
  assert.equal(config.model.data.augment, 'flipcrop');
  assert.equal(statusOf(runDir), 'stopped');
  assert.ok(fs.existsSync(path.join(out, 'train.json')), 'the report of a stopped suite is written too');

  const second = await runUntil(args, /continuing/);
  assert.equal(second.code, 0, second.stderr);
  assert.match(
    second.stderr,
    new RegExp(`\\[1/2\\] ST \\(DSTE\\): continuing ${runDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
  );
});
